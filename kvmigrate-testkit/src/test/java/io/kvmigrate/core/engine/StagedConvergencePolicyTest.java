package io.kvmigrate.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.model.MigrationRequest;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.plan.Calibration;
import io.kvmigrate.core.plan.GuestProfile;
import io.kvmigrate.core.plan.Plan;
import io.kvmigrate.core.plan.Planner;
import io.kvmigrate.core.plan.PolicyKind;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.FaultPlan.Op;
import io.kvmigrate.testkit.ManualScheduler;
import io.kvmigrate.testkit.MutableClock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The staged policy driven through {@link LiveMigration} on a fake hypervisor and a hand-moved clock: every
 * escalation fires at the poll where its condition first holds, and nothing fires while the migration progresses.
 */
class StagedConvergencePolicyTest {
    private static final long MIB = 1 << 20;
    private static final Duration POLL = Duration.ofMillis(500);
    private final FakeHypervisor hv = new FakeHypervisor();
    private final MutableClock clock = new MutableClock();
    private final ManualScheduler scheduler = new ManualScheduler(clock);
    private final List<MigrationEvent> events = new CopyOnWriteArrayList<>();
    private FakeHypervisor.FakeHost src;
    private FakeHypervisor.FakeHost dst;

    @BeforeEach
    void hosts() {
        src = hv.addHost("a");
        dst = hv.addHost("b");
        hv.shareDirectory("/nfs");
        src.put(LiveMigrationTest.vm("web", "/nfs/web.img"), VmState.RUNNING, true);
        src.putFile("/nfs/web.img", new byte[4096]);
    }

    /** Statistics of a 1 GiB guest sent at 100 MiB/s. */
    static JobStats stats(long iteration, long remainingMiB, long dirtyMiBps, long expectedDowntimeMs, long throttle) {
        long remaining = remainingMiB * MIB;
        return new JobStats(0, 1L << 30, 0, remaining, 1L << 30, (1L << 30) - remaining, remaining, 100 * MIB, dirtyMiBps * MIB / 4096,
                4096, iteration, expectedDowntimeMs, 0, throttle, 0, 0, 0);
    }

    private CompletableFuture<MigrationReport> start(PolicyKind kind, boolean autoConverge, boolean postCopy) {
        StagedConvergencePolicy policy = new StagedConvergencePolicy(kind, StagedConvergencePolicy.Settings.defaults(), autoConverge,
                postCopy, 300, 1000, false, 0);
        // These tests hold the statistics still for minutes to model a phase: the no-progress watchdog is LiveMigrationTest's.
        LiveMigration m = new LiveMigration(src, dst, clock, scheduler, events::add, POLL, policy).noProgressTimeout(Duration.ofDays(1));
        return m.start(new MigrationRequest("web", src.host(), dst.host(), 100, 1000, null));
    }

    private void run(JobStats s, Duration d) {
        src.lastMigration.setStats(s);
        scheduler.advance(d, POLL);
    }

    /** A first pass of 4 s, then 400 MiB a pass with the guest dirtying all that is sent: stalled at 7.5 s (rate window). */
    private void stallAfterTheRateWindow() {
        run(stats(1, 500, 0, 5000, 0), Duration.ofSeconds(4));
        run(stats(2, 400, 100, 4000, 0), Duration.ofMillis(3500));
    }

    private List<MigrationEvent.Decision> decisions() {
        return events.stream().filter(e -> e instanceof MigrationEvent.Decision).map(e -> (MigrationEvent.Decision) e).toList();
    }

    @Test
    void initialOptions_planChoices_startWithAutoConvergeAndPostCopyAsPlanned() {
        start(PolicyKind.FINISH, true, true);
        assertThat(src.lastOptions.autoConverge()).isTrue();
        assertThat(src.lastOptions.postCopyAllowed()).isTrue();
        assertThat(src.lastOptions.maxDowntimeMs()).isEqualTo(300);
        assertThat(src.lastOptions.bandwidthMiBps()).isEqualTo(100);
    }

