package io.kvmigrate.core.evacuate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobFilter;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.NicSpec;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.FaultPlan.Op;
import io.kvmigrate.testkit.InMemoryJobStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A drain through the facade on the fake hypervisor: placement before anything moves, failures, cancel, maintenance. */
@Timeout(60)
class EvacuationTest {
    static final long GIB = 1 << 20;
    private final FakeHypervisor hv = new FakeHypervisor();
    private final InMemoryJobStore store = new InMemoryJobStore();
    private FakeHypervisor.FakeHost a;
    private FakeHypervisor.FakeHost b;
    private FakeHypervisor.FakeHost c;
    private Kvmigrate k;

    static VmSpec spec(String name, long memKiB, List<NicSpec> nics) {
        return new VmSpec(name, "uuid-" + name, "kvm", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", memKiB, 1, null, List.of(), nics, List.of(),
                "<domain><name>" + name + "</name></domain>");
    }

    @BeforeEach
    void fleet() {
        a = hv.addHost("a").withCapacity(16, 64 * GIB).withNetworks("only-a");
        b = hv.addHost("b").withCapacity(16, 16 * GIB);
        c = hv.addHost("c").withCapacity(16, 16 * GIB);
        for (int i = 1; i <= 3; i++) a.put(spec("vm" + i, GIB, List.of()), VmState.RUNNING, true);
        a.put(spec("pinned", GIB, List.of(new NicSpec("network", "only-a", "52:54:00:00:00:01", "virtio"))), VmState.RUNNING, true);
        k = Kvmigrate.configure().connector(hv).rewriter((xml, disks, nets) -> xml).store(store).owner("me:1:aa")
                .pollInterval(Duration.ofMillis(10)).load();
    }

    private EvacuationRequest request(int parallel) {
        return EvacuationRequest.of(a.host(), List.of(b.host(), c.host())).withLimits(new DrainLimits(parallel, parallel, parallel));
    }

    /** The moves' jobs (the drain's own job left out). */
    private List<Job> moveJobs() {
        return k.jobs(JobFilter.all()).stream().filter(j -> j.kind() != io.kvmigrate.core.job.JobKind.EVACUATION).toList();
    }

    private List<String> runningOn(String vm) {
        List<String> on = new ArrayList<>();
        for (FakeHypervisor.FakeHost h : List.of(a, b, c)) {
            h.findVm(vm).filter(v -> v.state().isActive()).ifPresent(v -> on.add(h.host().name()));
        }
        return on;
    }

    @Test
    void plan_vmThatFitsNowhere_isReportedWithEachTargetsReason_andNothingMoves() {
        EvacuationPlan plan = k.evacuation(request(2)).plan();
        assertThat(plan.placement().moves()).extracting(PlannedMove::vm).containsExactlyInAnyOrder("vm1", "vm2", "vm3");
        assertThat(plan.placement().unplaced()).singleElement().satisfies(u -> {
            assertThat(u.vm()).isEqualTo("pinned");
            assertThat(u.reasons()).containsOnlyKeys("b", "c");
            assertThat(u.codes()).containsExactly("NETWORK_MISSING");
        });
        assertThat(hv.migrationPeaks().started()).isZero();
        assertThat(k.jobs(JobFilter.all())).isEmpty();
        assertThat(a.calls).isEmpty();
    }

