package io.kvmigrate.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobError;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.core.job.JobFigures;
import io.kvmigrate.core.job.JobFilter;
import io.kvmigrate.core.job.JobKind;
import io.kvmigrate.core.job.JobPlacement;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.core.job.JobStore;
import io.kvmigrate.core.job.JobUpdate;
import io.kvmigrate.core.job.VmLock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Everything a {@link JobStore} promises, run against each implementation. {@link #open()} opens one more instance on
 * the same data, which for a database store is what a second process sees: two instances never share a connection.
 */
abstract class JobStoreContract {
    static final Instant T0 = Instant.parse("2026-12-01T10:00:00.123456789Z");
    static final Duration LEASE = Duration.ofSeconds(30);
    private final List<JobStore> opened = new CopyOnWriteArrayList<>();

    /** A new instance on this test's (initially empty) data. */
    protected abstract JobStore openInstance();

    JobStore open() {
        JobStore s = openInstance();
        opened.add(s);
        return s;
    }

    @AfterEach
    void closeStores() {
        opened.forEach(JobStore::close);
    }

    static Job queued(String id, String vm, String owner, Instant at) {
        return Job.queued(id, JobKind.LIVE, vm, "UUID-" + vm, "kvm1", "kvm2", Map.of("policy", "finish"), owner, at);
    }

    static Job running(JobStore s, String id, String vm, String owner, Instant at) {
        s.create(queued(id, vm, owner, at));
        assertThat(s.update(id, owner, JobUpdate.state(JobState.RUNNING, at))).isTrue();
        return s.job(id).orElseThrow();
    }

    // ---- create and read

    @Test
    void create_fullJob_readsBackEqualFromAnotherInstance() {
        JobStore a = open();
        Job job = new Job("j-1", JobKind.LIVE_COPY_STORAGE, "web01", "4f2a-uuid", "kvm1", "kvm2",
                Map.of("policy", "finish", "bandwidthMiBps", "40"), JobState.RUNNING, "transfer", "ctl-a", T0, T0.plusMillis(5),
                null, T0.plusSeconds(1), true, new JobFigures(1200L, 35L, 1L << 33, 4L, null),
                JobPlacement.known(List.of("kvm1"), List.of("kvm1", "kvm2")),
                new JobError("MIGRATION_FAILED", "transfer", "kvm2", "web01", "QEMU quit: \"x\"\nline 2", "Look at the log"));
        a.create(job);

        Job read = open().job("j-1").orElseThrow();
        assertThat(read).isEqualTo(job);
        assertThat(read.createdAt()).isEqualTo(Instant.parse("2026-12-01T10:00:00.123Z"));
        assertThat(read.request()).containsExactly(Map.entry("bandwidthMiBps", "40"), Map.entry("policy", "finish"));
    }

    @Test
    void create_queuedJobWithUnknownPlacement_readsBackEqual() {
        JobStore a = open();
        Job job = new Job("j-2", JobKind.OFFLINE, "db", null, "a", "b", Map.of(), JobState.QUEUED, null, null, T0, null, null, null,
                false, JobFigures.NONE, JobPlacement.unknown("kvm2 unreachable"), null);
        a.create(job);
        assertThat(a.job("j-2")).contains(job);
    }

    @Test
    void create_existingId_throwsAndKeepsTheFirst() {
        JobStore a = open();
        a.create(queued("j-1", "web01", null, T0));
        assertThatThrownBy(() -> open().create(queued("j-1", "other", null, T0))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("j-1");
        assertThat(a.job("j-1").orElseThrow().vmName()).isEqualTo("web01");
    }

    @Test
    void job_unknownId_isEmpty() {
        assertThat(open().job("j-nope")).isEmpty();
        assertThat(open().events("j-nope", 0)).isEmpty();
        assertThat(open().cancelRequested("j-nope")).isFalse();
    }

    @Test
    void jobs_filters_matchVmByNameOrUuid_hostEitherEnd_state_newestFirstWithLimit() {
        JobStore s = open();
        s.create(Job.queued("j-1", JobKind.LIVE, "web01", "u-web01", "kvm1", "kvm2", null, null, T0));
        s.create(Job.queued("j-2", JobKind.LIVE, "db", "u-db", "kvm2", "kvm3", null, null, T0.plusSeconds(1)));
        s.create(Job.queued("j-3", JobKind.OFFLINE, "web01", "u-web01", "kvm3", "kvm1", null, "o", T0.plusSeconds(2)));
        s.update("j-3", "o", JobUpdate.state(JobState.FAILED, T0.plusSeconds(3)));
        // Same creation time: ids break the tie, so the order is stable.
        s.create(Job.queued("j-4", JobKind.LIVE, "cache", null, "kvm1", "kvm3", null, null, T0.plusSeconds(2)));

        assertThat(ids(s.jobs(JobFilter.all()))).containsExactly("j-4", "j-3", "j-2", "j-1");
        assertThat(ids(s.jobs(JobFilter.all().vm("web01")))).containsExactly("j-3", "j-1");
        assertThat(ids(s.jobs(JobFilter.all().vm("u-db")))).containsExactly("j-2");
        assertThat(ids(s.jobs(JobFilter.all().host("kvm2")))).containsExactly("j-2", "j-1");
        assertThat(ids(s.jobs(JobFilter.all().state(JobState.FAILED)))).containsExactly("j-3");
        assertThat(ids(s.jobs(JobFilter.all().host("kvm1").state(JobState.QUEUED)))).containsExactly("j-4", "j-1");
        assertThat(ids(s.jobs(JobFilter.all().limit(2)))).containsExactly("j-4", "j-3");
        assertThat(s.jobs(JobFilter.all().vm("nope"))).isEmpty();
    }

    @Test
    void jobs_valueLikeSql_isMatchedLiterallyNotExecuted() {
        JobStore s = open();
        s.create(queued("j-1", "x' OR '1'='1", null, T0));
        s.create(queued("j-2", "y", null, T0));
        assertThat(ids(s.jobs(JobFilter.all().vm("x' OR '1'='1")))).containsExactly("j-1");
        assertThat(ids(s.jobs(JobFilter.all().vm("' OR 1=1 --")))).isEmpty();
    }

    // ---- update

    @Test
    void update_byOwner_setsStartOnceMergesFiguresAndEndsWithErrorAndPlacement() {
        JobStore s = open();
        s.create(queued("j-1", "web01", "o", T0));
        assertThat(s.update("j-1", "o", JobUpdate.state(JobState.RUNNING, T0.plusSeconds(1)).withPhase("resolve"))).isTrue();
        assertThat(s.update("j-1", "o", JobUpdate.phase("transfer").withFigures(new JobFigures(null, null, 100L, 1L, 9000L)))).isTrue();
        assertThat(s.update("j-1", "o", JobUpdate.state(JobState.RUNNING, T0.plusSeconds(9)))).isTrue(); // start stays
        assertThat(s.update("j-1", "o", JobUpdate.figures(new JobFigures(null, null, 500L, 3L, null)))).isTrue();
        JobError err = new JobError("TIMEOUT", "transfer", "kvm1", "web01", "Timed out", null);
        assertThat(s.update("j-1", "o", JobUpdate.state(JobState.FAILED, T0.plusSeconds(20)).withError(err)
                .withFigures(new JobFigures(20_000L, null, null, null, null))
                .withPlacement(JobPlacement.known(List.of("kvm1"), List.of("kvm1"))))).isTrue();

        Job j = open().job("j-1").orElseThrow();
        assertThat(j.state()).isEqualTo(JobState.FAILED);
        assertThat(j.phase()).isEqualTo("transfer");
        assertThat(j.startedAt()).isEqualTo(ms(T0.plusSeconds(1)));
        assertThat(j.endedAt()).isEqualTo(ms(T0.plusSeconds(20)));
        assertThat(j.figures()).isEqualTo(new JobFigures(20_000L, null, 500L, 3L, 9000L));
        assertThat(j.error()).isEqualTo(err);
        assertThat(j.placement().runningOn()).containsExactly("kvm1");
    }

    @Test
    void update_byAnotherOwner_orUnownedJob_isRefusedAndChangesNothing() {
        JobStore s = open();
        s.create(queued("j-1", "web01", "o", T0));
        s.create(queued("j-2", "db", null, T0));
        assertThat(open().update("j-1", "intruder", JobUpdate.state(JobState.RUNNING, T0))).isFalse();
        assertThat(s.update("j-2", "o", JobUpdate.state(JobState.RUNNING, T0))).isFalse();
        assertThat(s.update("j-nope", "o", JobUpdate.phase("x"))).isFalse();
        assertThat(s.job("j-1").orElseThrow().state()).isEqualTo(JobState.QUEUED);
        assertThat(s.job("j-2").orElseThrow().state()).isEqualTo(JobState.QUEUED);
    }

    @Test
    void update_afterTerminalState_isRefused() {
        JobStore s = open();
        running(s, "j-1", "web01", "o", T0);
        assertThat(s.update("j-1", "o", JobUpdate.state(JobState.SUCCEEDED, T0.plusSeconds(5)))).isTrue();
        assertThat(s.update("j-1", "o", JobUpdate.state(JobState.FAILED, T0.plusSeconds(6)))).isFalse();
        assertThat(s.update("j-1", "o", JobUpdate.phase("cleanup"))).isFalse();
        assertThat(s.heartbeat("j-1", "o", T0.plusSeconds(7))).isFalse();
        Job j = s.job("j-1").orElseThrow();
        assertThat(j.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(j.endedAt()).isEqualTo(ms(T0.plusSeconds(5)));
    }

    // ---- events

    @Test
    void append_assignsSeqFromOnePerJob_andEventsReadBackInOrderAfterSeq() {
        JobStore s = open();
        s.create(queued("j-1", "web01", "o", T0));
        s.create(queued("j-2", "db", "o", T0));
        Map<String, Object> data = Map.of("bytes", 5L, "int", 7, "ratio", 0.25, "ok", true, "hosts", List.of("kvm1", "kvm2"),
                "nested", Map.of("k", List.of(1L, Map.of("deep", "x"))));
        JobEvent e1 = s.append(JobEvent.of("j-1", T0, JobEvent.STEP, "resolve", "Resolving web01", null));
        JobEvent e2 = s.append(JobEvent.of("j-1", T0.plusMillis(10), JobEvent.PROGRESS, "transfer", "42%", data));
        JobEvent other = open().append(JobEvent.of("j-2", T0, JobEvent.LOG, null, "hello", Map.of()));
        JobEvent e3 = open().append(JobEvent.of("j-1", T0.plusMillis(20), JobEvent.DECISION, "transfer", "post-copy: stalled",
                Map.of("reason", "dirty rate 900 MiB/s > bandwidth")));

        assertThat(List.of(e1.seq(), e2.seq(), e3.seq(), other.seq())).containsExactly(1L, 2L, 3L, 1L);
        assertThat(s.events("j-1", 0)).containsExactly(e1, e2, e3);
        assertThat(s.events("j-1", 1)).containsExactly(e2, e3);
        assertThat(s.events("j-1", 3)).isEmpty();
        JobEvent read = open().events("j-1", 1).get(0);
        assertThat(read.data()).isEqualTo(e2.data());
        assertThat(read.data().get("int")).isEqualTo(7L);
        assertThat(read.step()).isEqualTo("transfer");
        assertThat(s.events("j-2", 0)).containsExactly(other);
    }

    @Test
    void append_toUnknownJob_throws() {
        assertThatThrownBy(() -> open().append(JobEvent.of("j-nope", T0, JobEvent.LOG, null, "x", null)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("j-nope");
    }

    @Test
    void append_afterJobEnded_isKept() {
        JobStore s = open();
        running(s, "j-1", "web01", "o", T0);
        s.update("j-1", "o", JobUpdate.state(JobState.SUCCEEDED, T0));
        assertThat(s.append(JobEvent.of("j-1", T0, JobEvent.LOG, null, "late", null)).seq()).isEqualTo(1L);
    }

    @Test
    void append_concurrentThreadsOnTwoInstances_seqsContiguousUniqueAndInOrderPerThread() throws Exception {
        JobStore a = open();
        JobStore b = open();
        a.create(queued("j-1", "web01", "o", T0));
        int threads = 4;
        int each = 25;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<List<Long>>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                JobStore s = t % 2 == 0 ? a : b;
                int thread = t;
                results.add(pool.submit(() -> {
                    go.await();
                    List<Long> seqs = new ArrayList<>();
                    for (int i = 0; i < each; i++) {
                        seqs.add(s.append(JobEvent.of("j-1", T0, JobEvent.LOG, null, "t" + thread + "-" + i, null)).seq());
                    }
                    return seqs;
                }));
            }
            go.countDown();
            Set<Long> all = new HashSet<>();
            for (Future<List<Long>> f : results) {
                List<Long> seqs = f.get(120, TimeUnit.SECONDS);
                assertThat(seqs).isSorted();
                all.addAll(seqs);
            }
            assertThat(all).hasSize(threads * each);
            List<JobEvent> events = a.events("j-1", 0);
            assertThat(events).extracting(JobEvent::seq).containsExactlyElementsOf(range(1, threads * each));
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- cancel

    @Test
    void requestCancel_runningJob_setsFlagSeenByOwnerAndSurvivesOwnersLaterWrites() {
        JobStore owner = open();
        running(owner, "j-1", "web01", "o", T0);
        Job after = open().requestCancel("j-1", T0.plusSeconds(1)).orElseThrow();
        assertThat(after.state()).isEqualTo(JobState.RUNNING);
        assertThat(after.cancelRequested()).isTrue();
        assertThat(owner.cancelRequested("j-1")).isTrue();

        owner.update("j-1", "o", JobUpdate.phase("transfer").withFigures(new JobFigures(null, null, 1L, null, null)));
        owner.heartbeat("j-1", "o", T0.plusSeconds(2));
        assertThat(owner.cancelRequested("j-1")).isTrue();
        assertThat(owner.update("j-1", "o", JobUpdate.state(JobState.CANCELLED, T0.plusSeconds(3)))).isTrue();
        assertThat(owner.job("j-1").orElseThrow().state()).isEqualTo(JobState.CANCELLED);
    }

    @Test
    void requestCancel_queuedJob_cancelsAtOnceReleasesLockAndOwnerCannotStartIt() {
        JobStore owner = open();
        owner.create(queued("j-1", "web01", "o", T0));
        assertThat(owner.lockVm("uuid:web01", "j-1", "o", T0)).isTrue();
        Job after = open().requestCancel("j-1", T0.plusSeconds(1)).orElseThrow();
        assertThat(after.state()).isEqualTo(JobState.CANCELLED);
        assertThat(after.endedAt()).isEqualTo(ms(T0.plusSeconds(1)));
        assertThat(after.startedAt()).isNull();
        assertThat(owner.job("j-1")).contains(after);
        assertThat(owner.vmLock("uuid:web01")).isEmpty();
        assertThat(owner.update("j-1", "o", JobUpdate.state(JobState.RUNNING, T0.plusSeconds(2)))).isFalse();
        assertThat(owner.claimQueued("c", T0.plusSeconds(99), LEASE)).isEmpty();
    }

    @Test
    void requestCancel_endedJob_unchanged_unknownJob_empty() {
        JobStore s = open();
        running(s, "j-1", "web01", "o", T0);
        s.update("j-1", "o", JobUpdate.state(JobState.SUCCEEDED, T0.plusSeconds(1)));
        Job before = s.job("j-1").orElseThrow();
        assertThat(s.requestCancel("j-1", T0.plusSeconds(5))).contains(before);
        assertThat(s.requestCancel("j-nope", T0)).isEmpty();
    }

    // ---- heartbeats, orphans, adoption

    @Test
    void heartbeat_byOwnerMovesIt_byOthersRefused() {
        JobStore s = open();
        running(s, "j-1", "web01", "o", T0);
        assertThat(s.heartbeat("j-1", "o", T0.plusSeconds(10))).isTrue();
        assertThat(open().heartbeat("j-1", "other", T0.plusSeconds(20))).isFalse();
        assertThat(s.heartbeat("j-nope", "o", T0)).isFalse();
        assertThat(s.job("j-1").orElseThrow().heartbeatAt()).isEqualTo(ms(T0.plusSeconds(10)));
    }

    @Test
    void orphans_areLiveOwnedJobsSilentLongerThanTheLease() {
        JobStore s = open();
        running(s, "j-stale", "a", "dead", T0);
        running(s, "j-fresh", "b", "alive", T0);
        s.heartbeat("j-fresh", "alive", T0.plusSeconds(50));
        s.create(queued("j-unclaimed", "c", null, T0));
        s.create(queued("j-queued-stale", "d", "dead", T0));
        running(s, "j-ended", "e", "dead", T0);
        s.update("j-ended", "dead", JobUpdate.state(JobState.FAILED, T0.plusSeconds(1)));
        running(s, "j-edge", "f", "dead", T0.plusSeconds(30)); // silent exactly the lease: not yet

        assertThat(ids(open().orphans(T0.plusSeconds(60), LEASE))).containsExactly("j-queued-stale", "j-stale");
        assertThat(ids(open().orphans(T0.plusMillis(60_001), LEASE))).containsExactly("j-queued-stale", "j-stale", "j-edge");
    }

    @Test
    void adopt_twoRacingAdopters_exactlyOneWinsEachTime() throws Exception {
        JobStore a = open();
        JobStore b = open();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int i = 0; i < 10; i++) {
                String id = "j-" + i;
                running(a, id, "vm" + i, "dead", T0);
                a.lockVm("uuid:vm" + i, id, "dead", T0);
                Instant now = T0.plusSeconds(60);
                List<Boolean> won = race(pool, () -> a.adopt(id, "dead", "A", now, LEASE), () -> b.adopt(id, "dead", "B", now, LEASE));
                assertThat(won).as("adopters of %s", id).containsExactlyInAnyOrder(true, false);
                String winner = won.get(0) ? "A" : "B";
                Job j = b.job(id).orElseThrow();
                assertThat(j.owner()).isEqualTo(winner);
                assertThat(j.heartbeatAt()).isEqualTo(ms(now));
                // The lock went with the job.
                assertThat(a.vmLock("uuid:vm" + i).map(VmLock::owner)).contains(winner);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void adopt_whileOwnerAlive_orWrongExpectedOwner_orEnded_isRefused() {
        JobStore s = open();
        running(s, "j-1", "web01", "o", T0);
        s.heartbeat("j-1", "o", T0.plusSeconds(40));
        assertThat(s.adopt("j-1", "o", "n", T0.plusSeconds(60), LEASE)).isFalse();
        assertThat(s.adopt("j-1", "someone", "n", T0.plusSeconds(90), LEASE)).isFalse();
        running(s, "j-2", "db", "o", T0);
        s.update("j-2", "o", JobUpdate.state(JobState.SUCCEEDED, T0));
        assertThat(s.adopt("j-2", "o", "n", T0.plusSeconds(90), LEASE)).isFalse();
        assertThat(s.job("j-1").orElseThrow().owner()).isEqualTo("o");
    }

    @Test
    void adopt_oldOwnerComingBack_isFencedOffAndItsLocksFollowTheJob() {
        JobStore old = open();
        JobStore adopter = open();
        running(old, "j-1", "web01", "old", T0);
        assertThat(old.lockVm("uuid:web01", "j-1", "old", T0)).isTrue();
        assertThat(adopter.adopt("j-1", "old", "new", T0.plusSeconds(60), LEASE)).isTrue();

        assertThat(old.heartbeat("j-1", "old", T0.plusSeconds(61))).isFalse();
        assertThat(old.update("j-1", "old", JobUpdate.state(JobState.FAILED, T0.plusSeconds(61)))).isFalse();
        assertThat(old.unlockVm("uuid:web01", "j-1", "old")).isFalse();
        assertThat(old.vmLock("uuid:web01")).map(VmLock::owner).contains("new");
        assertThat(adopter.lockVm("uuid:web01", "j-1", "new", T0.plusSeconds(62))).isTrue();
        assertThat(adopter.heartbeat("j-1", "new", T0.plusSeconds(62))).isTrue();
        assertThat(adopter.update("j-1", "new", JobUpdate.state(JobState.SUCCEEDED, T0.plusSeconds(63)))).isTrue();
        assertThat(adopter.vmLock("uuid:web01")).isEmpty();
    }

    // ---- claims

    @Test
    void claimQueued_takesOldestUnownedOrStale_skipsFreshOwned_andStartsIt() {
        JobStore s = open();
        s.create(queued("j-fresh-owned", "a", "alive", T0.plusSeconds(50)));
        s.create(queued("j-new", "b", null, T0.plusSeconds(2)));
        s.create(queued("j-old", "c", null, T0.plusSeconds(1)));
        s.create(queued("j-stale-owned", "d", "dead", T0.plusSeconds(3)));
        running(s, "j-running", "e", "o", T0);
        Instant now = T0.plusSeconds(60);

        Job first = open().claimQueued("ctl", now, LEASE).orElseThrow();
        assertThat(first.id()).isEqualTo("j-old");
        assertThat(first.state()).isEqualTo(JobState.RUNNING);
        assertThat(first.owner()).isEqualTo("ctl");
        assertThat(first.startedAt()).isEqualTo(ms(now));
        assertThat(first.heartbeatAt()).isEqualTo(first.startedAt());
        assertThat(s.job("j-old")).contains(first);
        assertThat(s.claimQueued("ctl", now, LEASE).map(Job::id)).contains("j-new");
        assertThat(s.claimQueued("ctl", now, LEASE).map(Job::id)).contains("j-stale-owned");
        assertThat(s.claimQueued("ctl", now, LEASE)).isEmpty();
    }

    @Test
    void claimQueued_fromTwoInstancesAtOnce_neverGivesOneJobTwice() throws Exception {
        JobStore a = open();
        JobStore b = open();
        int jobs = 30;
        for (int i = 0; i < jobs; i++) a.create(queued(String.format("j-%02d", i), "vm" + i, null, T0.plusMillis(i)));
        ExecutorService pool = Executors.newFixedThreadPool(4);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<List<String>>> results = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                JobStore s = t % 2 == 0 ? a : b;
                String owner = "ctl-" + t;
                results.add(pool.submit(() -> {
                    go.await();
                    List<String> got = new ArrayList<>();
                    for (var j = s.claimQueued(owner, T0.plusSeconds(1), LEASE); j.isPresent(); j = s.claimQueued(owner, T0.plusSeconds(1), LEASE)) {
                        assertThat(j.get().owner()).isEqualTo(owner);
                        got.add(j.get().id());
                    }
                    return got;
                }));
            }
            go.countDown();
            List<String> all = new ArrayList<>();
            for (Future<List<String>> f : results) all.addAll(f.get(120, TimeUnit.SECONDS));
            assertThat(all).doesNotHaveDuplicates().hasSize(jobs);
            assertThat(a.jobs(JobFilter.all().state(JobState.QUEUED))).isEmpty();
            for (Job j : a.jobs(JobFilter.all())) assertThat(results.get(Integer.parseInt(j.owner().substring(4))).get()).contains(j.id());
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- queued jobs with their VM's lock (enqueue)

    @Test
    void enqueue_locksTheVmForTheQueuedJob_secondRefusedAndNotRecorded_claimerGetsJobAndLock() {
        JobStore a = open();
        JobStore b = open();
        assertThat(a.enqueue(queued("j-q1", "web01", null, T0), "uuid:web01")).isTrue();
        assertThat(b.vmLock("uuid:web01")).hasValueSatisfying(l -> {
            assertThat(l.jobId()).isEqualTo("j-q1");
            assertThat(l.owner()).isNull();
        });
        // a second queued move and a running job's lock are both refused while the queued job holds the VM
        assertThat(b.enqueue(queued("j-q2", "web01", null, T0.plusSeconds(1)), "uuid:web01")).isFalse();
        assertThat(a.job("j-q2")).isEmpty();
        running(b, "j-r", "web01", "other", T0.plusSeconds(2));
        assertThat(b.lockVm("uuid:web01", "j-r", "other", T0.plusSeconds(2))).isFalse();

        Job claimed = b.claimQueued("ctl", T0.plusSeconds(3), LEASE).orElseThrow();
        assertThat(claimed.id()).isEqualTo("j-q1");
        assertThat(a.vmLock("uuid:web01")).map(VmLock::owner).contains("ctl");
        assertThat(b.update("j-q1", "ctl", JobUpdate.state(JobState.SUCCEEDED, T0.plusSeconds(4)))).isTrue();
        assertThat(a.vmLock("uuid:web01")).isEmpty();
        assertThat(a.enqueue(queued("j-q3", "web01", null, T0.plusSeconds(5)), "uuid:web01")).isTrue();
    }

    @Test
    void enqueue_thenCancelWhileQueued_cancelsAndReleasesTheLock_nobodyClaimsIt() {
        JobStore a = open();
        assertThat(a.enqueue(queued("j-q", "web01", null, T0), "uuid:web01")).isTrue();
        assertThat(open().requestCancel("j-q", T0.plusSeconds(1))).map(Job::state).contains(JobState.CANCELLED);
        assertThat(a.vmLock("uuid:web01")).isEmpty();
        assertThat(a.claimQueued("ctl", T0.plusSeconds(2), LEASE)).isEmpty();
    }

    @Test
    void enqueue_ownedJobOrExistingId_throws() {
        JobStore a = open();
        assertThatThrownBy(() -> a.enqueue(queued("j-o", "web01", "me", T0), "uuid:web01")).isInstanceOf(IllegalArgumentException.class);
        a.create(queued("j-x", "db01", null, T0));
        assertThatThrownBy(() -> a.enqueue(queued("j-x", "web01", null, T0), "uuid:web01")).isInstanceOf(IllegalArgumentException.class);
        assertThat(a.vmLock("uuid:web01")).isEmpty();
    }

    @Test
    void enqueue_racingOnTwoInstances_exactlyOneQueuedPerVm() throws Exception {
        JobStore a = open();
        JobStore b = open();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int i = 0; i < 10; i++) {
                String key = "uuid:vm" + i;
                int n = i;
                List<Boolean> won = race(pool, () -> a.enqueue(queued("j-a" + n, "vm" + n, null, T0), key),
                        () -> b.enqueue(queued("j-b" + n, "vm" + n, null, T0), key));
                assertThat(won).as("enqueuers of %s", key).containsExactlyInAnyOrder(true, false);
                String winner = won.get(0) ? "j-a" + i : "j-b" + i;
                assertThat(a.vmLock(key).orElseThrow().jobId()).isEqualTo(winner);
                assertThat(a.jobs(JobFilter.all().vm("vm" + i))).extracting(Job::id).containsExactly(winner);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- VM locks

    @Test
    void lockVm_isExclusiveAcrossInstances_untilReleased() {
        JobStore one = open();
        JobStore two = open();
        running(one, "j-1", "web01", "p1", T0);
        running(two, "j-2", "web01", "p2", T0);
        assertThat(one.lockVm("uuid:web01", "j-1", "p1", T0)).isTrue();
        assertThat(two.lockVm("uuid:web01", "j-2", "p2", T0.plusSeconds(1))).isFalse();
        assertThat(two.vmLock("uuid:web01")).contains(new VmLock("uuid:web01", "j-1", "p1", T0));
        assertThat(one.lockVm("uuid:web01", "j-1", "p1", T0.plusSeconds(2))).as("same job again").isTrue();
        assertThat(two.lockVm("uuid:other", "j-2", "p2", T0)).as("another VM").isTrue();

        assertThat(two.unlockVm("uuid:web01", "j-2", "p2")).as("not its lock").isFalse();
        assertThat(one.unlockVm("uuid:web01", "j-1", "wrong-owner")).isFalse();
        assertThat(one.unlockVm("uuid:web01", "j-1", "p1")).isTrue();
        assertThat(one.vmLock("uuid:web01")).isEmpty();
        assertThat(two.lockVm("uuid:web01", "j-2", "p2", T0.plusSeconds(3))).isTrue();
    }

    @Test
    void lockVm_heldByEndedJob_isTakenOver_andEndingReleasesLocks() {
        JobStore s = open();
        running(s, "j-1", "web01", "p1", T0);
        running(s, "j-2", "web01", "p2", T0);
        assertThat(s.lockVm("uuid:web01", "j-1", "p1", T0)).isTrue();
        assertThat(s.lockVm("name:kvm1/web01", "j-1", "p1", T0)).isTrue();
        assertThat(s.update("j-1", "p1", JobUpdate.state(JobState.SUCCEEDED, T0.plusSeconds(1)))).isTrue();
        assertThat(s.vmLock("uuid:web01")).isEmpty();
        assertThat(s.vmLock("name:kvm1/web01")).isEmpty();
        assertThat(s.lockVm("uuid:web01", "j-2", "p2", T0.plusSeconds(2))).isTrue();
    }

    @Test
    void lockVm_forJobNotOwnedOrEnded_isRefused() {
        JobStore s = open();
        running(s, "j-1", "web01", "p1", T0);
        assertThat(s.lockVm("uuid:web01", "j-1", "someone-else", T0)).isFalse();
        assertThat(s.lockVm("uuid:web01", "j-nope", "p1", T0)).isFalse();
        s.update("j-1", "p1", JobUpdate.state(JobState.FAILED, T0));
        assertThat(s.lockVm("uuid:web01", "j-1", "p1", T0)).isFalse();
        assertThat(s.vmLock("uuid:web01")).isEmpty();
    }

    @Test
    void lockVm_racingJobsOnTwoInstances_exactlyOneHoldsIt() throws Exception {
        JobStore a = open();
        JobStore b = open();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int i = 0; i < 10; i++) {
                String key = "uuid:vm" + i;
                running(a, "j-a" + i, "vm" + i, "A", T0);
                running(b, "j-b" + i, "vm" + i, "B", T0);
                int n = i;
                List<Boolean> won = race(pool, () -> a.lockVm(key, "j-a" + n, "A", T0), () -> b.lockVm(key, "j-b" + n, "B", T0));
                assertThat(won).as("lockers of %s", key).containsExactlyInAnyOrder(true, false);
                assertThat(a.vmLock(key).orElseThrow().jobId()).isEqualTo(won.get(0) ? "j-a" + i : "j-b" + i);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- durability

    // ---- hosts in maintenance

    @Test
    void setMaintenance_onThenOff_isSeenByAnotherInstanceAndKeptOnce() {
        JobStore a = open();
        JobStore b = open();
        assertThat(a.maintenance()).isEmpty();
        assertThat(a.setMaintenance("kvm2", "qemu+ssh://root@kvm2/system", true, T0)).isTrue();
        assertThat(b.setMaintenance("kvm2", "qemu+ssh://root@kvm2/system", true, T0.plusSeconds(5))).isFalse();
        assertThat(b.maintenance()).containsExactly(new io.kvmigrate.core.job.HostMaintenance("kvm2", "qemu+ssh://root@kvm2/system", T0));
        assertThat(b.setMaintenance("kvm1", "qemu+ssh://root@kvm1/system", true, T0)).isTrue();
        assertThat(a.maintenance()).extracting(io.kvmigrate.core.job.HostMaintenance::host).containsExactly("kvm1", "kvm2");
        assertThat(a.setMaintenance("kvm2", "qemu+ssh://root@kvm2/system", false, T0)).isTrue();
        assertThat(a.setMaintenance("kvm2", "qemu+ssh://root@kvm2/system", false, T0)).isFalse();
        assertThat(b.maintenance()).extracting(io.kvmigrate.core.job.HostMaintenance::host).containsExactly("kvm1");
    }

    // ---- a job of jobs (a drain and its moves)

    @Test
    void setParent_childrenListedOldestFirst_seenByAnotherInstance_andKeptThroughTheChildsOwnChanges() {
        JobStore a = open();
        JobStore b = open();
        a.create(new Job("d-1", io.kvmigrate.core.job.JobKind.EVACUATION, "kvm1 (2 VMs)", null, "kvm1", "kvm2,kvm3", null, JobState.QUEUED, null,
                "o", T0, null, null, T0, false, null, null, null));
        running(a, "m-2", "db01", "o", T0.plusSeconds(2));
        running(a, "m-1", "web01", "o", T0.plusSeconds(1));
        running(a, "other", "web02", "o", T0);
        assertThat(a.setParent("m-2", "d-1")).isTrue();
        assertThat(b.setParent("m-1", "d-1")).isTrue();
        assertThat(a.setParent("m-1", "no-such-job")).isFalse();
        assertThat(a.setParent("no-such-job", "d-1")).isFalse();
        // the child's own writes (its whole row) keep the link
        assertThat(a.update("m-1", "o", JobUpdate.state(JobState.SUCCEEDED, T0.plusSeconds(9)))).isTrue();
        assertThat(b.children("d-1")).extracting(Job::id).containsExactly("m-1", "m-2");
        assertThat(b.children("d-1").get(0).state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(b.parentOf("m-2")).contains("d-1");
        assertThat(b.parentOf("other")).isEmpty();
        assertThat(b.children("other")).isEmpty();
        assertThat(b.job("d-1").orElseThrow().kind()).isEqualTo(io.kvmigrate.core.job.JobKind.EVACUATION);
    }

    @Test
    void close_thenOpenAgain_everythingIsStillThere() {
        JobStore s = openInstance();
        running(s, "j-1", "web01", "o", T0);
        s.append(JobEvent.of("j-1", T0, JobEvent.STEP, "resolve", "r", null));
        s.lockVm("uuid:web01", "j-1", "o", T0);
        s.requestCancel("j-1", T0);
        Job before = s.job("j-1").orElseThrow();
        s.close();

        JobStore again = open();
        assertThat(again.job("j-1")).contains(before);
        assertThat(again.events("j-1", 0)).hasSize(1);
        assertThat(again.vmLock("uuid:web01")).isPresent();
        assertThat(again.append(JobEvent.of("j-1", T0, JobEvent.LOG, null, "next", null)).seq()).isEqualTo(2L);
    }

    // ---- helpers

    /** Runs both at once (released together) and returns their results in order. */
    static List<Boolean> race(ExecutorService pool, Callable<Boolean> first, Callable<Boolean> second) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        Future<Boolean> f1 = pool.submit(() -> {
            go.await();
            return first.call();
        });
        Future<Boolean> f2 = pool.submit(() -> {
            go.await();
            return second.call();
        });
        go.countDown();
        return List.of(f1.get(60, TimeUnit.SECONDS), f2.get(60, TimeUnit.SECONDS));
    }

    static Instant ms(Instant t) {
        return t.truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
    }

    static List<String> ids(List<Job> jobs) {
        return jobs.stream().map(Job::id).toList();
    }

    static List<Long> range(long from, long toInclusive) {
        List<Long> out = new ArrayList<>();
        for (long i = from; i <= toInclusive; i++) out.add(i);
        return out;
    }
}
