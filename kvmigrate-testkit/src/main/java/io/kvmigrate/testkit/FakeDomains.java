package io.kvmigrate.testkit;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.spi.Domains;
import io.kvmigrate.testkit.FakeHypervisor.FakeHost;
import io.kvmigrate.testkit.FaultPlan.Op;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The VMs of one fake host, by name; define, start, stop and undefine change them as libvirt would (no XML parser). */
final class FakeDomains implements Domains {
    private static final Pattern NAME = Pattern.compile("<name>([^<]*)</name>");
    private final FakeHost host;
    private final Map<String, VmInfo> vms = new LinkedHashMap<>();

    FakeDomains(FakeHost host) {
        this.host = host;
    }

    @Override
    public HostRef host() {
        return host.host();
    }

    // ---- the fake's own access (no fault plan) ----

    synchronized void put(VmSpec spec, VmState state, boolean persistent) {
        vms.put(spec.name(), new VmInfo(spec, state, persistent));
    }

    synchronized void remove(String name) {
        vms.remove(name);
    }

    synchronized Optional<VmInfo> get(String name) {
        return Optional.ofNullable(vms.get(name));
    }

    synchronized List<VmInfo> all() {
        return List.copyOf(vms.values());
    }

    synchronized VmInfo require(String name) {
        VmInfo v = vms.get(name);
        if (v == null) throw new KvmigrateException(ErrorCode.UNKNOWN_VM, null, host.host().name(), name, "no VM " + name, null);
        return v;
    }

    // ---- Domains ----

    @Override
    public synchronized List<VmInfo> listVms() {
        host.fault(Op.LIST_VMS, null);
        return List.copyOf(vms.values());
    }

    @Override
    public synchronized Optional<VmInfo> findVm(String name) {
        host.fault(Op.FIND_VM, name);
        return Optional.ofNullable(vms.get(name));
    }

    @Override
    public synchronized Optional<VmInfo> findVmByUuid(String uuid) {
        host.fault(Op.FIND_VM, null);
        return vms.values().stream().filter(v -> v.spec().uuid().equals(uuid)).findFirst();
    }

    @Override
    public VmInfo defineVm(String xml) {
        // The fake has no XML parser: the VM is the one named in <name>, as some host knows it from put().
        Matcher m = NAME.matcher(xml);
        if (!m.find()) throw new UnsupportedOperationException("FakeHost.defineVm needs a <name> element");
        host.fault(Op.DEFINE, m.group(1));
        // looked up before this host's lock is taken: two hosts defining at once must not wait for each other's lock
        VmSpec known = host.hypervisor().hosts().stream().map(h -> h.domains.get(m.group(1))).flatMap(Optional::stream).findFirst()
                .map(VmInfo::spec).orElseThrow(() -> new UnsupportedOperationException("define an unknown VM: use put() first"));
        VmSpec spec = new VmSpec(known.name(), known.uuid(), known.domainType(), known.arch(), known.machine(), known.emulator(),
                known.memoryKiB(), known.vcpus(), known.cpuMode(), known.disks(), known.nics(), known.hostDevices(), xml);
        synchronized (this) {
            VmInfo old = vms.get(spec.name());
            VmInfo v = new VmInfo(spec, old == null ? VmState.SHUTOFF : old.state(), true);
            vms.put(spec.name(), v);
            host.calls.add("define " + spec.name());
            return v;
        }
    }

    @Override
    public synchronized void startVm(String name) {
        host.fault(Op.START, name);
        VmInfo v = require(name);
        vms.put(name, new VmInfo(v.spec(), VmState.RUNNING, v.persistent()));
        host.calls.add("start " + name);
    }

    @Override
    public synchronized void shutdownVm(String name) {
        boolean ignored = host.fault(Op.SHUTDOWN, name).ignored(); // a guest that ignores ACPI
        VmInfo v = require(name);
        if (!ignored) vms.put(name, new VmInfo(v.spec(), VmState.SHUTOFF, v.persistent()));
        host.calls.add("shutdown " + name);
    }

    @Override
    public synchronized void destroyVm(String name) {
        host.fault(Op.DESTROY, name);
        VmInfo v = require(name);
        if (v.persistent()) vms.put(name, new VmInfo(v.spec(), VmState.SHUTOFF, true));
        else vms.remove(name);
        host.calls.add("destroy " + name);
    }

    @Override
    public synchronized void undefineVm(String name) {
        host.fault(Op.UNDEFINE, name);
        VmInfo v = require(name);
        if (v.state().isActive()) vms.put(name, new VmInfo(v.spec(), v.state(), false));
        else vms.remove(name);
        host.calls.add("undefine " + name);
    }

    @Override
    public void suspendVm(String name) {
        host.fault(Op.SUSPEND, name);
        require(name);
    }

    @Override
    public void resumeVm(String name) {
        host.fault(Op.RESUME, name);
        require(name);
    }
}
