package io.kvmigrate.testkit;

import io.kvmigrate.core.model.HostFacts;
import io.kvmigrate.core.model.HostInventory;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.spi.Inventory;
import io.kvmigrate.testkit.FakeHypervisor.FakeHost;
import io.kvmigrate.testkit.FaultPlan.Op;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/** A consistent, unremarkable host: same CPU everywhere, enough memory, no networks or pools, every guest CPU runs. */
final class FakeInventory implements Inventory {
    private final FakeHost host;
    private volatile String hostUuid = UUID.randomUUID().toString();
    private volatile int cpus;
    private volatile long memoryKiB;
    private volatile List<String> networks = List.of();

    FakeInventory(FakeHost host) {
        this.host = host;
    }

    @Override
    public HostRef host() {
        return host.host();
    }

    void hostUuid(String uuid) {
        hostUuid = uuid;
    }

    @Override
    public HostFacts facts() {
        host.fault(Op.FACTS, null);
        return factsNow(host.domains.all());
    }

    /** A host of this size: its free memory is then its memory less that of the VMs running on it (as a real host's is). */
    void capacity(int cpus, long memoryKiB) {
        this.cpus = cpus;
        this.memoryKiB = memoryKiB;
    }

    void networks(List<String> names) {
        this.networks = List.copyOf(names);
    }

    private HostFacts factsNow(List<VmInfo> vms) {
        int active = (int) vms.stream().filter(v -> v.state().isActive()).count();
        if (memoryKiB <= 0) {
            return new HostFacts(host.host().name(), hostUuid, "x86_64", "Intel", "Skylake-Client", 4, 16 << 20, 8 << 20, 9_000_000, 7_002_000,
                    active);
        }
        long used = vms.stream().filter(v -> v.state().isActive()).mapToLong(v -> v.spec().memoryKiB()).sum();
        return new HostFacts(host.host().name(), hostUuid, "x86_64", "Intel", "Skylake-Client", cpus, memoryKiB, Math.max(0, memoryKiB - used),
                9_000_000, 7_002_000, active);
    }

    @Override
    public HostInventory inventory(VmSpec guest) {
        host.fault(Op.INVENTORY, guest == null ? null : guest.name());
        List<VmInfo> vms = host.domains.all();
        List<HostInventory.Domain> domains = vms.stream().map(v -> new HostInventory.Domain(v.name(), v.spec().uuid(), v.state().isActive()))
                .toList();
        HostInventory.GuestSupport x86 = new HostInventory.GuestSupport("hvm", "x86_64", 64, "/usr/bin/qemu-system-x86_64",
                List.of("pc", "pc-i440fx-7.2", "q35", "pc-q35-7.2"), List.of("qemu", "kvm"));
        boolean known = guest != null && vms.stream().anyMatch(v -> v.name().equals(guest.name()));
        return new HostInventory(factsNow(vms), new HostInventory.Cpu("x86_64", "Intel", "Skylake-Client", Set.of("lm", "nx", "vmx"), true),
                List.of(x86), networks.stream().map(n -> new HostInventory.Network(n, true, "br-" + n)).toList(), List.of("lo"), List.of(), domains,
                new HostInventory.GuestView(HostInventory.CpuVerdict.IDENTICAL, null, guest == null ? null : guest.machine(), null,
                        known ? 0 : -1, List.of()));
    }
}
