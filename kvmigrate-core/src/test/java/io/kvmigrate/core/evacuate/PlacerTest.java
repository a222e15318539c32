package io.kvmigrate.core.evacuate;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.plan.Calibration;
import io.kvmigrate.core.plan.GuestProfile;
import io.kvmigrate.core.preflight.Finding;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class PlacerTest {
    static final long GIB = 1 << 20; // in KiB
    static final HostRef SRC = host("src");

    static HostRef host(String name) {
        return new HostRef(name, "qemu+tcp://" + name + "/system");
    }

    static Placer.Candidate vm(int id, String name, long memKiB, int vcpus, VmState state) {
        VmSpec spec = new VmSpec(name, "uuid-" + name, "kvm", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", memKiB, vcpus, null, List.of(),
                List.of(), List.of(), "<domain/>");
        GuestProfile g = new GuestProfile(memKiB * 1024, memKiB * 1024, 0, false, 0, GuestProfile.Rate.SKIPPED_SHORT);
        return new Placer.Candidate(id, new VmInfo(spec, state, true), SRC, new MoveEstimate(g, 300, Calibration.lab()));
    }

    static TargetCapacity target(String name, int cpus, long freeKiB) {
        return new TargetCapacity(host(name), cpus, 64 * GIB, freeKiB, 0);
    }

    static final Placer.Compatibility ALL = (c, t) -> List.of();

    @Test
    void place_reservesMemory_soTwoVmsNeverOvercommitOneTarget() {
        // each target has room for one 6 GiB VM (with QEMU's overhead), not two
        PlacementPlan p = new Placer(ALL, 4).place(List.of(vm(1, "a", 6 * GIB, 1, VmState.RUNNING), vm(2, "b", 6 * GIB, 1, VmState.RUNNING),
                vm(3, "c", 6 * GIB, 1, VmState.RUNNING)), List.of(target("t1", 8, 8 * GIB), target("t2", 8, 8 * GIB)));
        assertThat(p.moves()).extracting(m -> m.target().name()).containsExactlyInAnyOrder("t1", "t2");
        assertThat(p.unplaced()).singleElement().satisfies(u -> {
            assertThat(u.vm()).isEqualTo("c");
            assertThat(u.reasons()).containsOnlyKeys("t1", "t2");
            assertThat(u.codes()).containsExactly("TARGET_MEMORY_RESERVED");
        });
        assertThat(p.use().values()).allSatisfy(use -> assertThat(use.freeAfterKiB()).isNotNegative());
    }

    @Test
    void place_spreadsByFreeMemory_biggestFirst() {
        PlacementPlan p = new Placer(ALL, 4).place(List.of(vm(1, "small", 1 * GIB, 1, VmState.RUNNING), vm(2, "big", 10 * GIB, 1, VmState.RUNNING),
                vm(3, "mid", 4 * GIB, 1, VmState.RUNNING)), List.of(target("t1", 8, 12 * GIB), target("t2", 8, 20 * GIB)));
        Map<String, String> where = new java.util.HashMap<>();
        p.moves().forEach(m -> where.put(m.vm(), m.target().name()));
        // big takes t2 (20 -> ~9 left), then mid takes t1 (12 free, the most), then small goes where most is left (t2: ~9 vs t1: ~7.6)
        assertThat(where).containsEntry("big", "t2").containsEntry("mid", "t1").containsEntry("small", "t2");
        assertThat(p.moves()).extracting(PlannedMove::vm).containsExactly("big", "mid", "small");
    }

    @Test
    void place_onlyCompatibleTargets_andAVmThatFitsNowhereIsReportedWithEachTargetsFailures() {
        Finding net = Finding.fail("NETWORK_MISSING", "NETWORKS", "only-src", null, "no network", "define it");
        Finding cpu = Finding.fail("CPU_INCOMPATIBLE", "CPU", "x", "y", "cpu", "pick another");
        Placer.Compatibility compat = (c, t) -> c.vm().name().equals("pinned") ? List.of(t.name().equals("t1") ? net : cpu)
                : c.vm().name().equals("picky") && t.name().equals("t2") ? List.of(cpu) : List.of();
        PlacementPlan p = new Placer(compat, 4).place(List.of(vm(1, "pinned", GIB, 1, VmState.RUNNING), vm(2, "picky", GIB, 1, VmState.RUNNING)),
                List.of(target("t1", 8, 8 * GIB), target("t2", 8, 30 * GIB)));
        assertThat(p.moves()).singleElement().satisfies(m -> {
            assertThat(m.vm()).isEqualTo("picky");
            assertThat(m.target().name()).isEqualTo("t1"); // t2 has more room but fails its check
        });
        assertThat(p.unplaced()).singleElement().satisfies(u -> {
            assertThat(u.vm()).isEqualTo("pinned");
            assertThat(u.reasons().get("t1")).containsExactly(net);
            assertThat(u.reasons().get("t2")).containsExactly(cpu);
        });
    }

    @Test
    void place_reservesVcpus_withinTheRatio() {
        TargetCapacity t = new TargetCapacity(host("t1"), 4, 64 * GIB, 60 * GIB, 2); // 2 vCPUs already run there
        PlacementPlan p = new Placer(ALL, 1.0).place(List.of(vm(1, "a", GIB, 2, VmState.RUNNING), vm(2, "b", GIB, 1, VmState.RUNNING)), List.of(t));
        assertThat(p.moves()).extracting(PlannedMove::vm).containsExactly("a");
        assertThat(p.unplaced()).singleElement().satisfies(u -> assertThat(u.codes()).containsExactly("TARGET_VCPUS_RESERVED"));
        PlacementPlan twice = new Placer(ALL, 2.0).place(List.of(vm(1, "a", GIB, 2, VmState.RUNNING), vm(2, "b", GIB, 1, VmState.RUNNING)), List.of(t));
        assertThat(twice.unplaced()).isEmpty();
    }

    @Test
    void place_shutOffVm_reservesNothing_andIsPlacedAfterRunningOnes() {
        PlacementPlan p = new Placer(ALL, 4).place(List.of(vm(1, "off", 7 * GIB, 1, VmState.SHUTOFF), vm(2, "on", 7 * GIB, 1, VmState.RUNNING)),
                List.of(target("t1", 8, 8 * GIB)));
        assertThat(p.unplaced()).isEmpty();
        assertThat(p.moves()).extracting(PlannedMove::vm, PlannedMove::live).containsExactly(org.assertj.core.groups.Tuple.tuple("on", true),
                org.assertj.core.groups.Tuple.tuple("off", false));
        assertThat(p.moves().get(1).reservedMemoryKiB()).isZero();
    }

    @Test
    void place_asksPreflightLazily_atMostOncePerVmAndTarget() {
        List<String> asked = new CopyOnWriteArrayList<>();
        Placer.Compatibility compat = (c, t) -> {
            asked.add(c.vm().name() + "@" + t.name());
            return c.vm().name().equals("nowhere") ? List.of(Finding.fail("X", "X", null, null, "no", "no")) : List.of();
        };
        List<TargetCapacity> targets = new ArrayList<>();
        for (int i = 0; i < 50; i++) targets.add(target("t" + i, 8, 100 * GIB));
        List<Placer.Candidate> vms = new ArrayList<>();
        for (int i = 0; i < 20; i++) vms.add(vm(i, "vm" + i, GIB, 1, VmState.RUNNING));
        vms.add(vm(99, "nowhere", GIB, 1, VmState.RUNNING));
        PlacementPlan p = new Placer(compat, 4).place(vms, targets);
        assertThat(p.moves()).hasSize(20);
        assertThat(asked).doesNotHaveDuplicates();
        assertThat(asked.stream().filter(a -> !a.startsWith("nowhere@"))).hasSize(20); // the first target by free memory passes
        assertThat(asked.stream().filter(a -> a.startsWith("nowhere@"))).hasSize(50);
        assertThat(Set.copyOf(p.moves().stream().map(m -> m.target().name()).toList())).hasSize(20); // equal targets: one VM each (spread by free memory)
    }

    @Test
    void place_neverTargetsTheSourceItself() {
        TargetCapacity self = new TargetCapacity(SRC, 8, 64 * GIB, 60 * GIB, 0);
        PlacementPlan p = new Placer(ALL, 4).place(List.of(vm(1, "a", GIB, 1, VmState.RUNNING)), List.of(self, target("t1", 8, 2 * GIB)));
        assertThat(p.moves()).singleElement().satisfies(m -> assertThat(m.target().name()).isEqualTo("t1"));
    }
}