    @Test
    void run_movesWhatFits_leavesThePinnedVmRunningOnTheSource_andReportsEach() {
        hv.completeMigrationsAfter(vm -> Duration.ofMillis(30));
        List<EvacuationEvent> events = new CopyOnWriteArrayList<>();
        Evacuation e = k.evacuation(request(2));
        EvacuationResult r = e.run(e.plan(), events::add);
        assertThat(r.outcomes()).extracting(VmOutcome::vm, VmOutcome::status).containsExactlyInAnyOrder(
                org.assertj.core.groups.Tuple.tuple("vm1", VmOutcome.Status.MOVED), org.assertj.core.groups.Tuple.tuple("vm2", VmOutcome.Status.MOVED),
                org.assertj.core.groups.Tuple.tuple("vm3", VmOutcome.Status.MOVED), org.assertj.core.groups.Tuple.tuple("pinned", VmOutcome.Status.NOT_PLACED));
        for (VmOutcome o : r.outcomes()) {
            assertThat(runningOn(o.vm())).as(o.vm()).hasSize(1);
            if (o.status() == VmOutcome.Status.MOVED) assertThat(o.runningOn()).containsExactly(o.target());
        }
        assertThat(runningOn("pinned")).containsExactly("a");
        assertThat(r.leftBehind()).extracting(VmOutcome::vm).containsExactly("pinned");
        assertThat(hv.migrationPeaks().total()).isLessThanOrEqualTo(2);
        assertThat(events).filteredOn(ev -> ev instanceof EvacuationEvent.MoveStarted).hasSize(3);
        assertThat(events.get(events.size() - 1)).isInstanceOfSatisfying(EvacuationEvent.Total.class, t -> {
            assertThat(t.ended()).isEqualTo(3);
            assertThat(t.running()).isZero();
        });
    }

    @Test
    void run_oneMoveFails_theOthersStillMove() {
        hv.completeMigrationsAfter(vm -> Duration.ofMillis(20));
        hv.faults().on("a", Op.MIGRATE).of("vm2").fail(ErrorCode.MIGRATION_FAILED, "internal error: qemu unexpectedly closed the monitor");
        Evacuation e = k.evacuation(request(1));
        EvacuationResult r = e.run(e.plan(), null);
        assertThat(r.outcomes()).filteredOn(o -> o.vm().equals("vm2")).singleElement().satisfies(o -> {
            assertThat(o.status()).isEqualTo(VmOutcome.Status.FAILED);
            assertThat(o.runningOn()).containsExactly("a");
            assertThat(o.reason()).contains("qemu unexpectedly closed the monitor");
        });
        assertThat(r.moved()).isEqualTo(2);
        assertThat(runningOn("vm2")).containsExactly("a");
    }

    @Test
    void cancel_queuedMovesNeverStart_runningOneIsAborted_everyVmOnOneHost() throws Exception {
        hv.completeMigrationsAfter(vm -> Duration.ofSeconds(30));
        Evacuation e = k.evacuation(request(1));
        EvacuationPlan plan = e.plan();
        CompletableFuture<EvacuationResult> running = CompletableFuture.supplyAsync(() -> e.run(plan, null));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (hv.migrationPeaks().started() == 0 && System.nanoTime() < deadline) Thread.sleep(5);
        e.cancel("Ctrl-C");
        EvacuationResult r = running.get(20, TimeUnit.SECONDS);
        assertThat(r.cancelled()).isTrue();
        assertThat(hv.migrationPeaks().started()).isEqualTo(1);
        assertThat(r.outcomes()).filteredOn(o -> o.status() == VmOutcome.Status.CANCELLED).hasSize(3);
        assertThat(r.outcomes()).filteredOn(o -> o.status() == VmOutcome.Status.CANCELLED && o.jobId() != null).singleElement()
                .satisfies(o -> assertThat(k.job(o.jobId()).map(Job::state)).contains(JobState.CANCELLED));
        assertThat(moveJobs()).hasSize(1);
        for (String vm : List.of("vm1", "vm2", "vm3", "pinned")) assertThat(runningOn(vm)).as(vm).containsExactly("a");
    }

