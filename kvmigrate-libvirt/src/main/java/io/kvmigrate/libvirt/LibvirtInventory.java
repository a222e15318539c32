package io.kvmigrate.libvirt;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.LongByReference;
import io.kvmigrate.core.model.HostFacts;
import io.kvmigrate.core.model.HostInventory;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.spi.Inventory;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link Inventory} over libvirt: host facts, and preflight's one inventory call (capabilities with the host CPU's
 * expanded features, networks, interfaces, pools, domains, and the guest's CPU comparison and domain capabilities).
 */
final class LibvirtInventory implements Inventory {
    private static final Libvirt LV = Libvirt.INSTANCE;
    private final LibvirtConnection c;

    LibvirtInventory(LibvirtConnection c) {
        this.c = c;
    }

    @Override
    public HostRef host() {
        return c.host;
    }

    @Override
    public HostFacts facts() {
        CapabilitiesXml.Parsed caps = CapabilitiesXml.parse(c.takeString(LV.virConnectGetCapabilities(c.conn), "read capabilities"));
        int[] running = {0};
        // Counting needs no domain XML: list the active domains only and free them.
        c.list(ref -> LV.virConnectListAllDomains(c.conn, ref, Libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE), "list running VMs", d -> {
            running[0]++;
            LV.virDomainFree(d);
        });
        return facts(caps, running[0]);
    }

    /** The host's facts from its parsed capabilities plus hostname, versions and node figures (read here). */
    private HostFacts facts(CapabilitiesXml.Parsed caps, int runningVms) {
        String hostname = c.takeString(LV.virConnectGetHostname(c.conn), "read hostname");
        LongByReference lib = new LongByReference();
        LongByReference hv = new LongByReference();
        c.check(LV.virConnectGetLibVersion(c.conn, lib), "read libvirt version", null);
        c.check(LV.virConnectGetVersion(c.conn, hv), "read hypervisor version", null);
        Libvirt.NodeInfo node = new Libvirt.NodeInfo();
        c.check(LV.virNodeGetInfo(c.conn, node), "read node info", null);
        long free = LV.virNodeGetFreeMemory(c.conn);
        HostInventory.Cpu cpu = caps.cpu();
        return new HostFacts(hostname, caps.hostUuid(), cpu.arch(), cpu.vendor(), cpu.model(), node.cpus, node.memory.longValue(),
                free / 1024, lib.getValue(), hv.getValue(), runningVms);
    }

    // ---- preflight (issue 3): one inventory call per host ----

    @Override
    public HostInventory inventory(VmSpec guest) {
        CapabilitiesXml.Parsed caps = CapabilitiesXml.parse(c.takeString(LV.virConnectGetCapabilities(c.conn), "read capabilities"));
        List<HostInventory.Domain> domains = domains();
        HostInventory.Cpu cpu = expandedCpu(caps);
        List<HostInventory.Network> nets = networks();
        List<String> ifs = hostInterfaces();
        List<HostInventory.Pool> pools = inventoryPools();
        HostInventory.GuestView gv = guest == null ? null : guestView(guest);
        HostFacts facts = facts(caps, (int) domains.stream().filter(HostInventory.Domain::active).count());
        return new HostInventory(facts, cpu, caps.guests(), nets, ifs, pools, domains, gv);
    }

    /** The host CPU with every feature its model implies (libvirt's baseline of the one CPU, expanded); as listed if that fails. */
    private HostInventory.Cpu expandedCpu(CapabilitiesXml.Parsed caps) {
        if (caps.cpuXml() == null) return caps.cpu();
        Pointer p = LV.virConnectBaselineCPU(c.conn, new String[] {caps.cpuXml()}, 1, Libvirt.VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES);
        if (p == null) {
            LV.virResetLastError();
            return caps.cpu();
        }
        java.util.Set<String> features = CapabilitiesXml.features(c.takeString(p, "expand host CPU features"));
        HostInventory.Cpu c = caps.cpu();
        return new HostInventory.Cpu(c.arch(), c.vendor(), c.model(), features, true);
    }

    private List<HostInventory.Domain> domains() {
        List<HostInventory.Domain> out = new ArrayList<>();
        c.list(ref -> LV.virConnectListAllDomains(c.conn, ref, 0), "list VMs", dom -> {
            byte[] uuid = new byte[37];
            String uuidString = LV.virDomainGetUUIDString(dom, uuid) == 0 ? Native.toString(uuid) : null;
            out.add(new HostInventory.Domain(LV.virDomainGetName(dom), uuidString, LV.virDomainIsActive(dom) == 1));
            LV.virDomainFree(dom);
        });
        return out;
    }

    private List<HostInventory.Network> networks() {
        List<HostInventory.Network> out = new ArrayList<>();
        boolean ok = c.list(ref -> LV.virConnectListAllNetworks(c.conn, ref, 0), null, net -> {
            Pointer br = LV.virNetworkGetBridgeName(net);
            String bridge = null;
            if (br == null) {
                LV.virResetLastError(); // networks of some forward modes have no bridge
            } else {
                bridge = c.takeString(br, "read network bridge");
            }
            out.add(new HostInventory.Network(LV.virNetworkGetName(net), LV.virNetworkIsActive(net) == 1, bridge));
            LV.virNetworkFree(net);
        });
        return ok ? out : null;
    }

