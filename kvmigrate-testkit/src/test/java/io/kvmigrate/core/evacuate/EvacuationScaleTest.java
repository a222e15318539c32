package io.kvmigrate.core.evacuate;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobFilter;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.plan.PolicyKind;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.InMemoryJobStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A fleet on the fake hypervisor: 200 hosts, 1,000 VMs; 10 hosts are drained at once with up to 50 moves at a time. Every
 * limit holds at every instant (counted by the fake as migrations start and end, and again from the job times in the
 * store), no target is overcommitted at any moment (checked as each migration lands), and every VM ends on exactly one
 * host, none on a drained one.
 */
@Timeout(120)
class EvacuationScaleTest {
    static final long GIB = 1 << 20;
    static final int HOSTS = 200;
    static final int VMS = 1000;
    static final int DRAINED = 10;
    static final int CPUS = 32;
    static final long HOST_MEMORY = 128 * GIB;

    /** Builds the fleet: the drained hosts carry 20 VMs each (a tenth shut off), the others share the rest. */
    static List<FakeHypervisor.FakeHost> fleet(FakeHypervisor hv, Random r) {
        List<FakeHypervisor.FakeHost> hosts = new ArrayList<>();
        for (int i = 0; i < HOSTS; i++) {
            hosts.add(hv.addHost(String.format("h%03d", i)).withCapacity(CPUS, i < DRAINED ? 8 * HOST_MEMORY : HOST_MEMORY));
        }
        int perDrained = 20;
        for (int v = 0; v < VMS; v++) {
            FakeHypervisor.FakeHost h = v < DRAINED * perDrained ? hosts.get(v / perDrained) : hosts.get(DRAINED + (v % (HOSTS - DRAINED)));
            long mem = (1 + r.nextInt(16)) * GIB;
            int vcpus = 1 + r.nextInt(4);
            String name = String.format("vm%04d", v);
            VmSpec spec = new VmSpec(name, "uuid-" + name, "kvm", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", mem, vcpus, null, List.of(),
                    List.of(), List.of(), "<domain><name>" + name + "</name></domain>");
            h.put(spec, v < DRAINED * perDrained && v % 10 == 7 ? VmState.SHUTOFF : VmState.RUNNING, true);
        }
        return hosts;
    }

    @Test
    void evacuate_tenOfTwoHundredHosts_fiftyAtOnce_limitsHoldNoOvercommitEveryVmOnOneHost() {
        FakeHypervisor hv = new FakeHypervisor();
        List<FakeHypervisor.FakeHost> hosts = fleet(hv, new Random(14));
        Map<String, FakeHypervisor.FakeHost> byName = new HashMap<>();
        hosts.forEach(h -> byName.put(h.host().name(), h));
        List<String> overcommitted = new CopyOnWriteArrayList<>();
        hv.afterEveryMigration(m -> {
            List<VmInfo> on = m.target().listVms();
            long mem = on.stream().filter(v -> v.state().isActive()).mapToLong(v -> v.spec().memoryKiB()).sum();
            int vcpus = on.stream().filter(v -> v.state().isActive()).mapToInt(v -> v.spec().vcpus()).sum();
            if (mem > HOST_MEMORY || vcpus > CPUS) overcommitted.add(m.target().host().name() + ": " + mem / GIB + " GiB, " + vcpus + " vCPUs");
        });
        hv.completeMigrationsAfter(vm -> Duration.ofMillis(10 + (vm.spec().memoryKiB() / GIB) * 2));
        InMemoryJobStore store = new InMemoryJobStore();
        DrainLimits limits = new DrainLimits(50, 5, 2);
        try (Kvmigrate k = Kvmigrate.configure().connector(hv).rewriter((xml, disks, nets) -> xml).store(store).owner("scale:1:aa")
                .pollInterval(Duration.ofMillis(10)).load()) {
            List<HostRef> drained = hosts.subList(0, DRAINED).stream().map(FakeHypervisor.FakeHost::host).toList();
            List<HostRef> targets = hosts.subList(DRAINED, HOSTS).stream().map(FakeHypervisor.FakeHost::host).toList();
            EvacuationRequest req = new EvacuationRequest(drained, targets, limits, 20_000, PolicyKind.SAFE, 0, null, 1.0, null, false);
            Evacuation e = k.evacuation(req);
            EvacuationPlan plan = e.plan();
            assertThat(hv.migrationPeaks().started()).isZero();
            assertThat(plan.placement().unplaced()).isEmpty();
            assertThat(plan.placement().moves()).hasSize(DRAINED * 20);
            EvacuationResult r = e.run(plan, null);

            assertThat(r.leftBehind()).isEmpty();
            assertThat(overcommitted).isEmpty();
            MigrationPeaksAssert.limitsHeld(hv.migrationPeaks(), limits);
            List<Job> jobs = k.children(r.jobId());
            assertThat(jobs).hasSize(DRAINED * 20);
            assertThat(k.jobs(JobFilter.all().limit(10_000))).hasSize(DRAINED * 20 + 1); // and the drain's own
            io.kvmigrate.testkit.DrainTimeline.Peaks fromStore = io.kvmigrate.testkit.DrainTimeline.of(jobs, id -> k.events(id, 0));
            assertThat(fromStore.total()).as("jobs at once (store)").isLessThanOrEqualTo(limits.maxParallel());
            assertThat(fromStore.outOfOneHost()).as("jobs out of one host at once (store)").isLessThanOrEqualTo(limits.maxOutPerHost());
            assertThat(fromStore.intoOneHost()).as("jobs into one host at once (store)").isLessThanOrEqualTo(limits.maxInPerHost());
            assertThat(fromStore.capsMiBps()).as("bandwidth caps at once (store)").isLessThanOrEqualTo(20_000);
            System.out.printf("scale: %d moves (%d live), peaks %s, store %s, drain %d ms, concurrency %d, share %d MiB/s%n", jobs.size(),
                    hv.migrationPeaks().started(), hv.migrationPeaks(), fromStore, r.elapsedMs(), plan.schedule().concurrency(), plan.schedule().shareBps() >> 20);
        }
        Map<String, Integer> copies = new HashMap<>();
        for (FakeHypervisor.FakeHost h : hosts) {
            for (VmInfo v : h.listVms()) copies.merge(v.name(), 1, Integer::sum);
        }
        assertThat(copies).hasSize(VMS);
        assertThat(copies.values()).containsOnly(1);
        for (FakeHypervisor.FakeHost h : hosts.subList(0, DRAINED)) assertThat(h.listVms()).as(h.host().name()).isEmpty();
        for (FakeHypervisor.FakeHost h : hosts.subList(DRAINED, HOSTS)) {
            long mem = h.listVms().stream().filter(v -> v.state().isActive()).mapToLong(v -> v.spec().memoryKiB()).sum();
            assertThat(mem).as(h.host().name()).isLessThanOrEqualTo(HOST_MEMORY);
        }
    }

    /** Limits read back from the fake's counters. */
    static final class MigrationPeaksAssert {
        static void limitsHeld(io.kvmigrate.testkit.MigrationCounter.Peaks p, DrainLimits limits) {
            assertThat(p.total()).as("moves at once").isLessThanOrEqualTo(limits.maxParallel());
            assertThat(p.outOfOneHost()).as("out of one host at once").isLessThanOrEqualTo(limits.maxOutPerHost());
            assertThat(p.intoOneHost()).as("into one host at once").isLessThanOrEqualTo(limits.maxInPerHost());
        }
    }
}
