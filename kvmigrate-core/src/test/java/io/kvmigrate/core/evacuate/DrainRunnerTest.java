package io.kvmigrate.core.evacuate;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.api.JobHandle;
import io.kvmigrate.core.api.MoveRequest;
import io.kvmigrate.core.engine.EventListener;
import io.kvmigrate.core.engine.MigrationEvent;
import io.kvmigrate.core.engine.Phase;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobKind;
import io.kvmigrate.core.job.JobPlacement;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.plan.PolicyKind;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The runner's division of the total on a scripted facade: every cap it sets and every move it submits is checked against
 * the total at that instant (the caps of the moves running add up to at most the total, always), and the division is
 * work-conserving: a move still checking keeps the floor, the sending ones share the rest, and a move's end gives its part
 * to the others.
 */
@Timeout(30)
class DrainRunnerTest {
    static final long MIB = 1 << 20;
    static final long TOTAL = 90;
    /** A clock the test moves by hand. */
    static final class HandClock extends Clock {
        volatile Instant now = Instant.parse("2026-12-01T12:00:00Z");

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    private final HandClock clock = new HandClock();

    /** A facade that runs nothing: jobs end when the test says, and every cap change is checked against the total. */
    static final class ScriptedMoves implements DrainMoves {
        final Map<String, Long> caps = new LinkedHashMap<>();
        final Map<String, EventListener> listeners = new LinkedHashMap<>();
        final Map<String, CompletableFuture<JobHandle.Outcome>> outcomes = new LinkedHashMap<>();
        final Map<String, MoveRequest> requests = new LinkedHashMap<>();
        final Map<String, JobState> ended = new LinkedHashMap<>();
        final List<String> overcommits = new CopyOnWriteArrayList<>();
        final List<Long> sums = new CopyOnWriteArrayList<>();
        int next;

        @Override
        public synchronized JobHandle submit(MoveRequest request, EventListener listener) {
            String id = "job" + (++next);
            caps.put(id, request.bandwidthMiBps());
            listeners.put(id, listener);
            requests.put(id, request);
            CompletableFuture<JobHandle.Outcome> o = new CompletableFuture<>();
            outcomes.put(id, o);
            check("submit " + id + " at " + request.bandwidthMiBps());
            return new JobHandle(id, o, () -> { }, () -> null, () -> null, () -> null);
        }

        @Override
        public synchronized boolean setBandwidth(String jobId, long mibPerSecond) {
            if (!caps.containsKey(jobId)) return false;
            caps.put(jobId, mibPerSecond);
            check(jobId + " -> " + mibPerSecond);
            return true;
        }

        @Override
        public synchronized void cancel(String jobId) {
            end(jobId, JobState.CANCELLED);
        }

        @Override
        public synchronized Optional<Job> job(String jobId) {
            MoveRequest r = requests.get(jobId);
            JobState s = ended.get(jobId);
            if (r == null || s == null) return Optional.empty();
            String on = s == JobState.SUCCEEDED ? r.to().name() : r.from().name();
            Instant t = Instant.parse("2026-12-01T12:00:00Z");
            return Optional.of(new Job(jobId, JobKind.LIVE, r.vm(), "u", r.from().name(), r.to().name(), Map.of(), s, "verify", "me", t, t, t, t,
                    false, null, JobPlacement.known(List.of(on), List.of(on)), null));
        }

        synchronized void end(String jobId, JobState s) {
            if (ended.containsKey(jobId)) return;
            ended.put(jobId, s);
            caps.remove(jobId); // an ended job sends nothing: its cap no longer counts
            CompletableFuture<JobHandle.Outcome> o = outcomes.get(jobId);
            if (s == JobState.SUCCEEDED) o.complete(new JobHandle.Outcome(null, null));
            else o.completeExceptionally(new RuntimeException(s.name()));
        }

        synchronized long cap(String jobId) {
            return caps.getOrDefault(jobId, -1L);
        }

        synchronized int submitted() {
            return next;
        }

        void emit(String jobId, MigrationEvent e) {
            EventListener l;
            synchronized (this) {
                l = listeners.get(jobId);
            }
            l.on(e);
        }

        private void check(String what) {
            long sum = caps.values().stream().mapToLong(Long::longValue).sum();
            sums.add(sum);
            if (sum > TOTAL) overcommits.add(what + ": caps " + caps + " add up to " + sum);
        }
    }

    static EvacuationPlan plan(int moves, int k) {
        List<PlannedMove> list = new ArrayList<>();
        List<DrainSchedule.Slot> slots = new ArrayList<>();
        for (int i = 1; i <= moves; i++) {
            PlannedMove m = DrainSchedulerTest.move(i, "s", "t" + i, 512, 0);
            list.add(m);
            slots.add(new DrainSchedule.Slot(m, 0, 1000));
        }
        EvacuationRequest r = new EvacuationRequest(List.of(DrainSchedulerTest.host("s")), List.of(DrainSchedulerTest.host("t1")),
                new DrainLimits(k, k, k), TOTAL, PolicyKind.PLAIN, 0, null, 1.0, Set.of(), false);
        DrainSchedule s = new DrainSchedule(slots, k, TOTAL / k * MIB, TOTAL * MIB, 1000, 500, List.of());
        return new EvacuationPlan(r, Map.of(), new PlacementPlan(list, List.of(), Map.of()), s);
    }