    @Test
    void jobsCancelOfOneMove_fromAnotherController_cancelsTheDrain() throws Exception {
        hv.completeMigrationsAfter(vm -> Duration.ofSeconds(30));
        Evacuation e = k.evacuation(request(1));
        EvacuationPlan plan = e.plan();
        CompletableFuture<EvacuationResult> running = CompletableFuture.supplyAsync(() -> e.run(plan, null));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (hv.migrationPeaks().started() == 0 && System.nanoTime() < deadline) Thread.sleep(5);
        String id = moveJobs().get(0).id();
        // another process's facade on the same store: its cancel goes through the store, read by the job's heartbeat
        try (Kvmigrate other = Kvmigrate.configure().connector(hv).rewriter((xml, disks, nets) -> xml).store(store).owner("other:2:bb").load()) {
            other.cancel(id);
        }
        EvacuationResult r = running.get(20, TimeUnit.SECONDS);
        assertThat(r.cancelled()).isTrue();
        assertThat(hv.migrationPeaks().started()).isEqualTo(1);
        assertThat(r.outcomes()).filteredOn(o -> o.status() == VmOutcome.Status.CANCELLED).hasSize(3);
        for (String vm : List.of("vm1", "vm2", "vm3", "pinned")) assertThat(runningOn(vm)).as(vm).containsExactly("a");
    }

    @Test
    void hostInMaintenance_isNeverATarget() {
        assertThat(k.maintenance(b.host(), true)).isTrue();
        EvacuationPlan plan = k.evacuation(request(2)).plan();
        assertThat(plan.excluded()).containsOnlyKeys("b");
        assertThat(plan.placement().moves()).allSatisfy(m -> assertThat(m.target().name()).isEqualTo("c"));
        assertThat(k.maintenance(b.host(), false)).isTrue();
        assertThat(k.evacuation(request(2)).plan().placement().moves()).extracting(m -> m.target().name()).contains("b");
    }

    @Test
    void run_theTotalBandwidthIsDividedWorkConserving_neverMoreAtOnce_andReDividedAsMovesStartAndEnd() {
        a.put(spec("vm4", GIB, List.of()), VmState.RUNNING, true);
        // vm1 runs past the time after which a migration that reports no rate (the fake's) is given its part anyway
        hv.completeMigrationsAfter(vm -> Duration.ofMillis(vm.name().equals("vm1") ? 3000 : 100));
        List<EvacuationEvent.Shares> shares = new CopyOnWriteArrayList<>();
        Evacuation e = k.evacuation(EvacuationRequest.of(a.host(), List.of(b.host(), c.host())).withLimits(new DrainLimits(3, 3, 3))
                .withBandwidth(90).withPolicy(io.kvmigrate.core.plan.PolicyKind.PLAIN));
        EvacuationPlan plan = e.plan();
        EvacuationResult r = e.run(plan, ev -> {
            if (ev instanceof EvacuationEvent.Shares s) shares.add(s);
        });
        assertThat(r.moved()).isEqualTo(4);
        long least = plan.schedule().shareBps() >> 20; // k at once: at least a k-th each while sending
        assertThat(least * plan.schedule().concurrency()).isLessThanOrEqualTo(90);
        assertThat(plan.schedule().concurrency()).isGreaterThan(1);
        List<Job> jobs = moveJobs();
        io.kvmigrate.testkit.DrainTimeline.Peaks p = io.kvmigrate.testkit.DrainTimeline.of(jobs, id -> k.events(id, 0));
        assertThat(p.capsMiBps()).as("caps at once").isLessThanOrEqualTo(90);
        assertThat(p.total()).isLessThanOrEqualTo(3);
        // every move starts at its planned share (its plan sees that), is lowered to the floor while its job checks, and
        // gets more than an equal share once the others do not use theirs
        assertThat(jobs).extracting(j -> j.request().get("bandwidth")).containsOnly(Long.toString(least));
        String first = jobs.stream().filter(j -> j.vmName().equals("vm1")).findFirst().orElseThrow().id();
        List<String> actions = k.events(first, 0).stream().map(ev -> String.valueOf(ev.data().get("action"))).filter(x -> x.startsWith("bandwidth ")).toList();
        assertThat(actions).contains("bandwidth 1 MiB/s");
        assertThat(actions).anySatisfy(x -> assertThat(Long.parseLong(x.split(" ")[1])).isGreaterThan(least));
        for (EvacuationEvent.Shares s : shares) assertThat(s.capsMiBps().values().stream().mapToLong(Long::longValue).sum()).isLessThanOrEqualTo(90);
    }