    /**
     * Host interfaces through libvirt's interface driver (udev or netcf backend); where that driver is missing,
     * the node devices with the net capability, which every libvirtd with the nodedev driver reports.
     */
    private List<String> hostInterfaces() {
        List<String> out = new ArrayList<>();
        if (c.list(ref -> LV.virConnectListAllInterfaces(c.conn, ref, 0), null, i -> {
            out.add(LV.virInterfaceGetName(i));
            LV.virInterfaceFree(i);
        })) {
            return out;
        }
        boolean ok = c.list(ref -> LV.virConnectListAllNodeDevices(c.conn, ref, Libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET), null, d -> {
            Pointer xml = LV.virNodeDeviceGetXMLDesc(d, 0);
            if (xml != null) {
                String name = CapabilitiesXml.netDeviceInterface(c.takeString(xml, "read node device XML"));
                if (name != null) out.add(name);
            } else {
                LV.virResetLastError();
            }
            LV.virNodeDeviceFree(d);
        });
        return ok ? out : null;
    }

    private List<HostInventory.Pool> inventoryPools() {
        List<HostInventory.Pool> out = new ArrayList<>();
        boolean ok = c.list(ref -> LV.virConnectListAllStoragePools(c.conn, ref, 0), null, p -> {
            try {
                if (DirPool.isProbe(LV.virStoragePoolGetName(p))) return;
                Pointer xml = LV.virStoragePoolGetXMLDesc(p, 0);
                String[] ntp = xml == null ? new String[] {LV.virStoragePoolGetName(p), null, null}
                        : CapabilitiesXml.pool(c.takeString(xml, "read pool XML"));
                Libvirt.PoolInfo info = new Libvirt.PoolInfo();
                boolean active = LV.virStoragePoolIsActive(p) == 1;
                if (LV.virStoragePoolGetInfo(p, info) < 0) LV.virResetLastError();
                out.add(new HostInventory.Pool(ntp[0], ntp[1], ntp[2], active, active ? info.capacity : 0, active ? info.available : 0));
            } finally {
                LV.virStoragePoolFree(p);
            }
        });
        return ok ? out : null;
    }

    private HostInventory.GuestView guestView(VmSpec guest) {
        HostInventory.CpuVerdict verdict;
        String detail = null;
        String cpuXml = guest.xml() == null ? null : CapabilitiesXml.guestCpuXml(guest.xml());
        if ("host-passthrough".equals(guest.cpuMode()) || "maximum".equals(guest.cpuMode())) {
            verdict = HostInventory.CpuVerdict.NOT_APPLICABLE;
            detail = "the guest uses the host's own CPU (" + guest.cpuMode() + "), see CPU_PASSTHROUGH";
        } else if (cpuXml == null) {
            verdict = HostInventory.CpuVerdict.NOT_APPLICABLE;
            detail = "the guest has no CPU definition, so it gets the hypervisor's default model";
        } else {
            int rc = LV.virConnectCompareHypervisorCPU(c.conn, guest.emulator(), guest.arch(), guest.machine(), guest.domainType(), cpuXml,
                    Libvirt.VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE);
            if (rc == Libvirt.VIR_CPU_COMPARE_IDENTICAL) verdict = HostInventory.CpuVerdict.IDENTICAL;
            else if (rc == Libvirt.VIR_CPU_COMPARE_SUPERSET) verdict = HostInventory.CpuVerdict.SUPERSET;
            else if (rc == Libvirt.VIR_CPU_COMPARE_INCOMPATIBLE) verdict = HostInventory.CpuVerdict.INCOMPATIBLE;
            else {
                LibvirtError e = LibvirtError.last();
                verdict = e.code() == LibvirtError.VIR_ERR_CPU_INCOMPATIBLE ? HostInventory.CpuVerdict.INCOMPATIBLE : HostInventory.CpuVerdict.UNKNOWN;
                detail = e.message();
                LV.virResetLastError();
            }
        }
        String capsMachine = null;
        String capsError = null;
        Pointer dc = LV.virConnectGetDomainCapabilities(c.conn, guest.emulator(), guest.arch(), guest.machine(), guest.domainType(), 0);
        if (dc == null) {
            capsError = LibvirtError.last().message();
            LV.virResetLastError();
        } else {
            capsMachine = CapabilitiesXml.domainCapsMachine(c.takeString(dc, "read domain capabilities"));
        }
        int snapshots = -1;
        List<String> jobs = new ArrayList<>();
        Pointer dom = guest.uuid() == null ? null : LV.virDomainLookupByUUIDString(c.conn, guest.uuid());
        if (dom == null) {
            LV.virResetLastError();
        } else {
            try {
                if (guest.name().equals(LV.virDomainGetName(dom))) {
                    snapshots = LV.virDomainSnapshotNum(dom, 0);
                    if (snapshots < 0) LV.virResetLastError();
                    if (LV.virDomainIsActive(dom) == 1) {
                        for (io.kvmigrate.core.model.DiskSpec d : guest.disks()) {
                            if (d.target() == null || !d.hasLocalSource()) continue;
                            if (LV.virDomainGetBlockJobInfo(dom, d.target(), new Libvirt.BlockJobInfo(), 0) == 1) jobs.add(d.target());
                            else LV.virResetLastError();
                        }
                    }
                }
            } finally {
                LV.virDomainFree(dom);
            }
        }
        return new HostInventory.GuestView(verdict, detail, capsMachine, capsError, snapshots, jobs);
    }
}
