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

    private HostFacts factsNow(List<VmInfo> vms) {
        return new HostFacts(host.host().name(), hostUuid, "x86_64", "Intel", "Skylake-Client", 4, 16 << 20, 8 << 20, 9_000_000, 7_002_000,
                (int) vms.stream().filter(v -> v.state().isActive()).count());
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
                List.of(x86), List.of(), List.of("lo"), List.of(), domains,
                new HostInventory.GuestView(HostInventory.CpuVerdict.IDENTICAL, null, guest == null ? null : guest.machine(), null,
                        known ? 0 : -1, List.of()));
    }
}