    @Test
    void run_theDrainIsAJobOfJobs_itsMovesAreItsChildren_andItEndsFailedWithWhatWasLeftBehind() {
        hv.completeMigrationsAfter(vm -> Duration.ofMillis(20));
        Evacuation e = k.evacuation(request(2));
        List<EvacuationEvent> events = new CopyOnWriteArrayList<>();
        EvacuationResult r = e.run(e.plan(), events::add);
        assertThat(r.jobId()).isNotNull();
        assertThat(events.get(0)).isEqualTo(new EvacuationEvent.DrainRecorded(((EvacuationEvent.DrainRecorded) events.get(0)).at(), r.jobId()));
        Job drain = k.job(r.jobId()).orElseThrow();
        assertThat(drain.kind()).isEqualTo(io.kvmigrate.core.job.JobKind.EVACUATION);
        assertThat(drain.sourceHost()).isEqualTo("a");
        assertThat(drain.state()).isEqualTo(JobState.FAILED);
        assertThat(drain.error().code()).isEqualTo(ErrorCode.VMS_LEFT_BEHIND.name());
        assertThat(drain.error().message()).contains("pinned");
        List<Job> moves = k.children(r.jobId());
        assertThat(moves).extracting(Job::vmName).containsExactlyInAnyOrder("vm1", "vm2", "vm3");
        assertThat(moves).allSatisfy(m -> {
            assertThat(m.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(k.parentOf(m.id())).contains(r.jobId());
        });
        assertThat(k.jobs(JobFilter.all())).hasSize(4);
        List<String> timeline = k.events(r.jobId(), 0).stream().map(io.kvmigrate.core.job.JobEvent::message).toList();
        assertThat(timeline.get(0)).startsWith("3 of 4 VM(s) placed");
        assertThat(timeline).anySatisfy(m -> assertThat(m).startsWith("pinned fits on no target: NETWORK_MISSING"));
        assertThat(timeline).filteredOn(m -> m.contains(": moved")).hasSize(3);
    }

    @Test
    void jobsCancelOfTheDrainJob_fromAnotherController_stopsQueuedMoves_abortsTheRunningOne_everyVmOnOneHost() throws Exception {
        hv.completeMigrationsAfter(vm -> Duration.ofSeconds(30));
        Evacuation e = k.evacuation(request(1));
        EvacuationPlan plan = e.plan();
        List<String> drainId = new CopyOnWriteArrayList<>();
        CompletableFuture<EvacuationResult> running = CompletableFuture.supplyAsync(() -> e.run(plan, ev -> {
            if (ev instanceof EvacuationEvent.DrainRecorded d) drainId.add(d.jobId());
        }));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((hv.migrationPeaks().started() == 0 || drainId.isEmpty()) && System.nanoTime() < deadline) Thread.sleep(5);
        try (Kvmigrate other = Kvmigrate.configure().connector(hv).rewriter((xml, disks, nets) -> xml).store(store).owner("other:2:bb").load()) {
            other.cancel(drainId.get(0));
        }
        EvacuationResult r = running.get(20, TimeUnit.SECONDS);
        assertThat(r.cancelled()).isTrue();
        assertThat(hv.migrationPeaks().started()).isEqualTo(1);
        assertThat(k.job(drainId.get(0)).map(Job::state)).contains(JobState.CANCELLED);
        assertThat(k.children(drainId.get(0))).singleElement().satisfies(m -> assertThat(m.state()).isEqualTo(JobState.CANCELLED));
        for (String vm : List.of("vm1", "vm2", "vm3", "pinned")) assertThat(runningOn(vm)).as(vm).containsExactly("a");
    }

    @Test
    void reconcile_aDrainWhoseControllerDied_isMarkedInterrupted_itsMovesReconciledOnTheirOwn() {
        java.time.Instant long_ago = java.time.Instant.now().minusSeconds(120);
        store.create(Job.queued("drain-1", io.kvmigrate.core.job.JobKind.EVACUATION, "a (4 VMs)", null, "a", "b,c", java.util.Map.of(),
                "gone:1:zz", long_ago));
        store.update("drain-1", "gone:1:zz", io.kvmigrate.core.job.JobUpdate.state(JobState.RUNNING, long_ago));
        var outcomes = k.reconcile();
        assertThat(outcomes).singleElement().satisfies(o -> {
            assertThat(o.jobId()).isEqualTo("drain-1");
            assertThat(o.action()).isEqualTo("interrupted");
        });
        Job drain = k.job("drain-1").orElseThrow();
        assertThat(drain.state()).isEqualTo(JobState.INTERRUPTED);
        assertThat(drain.error().message()).contains("the controller died mid-drain", "never will");
        assertThat(a.calls).isEmpty();
    }

    @Test
    void run_aShutOffVmOnLocalDisks_movesAsAVerifiedColdCopy_notLeftBehind() {
        long mib = 1 << 20;
        for (FakeHypervisor.FakeHost h : List.of(a, b, c)) h.addPool("local", "/var/lib/libvirt/images", 1024 * mib);
        byte[] content = new byte[8192];
        java.util.Arrays.fill(content, (byte) 5);
        a.putVolume("/var/lib/libvirt/images/cold.img", "raw", 64 * mib, content);
        a.put(new VmSpec("cold", "uuid-cold", "kvm", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", GIB, 1, null,
                List.of(new io.kvmigrate.core.model.DiskSpec("vda", "disk", "file", "/var/lib/libvirt/images/cold.img", "raw", null, null, false, false)),
                List.of(), List.of(), "<domain><name>cold</name></domain>"), VmState.SHUTOFF, true);
        hv.completeMigrationsAfter(vm -> Duration.ofMillis(20));
        Evacuation e = k.evacuation(request(2));
        EvacuationPlan plan = e.plan();
        assertThat(plan.placement().moves()).filteredOn(m -> m.vm().equals("cold")).singleElement().satisfies(m -> assertThat(m.live()).isFalse());
        EvacuationResult r = e.run(plan, null);
        VmOutcome cold = r.outcomes().stream().filter(o -> o.vm().equals("cold")).findFirst().orElseThrow();
        assertThat(cold.status()).as(String.valueOf(cold.reason())).isEqualTo(VmOutcome.Status.MOVED);
        FakeHypervisor.FakeHost target = cold.target().equals("b") ? b : c;
        assertThat(target.findVm("cold")).get().matches(io.kvmigrate.core.model.VmInfo::persistent);
        assertThat(target.volumeContent("/var/lib/libvirt/images/cold.img")).get().isEqualTo(content);
        assertThat(a.findVm("cold")).isEmpty();
        assertThat(a.volume("/var/lib/libvirt/images/cold.img")).isEmpty();
        assertThat(k.job(cold.jobId()).orElseThrow().kind()).isEqualTo(io.kvmigrate.core.job.JobKind.OFFLINE);
        assertThat(k.events(cold.jobId(), 0)).anySatisfy(ev -> assertThat(ev.message()).containsIgnoringCase("verif"));
    }

    @Test
    void evacuation_noTargetAvailable_isRefusedBeforeAnything() {
        k.maintenance(b.host(), true);
        k.maintenance(c.host(), true);
        assertThatThrownBy(() -> k.evacuation(request(2)).plan()).isInstanceOfSatisfying(KvmigrateException.class,
                ex -> assertThat(ex.getMessage()).contains("No target host is available", "in maintenance"));
        HostRef none = new HostRef("x", "qemu+tcp://x/system");
        assertThat(k.evacuation(EvacuationRequest.of(a.host(), List.of(none))).request().targets()).containsExactly(none);
    }
}