    @Test
    void onStats_safePolicy_neverAllowsPostCopy() {
        start(PolicyKind.SAFE, true, true);
        assertThat(src.lastOptions.postCopyAllowed()).isFalse();
    }

    @Test
    void onStats_progressingMigration_firesNothing() {
        CompletableFuture<MigrationReport> f = start(PolicyKind.FINISH, true, true);
        run(stats(1, 900, 0, 9000, 0), Duration.ofSeconds(10)); // a long first pass
        long remaining = 400;
        for (int pass = 2; pass <= 12; pass++) {
            // dirty 70% of the link: every pass ends lower than the last
            run(stats(pass, remaining, 70, remaining * 10, 0), Duration.ofSeconds(2));
            run(stats(pass, remaining / 2, 70, remaining * 5, 0), Duration.ofSeconds(2));
            remaining = remaining * 7 / 10;
        }
        assertThat(decisions()).isEmpty();
        assertThat(src.lastMigration.calls).isEmpty();
        src.lastMigration.succeed(stats(13, 0, 0, 30, 0));
        assertThat(f.join().downtimeMs()).isEqualTo(30);
    }

    @Test
    void onStats_passesShrinkWhileEachRunsDownToNothing_firesNothing() {
        // what a converging 0.7x guest looks like: each pass starts 30% smaller and is sent down to ~1 MiB before the sync
        start(PolicyKind.SAFE, false, false);
        run(stats(1, 200, 0, 2000, 0), Duration.ofSeconds(4));
        long peak = 180;
        for (int pass = 2; pass <= 9; pass++) { // 180, 126, 88, 61, 42, 29, 20, 14 MiB
            run(stats(pass, peak, 45, peak * 15, 0), Duration.ofMillis(1000));
            run(stats(pass, peak / 2, 45, peak * 8, 0), Duration.ofMillis(1000));
            run(stats(pass, 1, 45, 310, 0), Duration.ofMillis(500));
            peak = peak * 7 / 10;
        }
        assertThat(decisions()).isEmpty();
        assertThat(src.lastMigration.aborted()).isFalse();
    }

    @Test
    void onStats_firstPassStillRunning_firesNothingHoweverLong() {
        start(PolicyKind.FINISH, true, true);
        run(stats(1, 800, 200, 8000, 0), Duration.ofSeconds(120));
        assertThat(decisions()).isEmpty();
    }

    @Test
    void onStats_remainingFlatWithoutRateSignal_stallsAfterTwoFlatPasses() {
        start(PolicyKind.FINISH, true, true);
        run(stats(1, 500, 0, 5000, 0), Duration.ofSeconds(4));
        // dirty rate reads low (e.g. a sampling artefact) but the passes stop shrinking
        for (int pass = 2; pass <= 4; pass++) {
            run(stats(pass, 400, 10, 4000, 0), Duration.ofSeconds(2));
            assertThat(decisions()).isEmpty();
        }
        run(stats(5, 400, 10, 4000, 0), Duration.ofMillis(500));
        assertThat(decisions()).singleElement().satisfies(d -> assertThat(d.reason()).contains("passes stopped shrinking"));
    }

    @Test
    void onStats_restartAfterPassesStoppedShrinking_keepsQemusThrottleSteps() {
        start(PolicyKind.SAFE, false, false);
        run(stats(1, 500, 0, 5000, 0), Duration.ofSeconds(4));
        for (int pass = 2; pass <= 5; pass++) run(stats(pass, 400, 10, 4000, 0), Duration.ofSeconds(2));
        assertThat(decisions()).extracting(MigrationEvent.Decision::action).contains("restart with auto-converge");
        assertThat(src.lastOptions.autoConverge()).isTrue();
        assertThat(src.lastOptions.throttleInitialPercent()).isZero();
        assertThat(src.lastOptions.throttleIncrementPercent()).isZero();
    }

