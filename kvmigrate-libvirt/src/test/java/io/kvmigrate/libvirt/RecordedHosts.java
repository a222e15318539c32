package io.kvmigrate.libvirt;

import io.kvmigrate.core.model.HostFacts;
import io.kvmigrate.core.model.HostInventory;
import io.kvmigrate.core.model.HostInventory.CpuVerdict;
import io.kvmigrate.core.model.HostInventory.GuestView;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.preflight.DiskStorage;
import io.kvmigrate.core.preflight.Mode;
import io.kvmigrate.core.preflight.PreflightContext;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

/** Host inventories and VMs built from the recorded libvirt XML in src/test/resources/preflight (see ORIGIN.md there). */
final class RecordedHosts {
    static final long LIBVIRT_9_0 = 9_000_000;
    static final long QEMU_7_2 = 7_002_000;
    /** Free memory of the lab host as its libvirt reported it (virsh freecell), KiB. */
    static final long LAB_FREE_KIB = 3_781_700;

    private RecordedHosts() {
    }

    static String res(String name) {
        try (InputStream in = RecordedHosts.class.getResourceAsStream("/preflight/" + name)) {
            if (in == null) throw new IllegalArgumentException("no test resource " + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The lab's AMD EPYC (nested) host as recorded: capabilities, expanded CPU, its shared pool, guest CPU runnable. */
    static HostInventory amdLab(String uuid) {
        CapabilitiesXml.Parsed caps = CapabilitiesXml.parse(res("caps-lab-amd-epyc-nested.xml"));
        return host(caps, CapabilitiesXml.parseCpu(res("cpu-lab-amd-epyc-nested-expanded.xml"), true), caps.cpu().vendor(), uuid);
    }

    /** A host with the Intel Xeon Gold 6148 CPU recorded in libvirt's cputestdata, and the lab's QEMU. */
    static HostInventory intelXeon(String uuid) {
        CapabilitiesXml.Parsed caps = CapabilitiesXml.parse(res("caps-lab-amd-epyc-nested.xml"));
        return host(caps, CapabilitiesXml.parseCpu(res("cpu-intel-xeon-gold-6148-expanded.xml"), true), "Intel", uuid);
    }

    /** A host with the AMD EPYC 7601 CPU recorded in libvirt's cputestdata, and the lab's QEMU. */
    static HostInventory amdEpyc7601(String uuid) {
        CapabilitiesXml.Parsed caps = CapabilitiesXml.parse(res("caps-lab-amd-epyc-nested.xml"));
        return host(caps, CapabilitiesXml.parseCpu(res("cpu-amd-epyc-7601-expanded.xml"), true), "AMD", uuid);
    }

    /** An old host: libvirt's caps-qemu-kvm (machine types pc-0.10/pc-0.11) with an Intel CPU, QEMU 2.12 domain capabilities. */
    static HostInventory oldIntelQemu(String uuid) {
        CapabilitiesXml.Parsed caps = CapabilitiesXml.parse(res("caps-libvirt-qemu-kvm-old.xml"));
        HostInventory h = host(caps, CapabilitiesXml.parseCpu(res("cpu-intel-xeon-gold-6148-expanded.xml"), true), "Intel", uuid);
        HostFacts f = h.facts();
        HostFacts old = new HostFacts(f.hostname(), f.hostUuid(), f.arch(), f.cpuVendor(), f.cpuModel(), 4, f.memoryKiB(), f.freeMemoryKiB(),
                8_000_000, 2_012_000, 0);
        GuestView view = new GuestView(CpuVerdict.SUPERSET, null,
                CapabilitiesXml.domainCapsMachine(res("domcaps-libvirt-qemu-2.12-intel-haswell.xml")), null, -1, List.of());
        return new HostInventory(old, h.cpu(), h.guests(), h.networks(), h.hostInterfaces(), h.pools(), h.domains(), view);
    }

    private static HostInventory host(CapabilitiesXml.Parsed caps, HostInventory.Cpu cpu, String vendor, String uuid) {
        HostInventory.Cpu c = new HostInventory.Cpu(caps.cpu().arch() != null ? caps.cpu().arch() : "x86_64", vendor, cpu.model(),
                cpu.features(), cpu.featuresExpanded());
        HostFacts facts = new HostFacts("h-" + uuid, uuid, c.arch(), c.vendor(), c.model(), 2, 5_466_316, LAB_FREE_KIB, LIBVIRT_9_0, QEMU_7_2, 0);
        GuestView view = new GuestView(CpuVerdict.SUPERSET, null,
                CapabilitiesXml.domainCapsMachine(res("domcaps-lab-amd-epyc-nested.xml")), null, 0, List.of());
        return new HostInventory(facts, c, caps.guests(), List.of(), List.of("eth0", "lo"),
                List.of(new HostInventory.Pool("shared", "dir", "/var/tmp/kvm-h3/shared", true, 270_000_000_000L, 247_000_000_000L)),
                List.of(), view);
    }

    static HostInventory withCpuFeatures(HostInventory h, Set<String> features) {
        HostInventory.Cpu c = h.cpu();
        return new HostInventory(h.facts(), new HostInventory.Cpu(c.arch(), c.vendor(), c.model(), features, c.featuresExpanded()), h.guests(),
                h.networks(), h.hostInterfaces(), h.pools(), h.domains(), h.guest());
    }

    static HostInventory withGuestView(HostInventory h, GuestView v) {
        return new HostInventory(h.facts(), h.cpu(), h.guests(), h.networks(), h.hostInterfaces(), h.pools(), h.domains(), v);
    }

    static HostInventory withNetworking(HostInventory h, List<HostInventory.Network> nets, List<String> ifaces) {
        return new HostInventory(h.facts(), h.cpu(), h.guests(), nets, ifaces, h.pools(), h.domains(), h.guest());
    }

    static HostInventory withPools(HostInventory h, List<HostInventory.Pool> pools) {
        return new HostInventory(h.facts(), h.cpu(), h.guests(), h.networks(), h.hostInterfaces(), pools, h.domains(), h.guest());
    }

    static HostInventory withDomains(HostInventory h, List<HostInventory.Domain> domains) {
        return new HostInventory(h.facts(), h.cpu(), h.guests(), h.networks(), h.hostInterfaces(), h.pools(), domains, h.guest());
    }

    static HostInventory withFacts(HostInventory h, long freeKiB, int cpus, long libvirt, long qemu) {
        HostFacts f = h.facts();
        return new HostInventory(new HostFacts(f.hostname(), f.hostUuid(), f.arch(), f.cpuVendor(), f.cpuModel(), cpus, f.memoryKiB(), freeKiB,
                libvirt, qemu, f.runningVms()), h.cpu(), h.guests(), h.networks(), h.hostInterfaces(), h.pools(), h.domains(), h.guest());
    }

    /** The recorded running lab guest, with {@code edits} applied to its XML as (from, to) pairs. */
    static VmInfo guest(VmState state, String... edits) {
        String xml = res("domain-lab-guest-running.xml");
        for (int i = 0; i < edits.length; i += 2) {
            if (!xml.contains(edits[i])) throw new IllegalArgumentException("recorded guest XML has no '" + edits[i] + "'");
            xml = xml.replace(edits[i], edits[i + 1]);
        }
        return new VmInfo(DomainXml.parse(xml), state, true);
    }

    static VmInfo running(String... edits) {
        return guest(VmState.RUNNING, edits);
    }

    static final DiskStorage SHARED_DISK = new DiskStorage("hda", "/var/tmp/kvm-h3/shared/pf1.img", DiskStorage.Sharing.SHARED,
            "probe written through src read through dst", null, 1 << 20);

    static PreflightContext ctx(VmInfo vm, Mode mode, HostInventory source, HostInventory target, DiskStorage... storage) {
        return new PreflightContext(vm, mode, "src", "dst", source, target, storage.length == 0 ? List.of(SHARED_DISK) : List.of(storage));
    }
}
