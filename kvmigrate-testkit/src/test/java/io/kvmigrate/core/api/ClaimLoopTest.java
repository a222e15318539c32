package io.kvmigrate.core.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.core.job.JobFilter;
import io.kvmigrate.core.job.JobKind;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.core.model.DiskSpec;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.plan.PolicyKind;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.InMemoryJobStore;
import io.kvmigrate.testkit.ManualScheduler;
import io.kvmigrate.testkit.MutableClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Queued moves on the fakes: {@link Kvmigrate#enqueue} records them with their VM's lock, {@link ClaimLoop}s claim and run
 * them (woken by their own facade's queue, polling for others', at most their slots at once), each exactly once. The
 * loops poll on a manual scheduler, so "not before the poll" is a fact of the test, not a race.
 */
@org.junit.jupiter.api.Timeout(60)
class ClaimLoopTest {
    private static final Duration POLL = Duration.ofSeconds(2);
    private static final JobStats DONE = new JobStats(900, 1 << 20, 1 << 20, 0, 1 << 20, 1 << 20, 0, 100 << 20, 0, 4096, 2, 30, 0, 0, 0, 0, 0);
    private final FakeHypervisor hv = new FakeHypervisor();
    private final InMemoryJobStore store = new InMemoryJobStore();
    private final MutableClock time = new MutableClock();
    private final ManualScheduler scheduler = new ManualScheduler(time);
    private final List<AutoCloseable> closing = new ArrayList<>();
    private final Map<String, FakeHypervisor.FakeMigration> started = new java.util.concurrent.ConcurrentHashMap<>();
    private FakeHypervisor.FakeHost src;
    private FakeHypervisor.FakeHost dst;

    @BeforeEach
    void hosts() {
        src = hv.addHost("a");
        dst = hv.addHost("b");
        hv.shareDirectory("/nfs");
        for (int i = 0; i < 6; i++) {
            src.put(new VmSpec("vm" + i, "uuid-vm" + i, "kvm", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", 1 << 20, 1, null,
                    List.of(new DiskSpec("vda", "disk", "file", "/nfs/vm" + i + ".img", "raw", null, null, false, false)), List.of(), List.of(),
                    "<domain/>"), VmState.RUNNING, true);
            src.putFile("/nfs/vm" + i + ".img", new byte[4096]);
        }
        // the fake keeps only a host's last migration; this hook runs as each one starts, while it is that last one
        hv.completeMigrationsAfter(vm -> {
            started.put(vm.name(), src.lastMigration);
            return Duration.ofHours(1);
        });
    }

    @org.junit.jupiter.api.AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closing) c.close();
    }

    private Kvmigrate facade(String owner) {
        Kvmigrate k = Kvmigrate.configure().connector(hv).rewriter((xml, disks, nets) -> xml).store(store).owner(owner)
                .pollInterval(Duration.ofMillis(20)).load();
        closing.add(0, k);
        return k;
    }

    /** A loop that claims on the calling thread when woken and polls when the test advances the scheduler. */
    private ClaimLoop loop(Kvmigrate k, int slots, List<JobHandle> claimed) {
        ClaimLoop l = new ClaimLoop(k, slots, scheduler, POLL, Runnable::run).onClaimed(claimed::add);
        closing.add(0, l);
        return l;
    }

    private MoveRequest move(String vm) {
        return new MoveRequest(vm, src.host(), dst.host(), JobKind.LIVE, PolicyKind.PLAIN, 0, 0, null, 0, false, null, null, Set.of(),
                false, null, false, false, false, false, true);
    }

    private FakeHypervisor.FakeMigration migrating(String vm) {
        try {
            await(() -> started.containsKey(vm));
        } catch (AssertionError e) {
            throw new AssertionError("no migration of " + vm + "; jobs: " + store.jobs(JobFilter.all().vm(vm)), e);
        }
        return started.get(vm);
    }

    private static void await(BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not met within 10 s");
            java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
        }
    }

    private List<JobEvent> claims(String jobId) {
        return store.events(jobId, 0).stream().filter(e -> "claimed".equals(e.data().get("action"))).toList();
    }

    @Test
    void enqueue_wakesThisFacadesLoop_claimedAtOnceRunAndRecordedWithWhoClaimedIt() throws Exception {
        Kvmigrate k = facade("srv-a:1:aa");
        List<JobHandle> claimed = new CopyOnWriteArrayList<>();
        loop(k, 2, claimed);
        Job queued = k.enqueue(move("vm0"));
        assertThat(queued.state()).isEqualTo(JobState.QUEUED);
        assertThat(queued.owner()).isNull();
        assertThat(queued.vmUuid()).isEqualTo("uuid-vm0");
        // no poll has run: the enqueue itself woke the loop
        assertThat(claimed).extracting(JobHandle::id).containsExactly(queued.id());
        assertThat(k.job(queued.id()).orElseThrow().owner()).isEqualTo("srv-a:1:aa");
        assertThat(claims(queued.id())).singleElement().satisfies(e -> {
            assertThat(e.data()).containsEntry("owner", "srv-a:1:aa");
            assertThat(e.step()).isEqualTo("queue");
        });
        migrating("vm0").succeed(DONE);
        claimed.get(0).outcome().get(10, TimeUnit.SECONDS);
        Job end = k.job(queued.id()).orElseThrow();
        assertThat(end.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(end.placement().runningOn()).containsExactly("b");
        assertThat(store.vmLock(end.vmKey())).isEmpty();
    }

    @Test
    void anotherControllersQueuedMove_claimedAtThePoll_notBefore() {
        Kvmigrate api = facade("api-only:2:bb"); // queues, runs no loop
        Kvmigrate worker = facade("srv-a:1:aa");
        List<JobHandle> claimed = new CopyOnWriteArrayList<>();
        ClaimLoop l = loop(worker, 2, claimed);
        Job queued = api.enqueue(move("vm0"));
        scheduler.advance(POLL.minusMillis(1), POLL);
        assertThat(store.job(queued.id()).orElseThrow().state()).isEqualTo(JobState.QUEUED);
        assertThat(claimed).isEmpty();
        scheduler.advance(Duration.ofMillis(1), POLL);
        assertThat(claimed).extracting(JobHandle::id).containsExactly(queued.id());
        assertThat(store.job(queued.id()).orElseThrow().owner()).isEqualTo("srv-a:1:aa");
        assertThat(l.running()).isEqualTo(1);
    }

    @Test
    void slots_boundHowManyRunAtOnce_theNextIsClaimedWhenOneEnds() throws Exception {
        Kvmigrate k = facade("srv-a:1:aa");
        List<JobHandle> claimed = new CopyOnWriteArrayList<>();
        ClaimLoop l = loop(k, 2, claimed);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) ids.add(k.enqueue(move("vm" + i)).id());
        assertThat(claimed).extracting(JobHandle::id).containsExactly(ids.get(0), ids.get(1));
        scheduler.advance(POLL.multipliedBy(3), POLL); // polls find the third, but both slots are taken
        assertThat(store.job(ids.get(2)).orElseThrow().state()).isEqualTo(JobState.QUEUED);
        assertThat(l.running()).isEqualTo(2);

        FakeHypervisor.FakeMigration first = migrating("vm0");
        migrating("vm1"); // both slots' moves are migrating at once
        assertThat(store.job(ids.get(2)).orElseThrow().state()).isEqualTo(JobState.QUEUED);
        first.succeed(DONE);
        claimed.get(0).outcome().get(10, TimeUnit.SECONDS);
        // the end freed a slot and woke the loop: no poll needed
        await(() -> claimed.size() == 3);
        assertThat(claimed.get(2).id()).isEqualTo(ids.get(2));
        migrating("vm1").succeed(DONE);
        migrating("vm2").succeed(DONE);
        for (JobHandle h : claimed) h.outcome().get(10, TimeUnit.SECONDS);
        await(() -> l.running() == 0);
        assertThat(hv.migrationPeaks().total()).as("most migrations at once").isEqualTo(2);
        assertThat(l.claimed()).isEqualTo(3);
    }

    @Test
    void twoControllersOnOneStore_eachQueuedMoveRunsExactlyOnce() throws Exception {
        hv.completeMigrationsAfter(vm -> Duration.ofMillis(50));
        Kvmigrate a = facade("srv-a:1:aa");
        Kvmigrate b = facade("srv-b:2:bb");
        List<JobHandle> byA = new CopyOnWriteArrayList<>();
        List<JobHandle> byB = new CopyOnWriteArrayList<>();
        loop(a, 1, byA);
        loop(b, 1, byB);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 6; i++) ids.add((i % 2 == 0 ? a : b).enqueue(move("vm" + i)).id());
        await(() -> {
            scheduler.advance(POLL, POLL);
            return ids.stream().allMatch(id -> store.job(id).orElseThrow().state().isTerminal());
        });
        for (String id : ids) {
            Job j = store.job(id).orElseThrow();
            assertThat(j.state()).as(id + " " + j.error()).isEqualTo(JobState.SUCCEEDED);
            assertThat(claims(id)).as("claims of " + id).singleElement().satisfies(e -> assertThat(e.data().get("owner")).isEqualTo(j.owner()));
        }
        List<String> all = new ArrayList<>();
        byA.forEach(h -> all.add(h.id()));
        byB.forEach(h -> all.add(h.id()));
        assertThat(all).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(ids);
        assertThat(byA).isNotEmpty();
        assertThat(byB).isNotEmpty();
        assertThat(hv.migrationPeaks().started()).as("hypervisor migrations started").isEqualTo(6);
        for (int i = 0; i < 6; i++) assertThat(dst.findVm("vm" + i)).as("vm" + i).isPresent();
    }

    @Test
    void enqueue_vmAlreadyQueuedOrRunning_vmBusyNamingThatJob_nothingQueued() {
        Kvmigrate a = facade("api-only:2:bb");
        Job first = a.enqueue(move("vm0"));
        assertThatThrownBy(() -> facade("other:3:cc").enqueue(move("vm0"))).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.VM_BUSY);
            assertThat(e.getMessage()).contains(first.id(), "queued, not claimed yet");
            assertThat(e.vm()).isEqualTo("vm0");
        });
        assertThat(store.jobs(JobFilter.all().state(JobState.QUEUED))).extracting(Job::id).containsExactly(first.id());
        assertThat(store.jobs(JobFilter.all().state(JobState.FAILED))).singleElement()
                .satisfies(j -> assertThat(j.error().code()).isEqualTo("VM_BUSY"));
        // bad input: thrown before anything is recorded
        assertThatThrownBy(() -> a.enqueue(move("vm1").withLimits(-1, 0, null))).isInstanceOfSatisfying(KvmigrateException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_INPUT));
        assertThat(store.jobs(JobFilter.all().vm("vm1"))).isEmpty();
    }

    @Test
    void claimNext_staleOwnedQueuedJobWithoutItsLock_vmHeldByAnotherJob_endsFailedVmBusyAndNothingMoves() {
        java.time.Instant longAgo = java.time.Instant.now().minusSeconds(60);
        // a running job holds vm0; a submitter that died between recording its job and locking the VM left a queued one
        Job holder = Job.queued("j-holder", JobKind.LIVE, "vm0", "uuid-vm0", "a", "b", move("vm0").asMap(), "alive:7:77", java.time.Instant.now());
        store.create(holder);
        store.lockVm(holder.vmKey(), holder.id(), "alive:7:77", java.time.Instant.now());
        store.update(holder.id(), "alive:7:77", io.kvmigrate.core.job.JobUpdate.state(JobState.RUNNING, java.time.Instant.now()));
        store.create(Job.queued("j-stale", JobKind.LIVE, "vm0", "uuid-vm0", "a", "b", move("vm0").asMap(), "dead:8:88", longAgo));
        Kvmigrate k = facade("srv-a:1:aa");
        assertThat(k.claimNext(null)).isEmpty();
        Job stale = store.job("j-stale").orElseThrow();
        assertThat(stale.state()).isEqualTo(JobState.FAILED);
        assertThat(stale.error().code()).isEqualTo("VM_BUSY");
        assertThat(stale.error().message()).contains("j-holder", "was not started");
        assertThat(started).isEmpty();
        assertThat(store.vmLock(holder.vmKey()).orElseThrow().jobId()).isEqualTo("j-holder");
    }

    @Test
    void cancel_ofAQueuedMoveFromAnyController_endsItAtOnceAndNoLoopRunsIt() {
        Kvmigrate api = facade("api-only:2:bb");
        Kvmigrate worker = facade("srv-a:1:aa");
        List<JobHandle> claimed = new CopyOnWriteArrayList<>();
        loop(worker, 2, claimed);
        Job queued = api.enqueue(move("vm0"));
        assertThat(worker.cancel(queued.id())).map(Job::state).contains(JobState.CANCELLED);
        scheduler.advance(POLL.multipliedBy(2), POLL);
        assertThat(claimed).isEmpty();
        assertThat(started).isEmpty();
        assertThat(store.vmLock(queued.vmKey())).isEmpty();
        // the VM is free again
        assertThat(api.enqueue(move("vm0")).state()).isEqualTo(JobState.QUEUED);
    }

    @Test
    void queuedRequest_readsBackEqualWithItsMaps_orIsRefusedBeforeQueueing() {
        MoveRequest copy = new MoveRequest("vm0", src.host(), dst.host(), JobKind.LIVE_COPY_STORAGE, PolicyKind.FINISH, 64, 200,
                Duration.ofSeconds(600), 0, true, Map.of("default", "fast", "slow", "big"), null, Set.of("CPU_FEATURES", "DISK_CACHE"),
                false, null, false, false, false, true, false, true).validate();
        Job row = Job.queued("j-1", copy.kind(), "vm0", null, "a", "b", copy.asMap(), null, java.time.Instant.EPOCH);
        assertThat(QueuedMoves.request(row)).isEqualTo(copy);
        MoveRequest odd = new MoveRequest("vm0", src.host(), dst.host(), JobKind.LIVE_COPY_STORAGE, PolicyKind.SAFE, 0, 0, null, 0, false,
                Map.of("a, b", "c"), null, Set.of(), false, null, false, false, false, false, false);
        Kvmigrate k = facade("api-only:2:bb");
        assertThatThrownBy(() -> k.enqueue(odd)).isInstanceOfSatisfying(KvmigrateException.class, e -> assertThat(e.getMessage()).contains("{mapPool}"));
        assertThat(store.jobs(JobFilter.all())).isEmpty();
    }

    @Test
    void claimNext_nothingQueued_isEmpty_andAStoreThatFailsIsReportedNotFatal() {
        Kvmigrate k = facade("srv-a:1:aa");
        assertThat(k.claimNext(null)).isEqualTo(Optional.empty());
        List<RuntimeException> errors = new CopyOnWriteArrayList<>();
        Kvmigrate broken = Kvmigrate.configure().connector(hv).rewriter((xml, disks, nets) -> xml).store(() -> {
            throw new KvmigrateException(ErrorCode.STORE_FAILED, "store", null, null, "down", "start it");
        }).owner("srv-x:9:99").load();
        ClaimLoop l = new ClaimLoop(broken, 1, scheduler, POLL, Runnable::run).onError(errors::add);
        closing.add(0, l);
        scheduler.advance(POLL.multipliedBy(2), POLL);
        assertThat(errors).hasSize(2).allSatisfy(e -> assertThat(((KvmigrateException) e).code()).isEqualTo(ErrorCode.STORE_FAILED));
    }
}
