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
    void onStats_dirtyRateOutpacesLink_raisesDowntimeExactlyAfterRateWindow() {
        start(PolicyKind.FINISH, true, true);
        run(stats(1, 500, 0, 5000, 0), Duration.ofSeconds(4));
        // pass 2 starts at 4.0 s with 40 MiB per pass (needs 400 ms) and the guest dirtying as fast as the link sends
        run(stats(2, 40, 100, 1500, 0), Duration.ofMillis(3000)); // seen from 4.5 s: window ends at 7.5 s
        assertThat(decisions()).isEmpty();
        run(stats(2, 40, 100, 1500, 0), Duration.ofMillis(500));
        assertThat(decisions()).singleElement().satisfies(d -> {
            assertThat(d.action()).isEqualTo("raise downtime limit to 600 ms");
            assertThat(d.reason()).contains("dirtying 100 MiB/s while sending 100 MiB/s").contains("needs about 400 ms");
        });
        assertThat(src.lastMigration.calls).containsExactly("downtime=600");
    }

    @Test
    void onStats_stillStalledAfterRaise_raisesToMaxThenThrottlesThenPostCopy() {
        CompletableFuture<MigrationReport> f = start(PolicyKind.FINISH, true, true);
        run(stats(1, 500, 0, 5000, 0), Duration.ofSeconds(4));
        run(stats(2, 40, 100, 1500, 0), Duration.ofMillis(3500));
        assertThat(src.lastMigration.calls).containsExactly("downtime=600");
        // a new window starts with the raise: the next step needs another full rate window
        run(stats(2, 40, 100, 1500, 0), Duration.ofMillis(3000));
        assertThat(src.lastMigration.calls).containsExactly("downtime=600");
        run(stats(2, 40, 100, 1500, 0), Duration.ofMillis(500));
        assertThat(src.lastMigration.calls).containsExactly("downtime=600", "downtime=1000");
        // at --max-downtime: the next stall moves on to the throttle stage (no call: auto-converge runs in QEMU)
        run(stats(2, 40, 100, 1500, 0), Duration.ofMillis(3500));
        assertThat(decisions()).extracting(MigrationEvent.Decision::action).last().isEqualTo("throttle the guest");
        run(stats(3, 40, 100, 1500, 20), Duration.ofSeconds(4));
        assertThat(decisions()).extracting(MigrationEvent.Decision::action).last().isEqualTo("throttle at 20%");
        run(stats(4, 40, 100, 1500, 30), Duration.ofSeconds(4));
        assertThat(src.lastMigration.calls).doesNotContain("postcopy");
        // the second pass under throttle ends without convergence: post-copy
        run(stats(5, 40, 100, 1500, 40), Duration.ofMillis(500));
        assertThat(src.lastMigration.calls).containsExactly("downtime=600", "downtime=1000", "postcopy");
        assertThat(decisions()).extracting(MigrationEvent.Decision::action).contains("switch to post-copy");
        src.lastMigration.succeed(stats(5, 0, 0, 80, 0));
        assertThat(f.join().placement().runsOnlyOn("b")).isTrue();
    }

    @Test
    void onStats_neededDowntimeAboveMax_skipsRaisingAndThrottles() {
        start(PolicyKind.FINISH, true, true);
        stallAfterTheRateWindow();
        assertThat(src.lastMigration.calls).isEmpty();
        assertThat(decisions()).singleElement().satisfies(d -> {
            assertThat(d.action()).isEqualTo("throttle the guest");
            assertThat(d.reason()).contains("raising the downtime limit cannot help").contains("above {maxDowntime} 1000 ms");
        });
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
    void onStats_throttleStageTimesOutWithoutNewPasses_lastResortAfterThrottleWindow() {
        start(PolicyKind.FINISH, true, true);
        run(stats(1, 500, 0, 5000, 0), Duration.ofSeconds(4));
        run(stats(2, 400, 100, 4000, 0), Duration.ofMillis(3500)); // throttle stage from 7.5 s
        run(stats(2, 400, 100, 4000, 0), Duration.ofMillis(29_500));
        assertThat(src.lastMigration.calls).isEmpty();
        run(stats(2, 400, 100, 4000, 0), Duration.ofMillis(500));
        assertThat(src.lastMigration.calls).containsExactly("postcopy");
    }

    @Test
    void onStats_safePolicyStillStalled_abortsWithReasonAndVmStaysOnSource() {
        CompletableFuture<MigrationReport> f = start(PolicyKind.SAFE, true, false);
        stallAfterTheRateWindow();
        run(stats(3, 400, 100, 4000, 20), Duration.ofSeconds(4));
        run(stats(4, 400, 100, 4000, 30), Duration.ofSeconds(4));
        assertThat(src.lastMigration.aborted()).isFalse();
        // the second complete pass under throttle ends without convergence
        run(stats(5, 400, 100, 4000, 40), Duration.ofMillis(500));
        assertThat(src.lastMigration.aborted()).isTrue();
        assertThat(src.lastMigration.calls).doesNotContain("postcopy");
        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.NOT_CONVERGING);
            assertThat(e.getMessage()).contains("cannot converge within {maxDowntime} 1000 ms").contains("still running on 'a'");
        });
        assertThat(src.findVm("web")).get().satisfies(v -> assertThat(v.state()).isEqualTo(VmState.RUNNING));
        assertThat(decisions()).extracting(MigrationEvent.Decision::action).endsWith("abort");
    }

    @Test
    void onStats_autoConvergeOffAtStart_startsAgainWithItThenThrottlesThenPostCopy() {
        CompletableFuture<MigrationReport> f = start(PolicyKind.FINISH, false, true);
        FakeHypervisor.FakeMigration first = src.lastMigration;
        run(stats(1, 500, 0, 5000, 0), Duration.ofSeconds(4));
        run(stats(2, 400, 100, 4000, 0), Duration.ofMillis(3000));
        assertThat(first.aborted()).isFalse();
        // the stall (rate window over at 7.5 s): 400 MiB a pass needs 4 s, above --max-downtime: no raise, restart
        run(stats(2, 400, 100, 4000, 0), Duration.ofMillis(500));
        assertThat(decisions()).extracting(MigrationEvent.Decision::action).containsExactly("restart with auto-converge", "started again");
        assertThat(decisions().get(0).reason()).contains("cannot enable it mid-job").contains("keeps running on the source");
        assertThat(first.aborted()).isTrue();
        assertThat(first.calls).doesNotContain("postcopy");
        FakeHypervisor.FakeMigration second = src.lastMigration;
        assertThat(second).isNotSameAs(first);
        assertThat(src.lastOptions.autoConverge()).isTrue();
        assertThat(src.lastOptions.postCopyAllowed()).isTrue();
        assertThat(src.lastOptions.maxDowntimeMs()).isEqualTo(300);
        // dirtying all the link carried: the real rate is unknown, so the throttle starts high and climbs fast
        assertThat(src.lastOptions.throttleInitialPercent()).isEqualTo(50);
        assertThat(src.lastOptions.throttleIncrementPercent()).isEqualTo(20);
        assertThat(src.findVm("web")).get().satisfies(v -> assertThat(v.state()).isEqualTo(VmState.RUNNING));
        // the new job: its first pass, then passes before QEMU throttles are not counted against the throttle stage
        run(stats(1, 500, 0, 5000, 0), Duration.ofSeconds(4));
        run(stats(2, 400, 100, 4000, 0), Duration.ofSeconds(4));
        run(stats(3, 400, 100, 4000, 0), Duration.ofSeconds(4));
        assertThat(decisions()).hasSize(2);
        run(stats(4, 400, 100, 4000, 20), Duration.ofSeconds(4));
        run(stats(5, 400, 100, 4000, 30), Duration.ofSeconds(4));
        run(stats(6, 400, 100, 4000, 40), Duration.ofSeconds(4));
        run(stats(7, 400, 100, 4000, 50), Duration.ofSeconds(4));
        assertThat(second.calls).doesNotContain("postcopy");
        // the third complete pass under throttle (one more than a job that had it from the start) ends unconverged: post-copy
        run(stats(8, 400, 100, 4000, 60), Duration.ofMillis(500));
        assertThat(second.calls).containsExactly("postcopy");
        assertThat(decisions()).extracting(MigrationEvent.Decision::action).endsWith("switch to post-copy");
        assertThat(decisions().get(decisions().size() - 1).reason()).contains("still stalled after throttling");
        second.succeed(stats(8, 0, 0, 80, 0));
        assertThat(f.join().placement().runsOnlyOn("b")).isTrue();
    }

    @Test
    void onStats_restartAfterAGuestDirtyingAllThePassCarries_startsTheThrottleHighAndClimbsFast() {
        start(PolicyKind.SAFE, false, false);
        run(stats(1, 500, 0, 5000, 0), Duration.ofSeconds(4));
        run(stats(2, 400, 400, 4000, 0), Duration.ofMillis(3500));
        assertThat(src.lastOptions.autoConverge()).isTrue();
        assertThat(src.lastOptions.throttleInitialPercent()).isEqualTo(50);
        assertThat(src.lastOptions.throttleIncrementPercent()).isEqualTo(20);
        assertThat(decisions().get(0).reason()).contains("throttling from 50% plus 20% a pass");
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
    void onStats_safeStartedAgainAndStillStalled_abortsWithReasonAndVmStaysOnSource() {
        CompletableFuture<MigrationReport> f = start(PolicyKind.SAFE, false, false);
        stallAfterTheRateWindow();
        assertThat(decisions()).extracting(MigrationEvent.Decision::action).containsExactly("restart with auto-converge", "started again");
        run(stats(1, 500, 0, 5000, 0), Duration.ofSeconds(4));
        run(stats(2, 400, 100, 4000, 20), Duration.ofSeconds(4));
        run(stats(3, 400, 100, 4000, 30), Duration.ofSeconds(4));
        run(stats(4, 400, 100, 4000, 40), Duration.ofSeconds(4));
        run(stats(5, 400, 100, 4000, 50), Duration.ofSeconds(4));
        assertThat(src.lastMigration.aborted()).isFalse();
        run(stats(6, 400, 100, 4000, 60), Duration.ofMillis(500));
        assertThat(src.lastMigration.aborted()).isTrue();
        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.NOT_CONVERGING);
            assertThat(e.getMessage()).contains("under throttle without converging").contains("still running on 'a'");
        });
        assertThat(src.findVm("web")).get().satisfies(v -> assertThat(v.state()).isEqualTo(VmState.RUNNING));
        assertThat(dst.findVm("web")).isEmpty();
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
    void forPlan_unmeasuredShortMigration_startsWithoutAutoConvergeAndStartsAgainWithItWhenItStalls() {
        GuestProfile g = new GuestProfile(1L << 30, 256 * MIB, 0, false, 1024, GuestProfile.Rate.SKIPPED_SHORT);
        Plan plan = new Planner(Calibration.lab()).plan(g, 100 * MIB, false, 300, 1000, PolicyKind.FINISH, true);
        assertThat(plan.strategy()).isEqualTo(Plan.Strategy.PRE_COPY_UNMEASURED);
        ConvergencePolicy policy = StagedConvergencePolicy.forPlan(plan, StagedConvergencePolicy.Settings.defaults(), false, 0);
        new LiveMigration(src, dst, clock, scheduler, events::add, POLL, policy)
                .start(new MigrationRequest("web", src.host(), dst.host(), 100, 1000, null));
        assertThat(src.lastOptions.autoConverge()).isFalse();
        assertThat(src.lastOptions.postCopyAllowed()).isTrue();
        run(stats(1, 500, 0, 5000, 0), Duration.ofSeconds(4));
        assertThat(decisions()).isEmpty();
        run(stats(2, 400, 100, 4000, 0), Duration.ofMillis(3500));
        assertThat(decisions()).extracting(MigrationEvent.Decision::action).containsExactly("restart with auto-converge", "started again");
        assertThat(decisions().get(0).reason()).contains("too short to spend a second measuring").contains("{measure}");
        assertThat(src.lastOptions.autoConverge()).isTrue();
        assertThat(src.lastOptions.postCopyAllowed()).isTrue();
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
    void forPlan_emulatedGuestOnQemuBefore9Safe_neverThrottlesAndAbortsAtTheStallWithVmOnSource() {
        GuestProfile g = new GuestProfile(1L << 30, 256 * MIB, 0, false, 1024, GuestProfile.Rate.SKIPPED_SHORT);
        String hazard = io.kvmigrate.core.plan.KnownBugs.throttleHazard("qemu", 7_002_022);
        Plan plan = new Planner(Calibration.lab()).plan(g, 100 * MIB, false, 300, 1000, PolicyKind.SAFE, true, true, hazard);
        ConvergencePolicy policy = StagedConvergencePolicy.forPlan(plan, StagedConvergencePolicy.Settings.defaults(), false, 0);
        CompletableFuture<MigrationReport> f = new LiveMigration(src, dst, clock, scheduler, events::add, POLL, policy)
                .start(new MigrationRequest("web", src.host(), dst.host(), 100, 1000, null));
        FakeHypervisor.FakeMigration only = src.lastMigration;
        assertThat(src.lastOptions.autoConverge()).isFalse();
        run(stats(1, 500, 0, 5000, 0), Duration.ofSeconds(4));
        run(stats(2, 400, 100, 4000, 0), Duration.ofMillis(3500));
        assertThat(decisions()).extracting(MigrationEvent.Decision::action).containsExactly("throttle skipped", "abort");
        assertThat(src.lastMigration).isSameAs(only);
        assertThat(only.aborted()).isTrue();
        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(KvmigrateException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_CONVERGING));
        assertThat(src.findVm("web")).get().satisfies(v -> assertThat(v.state()).isEqualTo(VmState.RUNNING));
    }

    @Test
    void forPlan_kvmGuestOrFixedQemu_keepsTheThrottleStage() {
        assertThat(io.kvmigrate.core.plan.KnownBugs.throttleHazard("kvm", 7_002_022)).isNull();
        assertThat(io.kvmigrate.core.plan.KnownBugs.throttleHazard("qemu", 9_000_000)).isNull();
        GuestProfile g = new GuestProfile(1L << 30, 256 * MIB, 0, false, 1024, GuestProfile.Rate.SKIPPED_SHORT);
        Plan plan = new Planner(Calibration.lab()).plan(g, 100 * MIB, false, 300, 1000, PolicyKind.FINISH, true, true, null);
        ConvergencePolicy policy = StagedConvergencePolicy.forPlan(plan, StagedConvergencePolicy.Settings.defaults(), false, 0);
        new LiveMigration(src, dst, clock, scheduler, events::add, POLL, policy)
                .start(new MigrationRequest("web", src.host(), dst.host(), 100, 1000, null));
        run(stats(1, 500, 0, 5000, 0), Duration.ofSeconds(4));
        run(stats(2, 400, 100, 4000, 0), Duration.ofMillis(3500));
        assertThat(decisions()).extracting(MigrationEvent.Decision::action).containsExactly("restart with auto-converge", "started again");
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
        scheduler.advance(LiveMigration.RECOVERY_INTERVAL, POLL);
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
        for (int i = 0; i < LiveMigration.RECOVERY_ATTEMPTS; i++) {
            scheduler.advance(LiveMigration.RECOVERY_INTERVAL, POLL);
            src.lastMigration.fail(new KvmigrateException(ErrorCode.LIBVIRT_ERROR, null, "a", "web", "no route to host", null));
        }
        assertThat(f).isNotDone();
        scheduler.advance(LiveMigration.RECOVERY_INTERVAL, POLL);
        assertThat(src.postCopyResumes).isEqualTo(LiveMigration.RECOVERY_ATTEMPTS);
        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.getMessage()).contains("resume it forward failed").contains("no route to host");
            assertThat(e.hint()).contains("--postcopy-resume web").contains("Never resume the VM on the source");
        });
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