    MigrationEvent migrating() {
        return new MigrationEvent.PhaseStarted(clock.instant(), Phase.MIGRATE, "s -> t");
    }

    /** Statistics of a migration {@code elapsedMs} in, having processed {@code mib} MiB. */
    static MigrationEvent progress(long elapsedMs, long mib) {
        return new MigrationEvent.Progress(Instant.EPOCH, new JobStats(elapsedMs, 0, 0, 0, 1024 * MIB, mib * MIB, 512 * MIB, 0, 0, 4096, 1, 0, 0,
                0, 0, 0, 0));
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("never: " + what);
            Thread.sleep(2);
        }
    }

    @Test
    void run_workConserving_aMoveStillCheckingKeepsTheFloor_theSendingOnesShareTheRest_neverAboveTheTotal() throws Exception {
        ScriptedMoves moves = new ScriptedMoves();
        List<EvacuationEvent.Shares> shares = new CopyOnWriteArrayList<>();
        DrainRunner runner = new DrainRunner(moves, clock, e -> {
            if (e instanceof EvacuationEvent.Shares s) shares.add(s);
        }, m -> List.of(m.source().name()));
        CompletableFuture<EvacuationResult> result = CompletableFuture.supplyAsync(() -> runner.run(plan(4, 3)));
        await("three moves submitted", () -> moves.submitted() == 3);
        // each started at its planned share (30: what its plan saw) and was lowered to the floor while it checks
        assertThat(moves.requests.values()).extracting(MoveRequest::bandwidthMiBps).containsOnly(TOTAL / 3);
        await("all at the floor while checking", () -> moves.cap("job1") == 1 && moves.cap("job2") == 1 && moves.cap("job3") == 1);

        // job1 and job3 begin their transfer (their migrations report statistics, no rate yet); job2 is still checking
        for (String id : List.of("job1", "job3")) {
            moves.emit(id, migrating());
            moves.emit(id, progress(500, 0));
        }
        await("the sending ones share what job2 does not use", () -> moves.cap("job1") >= 43 && moves.cap("job3") >= 43 && moves.cap("job2") == 1);
        assertThat(moves.cap("job1") + moves.cap("job3")).isBetween(TOTAL - 3, TOTAL - 1);

        // job3 is walking zero pages: 2 MiB/s, measured across its raise from the floor (not below its cap: LinkSharesTest),
        // then again wholly under the raised cap, far below it: it keeps twice its rate and job1 takes the rest
        moves.emit("job3", progress(1000, 1));
        moves.emit("job3", progress(1500, 2));
        await("job3 limited to twice its rate", () -> moves.cap("job3") == 4);
        await("job1 takes the rest", () -> moves.cap("job1") >= TOTAL - 1 - 4 - 1);

        // job1 ends: job4 starts (planned share first, then the floor while it checks), and job3, now sending at its cap,
        // gets all but the floors
        moves.end("job1", JobState.SUCCEEDED);
        await("job4 submitted", () -> moves.submitted() == 4);
        await("job4 at the floor while checking", () -> moves.cap("job4") == 1);
        moves.emit("job3", progress(2000, 2 + 2));
        await("job3 at its cap again: it gets all but the floors", () -> moves.cap("job3") >= TOTAL - 3);

        for (String id : List.of("job2", "job3", "job4")) moves.end(id, JobState.SUCCEEDED);
        EvacuationResult r = result.get(20, TimeUnit.SECONDS);
        assertThat(r.moved()).isEqualTo(4);
        assertThat(moves.overcommits).as("caps above the total at some instant").isEmpty();
        assertThat(moves.sums).isNotEmpty().allSatisfy(s -> assertThat(s).isLessThanOrEqualTo(TOTAL));
        assertThat(shares).allSatisfy(s -> assertThat(s.capsMiBps().values().stream().mapToLong(Long::longValue).sum()).isLessThanOrEqualTo(TOTAL));
    }

    @Test
    void run_aMigrateStepWithoutStatistics_isGivenItsPartAfterAWhile_notKeptAtTheFloor() throws Exception {
        ScriptedMoves moves = new ScriptedMoves();
        DrainRunner runner = new DrainRunner(moves, clock, null, m -> List.of(m.source().name()));
        CompletableFuture<EvacuationResult> result = CompletableFuture.supplyAsync(() -> runner.run(plan(1, 1)));
        await("submitted", () -> moves.submitted() == 1);
        await("at the floor while checking", () -> moves.cap("job1") == 1);
        moves.emit("job1", migrating());
        clock.now = clock.now.plus(LinkShares.UNMEASURED).plusMillis(1);
        await("given the total anyway", () -> moves.cap("job1") == TOTAL);
        moves.end("job1", JobState.SUCCEEDED);
        assertThat(result.get(20, TimeUnit.SECONDS).moved()).isEqualTo(1);
        assertThat(moves.overcommits).isEmpty();
    }
}