    @Test
    void onStats_jobCompletesBeforeTheRestartAbortLands_isASuccess() {
        CompletableFuture<MigrationReport> f = start(PolicyKind.SAFE, false, false);
        hv.faults().on("a", Op.ABORT).ignore();
        stallAfterTheRateWindow();
        assertThat(src.lastMigration.aborted()).isTrue();
        src.lastMigration.succeed(stats(3, 0, 0, 250, 0));
        assertThat(f.join().placement().runsOnlyOn("b")).isTrue();
        assertThat(decisions()).extracting(MigrationEvent.Decision::action).doesNotContain("started again");
    }

    @Test
    void cancel_whileAJobIsStartedAgain_cancelsTheNewJobAndTheVmStaysOnSource() {
        StagedConvergencePolicy policy = new StagedConvergencePolicy(PolicyKind.SAFE, StagedConvergencePolicy.Settings.defaults(), false,
                false, 300, 1000, false, 0);
        LiveMigration m = new LiveMigration(src, dst, clock, scheduler, events::add, POLL, policy);
        CompletableFuture<MigrationReport> f = m.start(new MigrationRequest("web", src.host(), dst.host(), 100, 1000, null));
        stallAfterTheRateWindow();
        m.cancel();
        assertThat(src.lastMigration.aborted()).isTrue();
        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(KvmigrateException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.CANCELLED));
        assertThat(src.findVm("web")).get().satisfies(v -> assertThat(v.state()).isEqualTo(VmState.RUNNING));
    }

    @Test
    void forPlan_emulatedGuestOnQemuBefore9Finish_neverThrottlesAndSwitchesToPostCopyAtTheFirstStall() {
        GuestProfile g = new GuestProfile(1L << 30, 256 * MIB, 0, false, 1024, GuestProfile.Rate.SKIPPED_SHORT);
        String hazard = io.kvmigrate.core.plan.KnownBugs.throttleHazard("qemu", 7_002_022);
        Plan plan = new Planner(Calibration.lab()).plan(g, 100 * MIB, false, 300, 1000, PolicyKind.FINISH, true, true, hazard);
        assertThat(plan.throttleAvoided()).isEqualTo(hazard);
        ConvergencePolicy policy = StagedConvergencePolicy.forPlan(plan, StagedConvergencePolicy.Settings.defaults(), false, 0);
        new LiveMigration(src, dst, clock, scheduler, events::add, POLL, policy)
                .start(new MigrationRequest("web", src.host(), dst.host(), 100, 1000, null));
        FakeHypervisor.FakeMigration only = src.lastMigration;
        assertThat(src.lastOptions.autoConverge()).isFalse();
        assertThat(src.lastOptions.postCopyAllowed()).isTrue();
        run(stats(1, 500, 0, 5000, 0), Duration.ofSeconds(4));
        assertThat(decisions()).isEmpty();
        // the stall (rate window over at 7.5 s): 400 MiB a pass needs 4 s, above --max-downtime: straight to post-copy
        run(stats(2, 400, 100, 4000, 0), Duration.ofMillis(3500));
        assertThat(decisions()).extracting(MigrationEvent.Decision::action).containsExactly("throttle skipped", "switch to post-copy");
        assertThat(decisions().get(0).reason()).contains("software-emulated").contains("7.2.22");
        assertThat(src.lastMigration).isSameAs(only);
        assertThat(only.aborted()).isFalse();
        assertThat(only.calls).containsExactly("postcopy");
    }

    @Test
    void onStats_afterLastResort_firesNothingMore() {
        start(PolicyKind.FINISH, true, true);
        run(stats(1, 500, 0, 5000, 0), Duration.ofSeconds(4));
        run(stats(2, 400, 100, 4000, 0), Duration.ofSeconds(60));
        assertThat(src.lastMigration.calls).containsExactly("postcopy");
    }

    private LiveMigration migration;

    private CompletableFuture<MigrationReport> startInPostCopy() {
        return startInPostCopy(true);
    }

    /** Finish policy, stalled until it asks for post-copy; {@code takesEffect} false: the hypervisor has not switched yet. */
    private CompletableFuture<MigrationReport> startInPostCopy(boolean takesEffect) {
        StagedConvergencePolicy policy = new StagedConvergencePolicy(PolicyKind.FINISH, StagedConvergencePolicy.Settings.defaults(), true,
                true, 300, 1000, false, 0);
        migration = new LiveMigration(src, dst, clock, scheduler, events::add, POLL, policy);
        CompletableFuture<MigrationReport> f = migration.start(new MigrationRequest("web", src.host(), dst.host(), 100, 1000,
                Duration.ofSeconds(20)));
        if (!takesEffect) hv.faults().on("a", Op.POSTCOPY_SWITCH).ignore();
        run(stats(1, 500, 0, 5000, 0), Duration.ofSeconds(4));
        run(stats(2, 400, 100, 4000, 0), Duration.ofMillis(3500)); // throttle stage
        run(stats(3, 400, 100, 4000, 20), Duration.ofSeconds(4));
        run(stats(4, 400, 100, 4000, 30), Duration.ofSeconds(4));
        run(stats(5, 400, 100, 4000, 40), Duration.ofMillis(500)); // 16 s: post-copy
        assertThat(src.lastMigration.calls).containsExactly("postcopy");
        assertThat(migration.postCopyStarted()).isTrue();
        return f;
    }

    @Test
    void completion_postCopyInterrupted_resumesForwardAndNeverTheSource() {
        CompletableFuture<MigrationReport> f = startInPostCopy();
        FakeHypervisor.FakeMigration first = src.lastMigration;
        first.fail(new KvmigrateException(ErrorCode.LIBVIRT_ERROR, null, "a", "web", "connection reset by peer", null));
        assertThat(decisions()).extracting(MigrationEvent.Decision::action).last().isEqualTo("recover post-copy");
        assertThat(src.postCopyResumes).isZero();
        scheduler.advance(Duration.ofSeconds(5), POLL);
        assertThat(src.postCopyResumes).isEqualTo(1);
        assertThat(first.aborted()).isFalse();
        src.lastMigration.succeed(stats(3, 0, 0, 90, 0));
        assertThat(f.join().placement().runsOnlyOn("b")).isTrue();
    }

    @Test
    void completion_linkCutBeforeTheSwitchTookEffect_plainFailureVmOnSourceNoResume() {
        CompletableFuture<MigrationReport> f = startInPostCopy(false);
        src.lastMigration.fail(new KvmigrateException(ErrorCode.LIBVIRT_ERROR, null, "a", "web", "Unable to write to socket", null));
        scheduler.advance(Duration.ofSeconds(30), POLL);
        assertThat(src.postCopyResumes).isZero();
        assertThat(decisions()).extracting(MigrationEvent.Decision::action).contains("post-copy never began").doesNotContain("recover post-copy");
        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(KvmigrateException.class,
                e -> assertThat(e.getMessage()).contains("Unable to write to socket").contains("still running on 'a'"));
        assertThat(src.findVm("web")).get().satisfies(v -> assertThat(v.state()).isEqualTo(VmState.RUNNING));
    }

    @Test
    void completion_postCopyInterruptedAndTargetQemuGone_failsAtOnceSayingTheGuestStateIsLost() {
        CompletableFuture<MigrationReport> f = startInPostCopy();
        src.lastMigration.targetQemuEnded();
        src.lastMigration.fail(new KvmigrateException(ErrorCode.LIBVIRT_ERROR, null, "a", "web", "qemu unexpectedly closed the monitor", null));
        scheduler.advance(PostCopyRecovery.INTERVAL, POLL);
        assertThat(src.postCopyResumes).isZero();
        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.getMessage()).contains("no longer exists on 'b'").contains("running state is lost");
            assertThat(e.hint()).contains("Do not resume it on 'a'").contains("virsh destroy web");
        });
    }

    @Test
    void completion_postCopyResumeKeepsFailing_failsAfterAllAttemptsNamingBothHosts() {
        CompletableFuture<MigrationReport> f = startInPostCopy();
        src.lastMigration.fail(new KvmigrateException(ErrorCode.LIBVIRT_ERROR, null, "a", "web", "connection reset by peer", null));
        for (int i = 0; i < PostCopyRecovery.ATTEMPTS; i++) {
            scheduler.advance(PostCopyRecovery.INTERVAL, POLL);
            src.lastMigration.fail(new KvmigrateException(ErrorCode.LIBVIRT_ERROR, null, "a", "web", "no route to host", null));
        }
        assertThat(f).isNotDone();
        scheduler.advance(PostCopyRecovery.INTERVAL, POLL);
        assertThat(src.postCopyResumes).isEqualTo(PostCopyRecovery.ATTEMPTS);
        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.getMessage()).contains("resume it forward failed").contains("no route to host");
            assertThat(e.hint()).contains("--postcopy-resume web").contains("Never resume the VM on the source");
        });
    }

    /** The migration in post-copy fails with {@code error}; returns the first resume attempt, one retry interval later. */
    private FakeHypervisor.FakeMigration firstResumeAttempt(String error) {
        src.lastMigration.fail(new KvmigrateException(ErrorCode.LIBVIRT_ERROR, null, "a", "web", error, null));
        scheduler.advance(PostCopyRecovery.INTERVAL, POLL);
        return src.lastMigration;
    }

    /** As seen with a real emulated guest: the target never takes the resume, libvirt's call never returns, nothing moves. */
    @Test
    void completion_postCopyResumeHangsMovingNothing_failsAfterTheStallNamingBothHostsAndNoSecondAttempt() {
        CompletableFuture<MigrationReport> f = startInPostCopy();
        FakeHypervisor.FakeMigration attempt = firstResumeAttempt("job 'migration in' failed in post-copy phase");
        attempt.setStats(stats(3, 200, 0, 1000, 0));
        scheduler.advance(PostCopyRecovery.STALL.minus(Duration.ofSeconds(1)), POLL);
        assertThat(f).isNotDone();
        scheduler.advance(PostCopyRecovery.INTERVAL, POLL);
        assertThat(f).isDone();
        assertThat(src.postCopyResumes).isEqualTo(1);
        assertThat(attempt.aborted()).isFalse();
        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.getMessage()).contains("attempt 1 to resume it forward has moved nothing in 30 s")
                    .contains("'b' does not take the resume").contains("paused on 'a' and stalled on 'b'");
            assertThat(e.step()).isEqualTo("migrate");
            assertThat(e.vm()).isEqualTo("web");
            assertThat(e.hint()).contains("Never resume the VM on 'a'").contains("virsh destroy web");
        });
        scheduler.advance(Duration.ofSeconds(60), POLL);
        assertThat(src.postCopyResumes).isEqualTo(1);
    }

    @Test
    void completion_postCopyResumeSlowButMoving_keptUntilItCompletes() {
        CompletableFuture<MigrationReport> f = startInPostCopy();
        FakeHypervisor.FakeMigration attempt = firstResumeAttempt("connection reset by peer");
        for (int remaining = 200; remaining > 0; remaining -= 10) {
            attempt.setStats(stats(3, remaining, 0, 1000, 0));
            scheduler.advance(PostCopyRecovery.INTERVAL, POLL);
        }
        assertThat(f).isNotDone();
        attempt.succeed(stats(3, 0, 0, 90, 0));
        assertThat(f.join().placement().runsOnlyOn("b")).isTrue();
        assertThat(src.postCopyResumes).isEqualTo(1);
    }

    @Test
    void cancelAndTimeout_duringPostCopy_refusedWithoutAbort() {
        CompletableFuture<MigrationReport> f = startInPostCopy();
        migration.cancel();
        run(stats(3, 100, 0, 1000, 0), Duration.ofSeconds(30)); // past the 20 s timeout
        assertThat(src.lastMigration.aborted()).isFalse();
        assertThat(decisions()).extracting(MigrationEvent.Decision::action).contains("cancel refused").doesNotContain("abort");
        src.lastMigration.succeed(stats(3, 0, 0, 90, 0));
        assertThat(f.join().placement().runsOnlyOn("b")).isTrue();
    }
}
