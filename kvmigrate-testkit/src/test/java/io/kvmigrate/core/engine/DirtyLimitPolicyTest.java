package io.kvmigrate.core.engine;

import static io.kvmigrate.core.engine.StagedConvergencePolicyTest.stats;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.MigrationRequest;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.plan.Calibration;
import io.kvmigrate.core.plan.DirtyRing;
import io.kvmigrate.core.plan.GuestProfile;
import io.kvmigrate.core.plan.Plan;
import io.kvmigrate.core.plan.Planner;
import io.kvmigrate.core.plan.PolicyKind;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.ManualScheduler;
import io.kvmigrate.testkit.MutableClock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The per-vCPU dirty limit on the fake hypervisor and a hand-moved clock: for a VM that has it, {@code safe} limits the
 * dirty rate mid-job where it would otherwise throttle with auto-converge (and start the job again) or give up; the limit
 * is sized from the rate and the link, halved while the guest still outpaces it, and a refused limit falls back to
 * auto-converge. The guest: 1 GiB, 256 MiB non-zero, a link of 100 MiB/s, {@code --max-downtime} 1000 ms.
 */
class DirtyLimitPolicyTest {
    private static final long MIB = 1 << 20;
    private static final Duration POLL = Duration.ofMillis(500);
    private final FakeHypervisor hv = new FakeHypervisor();
    private final MutableClock clock = new MutableClock();
    private final ManualScheduler scheduler = new ManualScheduler(clock);
    private final List<MigrationEvent> events = new CopyOnWriteArrayList<>();
    private final Planner planner = new Planner(Calibration.lab());
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

    private Plan unmeasured(PolicyKind kind, int vcpus) {
        GuestProfile g = new GuestProfile(1L << 30, 256 * MIB, 0, false, 1024, GuestProfile.Rate.SKIPPED_SHORT);
        return planner.withDirtyLimit(planner.plan(g, 100 * MIB, false, 300, 1000, kind, true), new DirtyRing(vcpus, 1024));
    }

    private Plan measured(PolicyKind kind, long dirtyMiBps, int vcpus) {
        GuestProfile g = new GuestProfile(1L << 30, 256 * MIB, dirtyMiBps * MIB, false, 1024);
        return planner.withDirtyLimit(planner.plan(g, 100 * MIB, false, 300, 1000, kind, true), new DirtyRing(vcpus, 1024));
    }

    private CompletableFuture<MigrationReport> start(Plan plan) {
        ConvergencePolicy policy = StagedConvergencePolicy.forPlan(plan, StagedConvergencePolicy.Settings.defaults(), false, 0);
        return new LiveMigration(src, dst, clock, scheduler, events::add, POLL, policy).noProgressTimeout(Duration.ofDays(1))
                .start(new MigrationRequest("web", src.host(), dst.host(), 100, 1000, null));
    }

    private void run(long iteration, long remainingMiB, long dirtyMiBps, long downtimeMs, Duration d) {
        src.lastMigration.setStats(stats(iteration, remainingMiB, dirtyMiBps, downtimeMs, 0));
        scheduler.advance(d, POLL);
    }

    private List<MigrationEvent.Decision> decisions() {
        return events.stream().filter(e -> e instanceof MigrationEvent.Decision).map(e -> (MigrationEvent.Decision) e).toList();
    }

    private List<String> actions() {
        return decisions().stream().map(MigrationEvent.Decision::action).toList();
    }

    @Test
    void safeUnmeasured_limitsTheRateAtTheFirstRate_noRestart_noAutoConverge_completes() {
        CompletableFuture<MigrationReport> f = start(unmeasured(PolicyKind.SAFE, 2));
        FakeHypervisor.FakeMigration only = src.lastMigration;
        assertThat(src.lastOptions.autoConverge()).isFalse();
        run(1, 250, 0, 2500, Duration.ofMillis(2500));
        assertThat(decisions()).isEmpty();
        // 300 MiB/s against 100 MiB/s sent: QEMU holds a vCPU to within 25 MiB/s of its limit, so 1 MiB/s for each of the 2
        // vCPUs leaves the guest 2 x 26 MiB/s, 0.52x the link
        run(2, 200, 300, 2000, POLL);
        assertThat(actions()).containsExactly("downtime raise skipped", "auto-converge skipped", "limit dirty rate to 1 MiB/s per vCPU");
        assertThat(decisions().get(1).reason()).contains("without starting the job again");
        assertThat(decisions().get(2).reason()).contains("a dirty limit of 1 MiB/s per vCPU (2 vCPU(s), each held to within 25 MiB/s of it)"
                + " leaves 0.52x the link")
                .contains("downtime limit raised to {maxDowntime} 1000 ms");
        assertThat(only.calls).containsExactly("downtime=1000", "dirtylimit=1");
        // the passes halve under the limit: nothing more fires
        run(3, 100, 50, 1000, Duration.ofSeconds(2));
        run(4, 50, 50, 500, Duration.ofSeconds(1));
        assertThat(actions()).hasSize(3);
        assertThat(src.lastMigration).isSameAs(only);
        only.succeed(stats(5, 0, 0, 60, 0));
        assertThat(f.join().placement().runsOnlyOn("b")).isTrue();
        assertThat(decisions()).allSatisfy(d -> assertThat(d.reason()).isNotBlank());
    }

    @Test
    void safeMeasured_planSaysDirtyLimit_limitAtTheFirstPoll() {
        Plan plan = measured(PolicyKind.SAFE, 300, 1);
        assertThat(plan.strategy()).isEqualTo(Plan.Strategy.DIRTY_LIMIT);
        assertThat(plan.autoConverge()).isFalse();
        assertThat(plan.expectedToComplete()).isTrue();
        assertThat(plan.reasons().get(plan.reasons().size() - 1)).contains("a dirty limit of 22 MiB/s per vCPU (1 vCPU(s)")
                .contains("auto-converge stays off");
        start(plan);
        run(1, 250, 0, 2500, POLL);
        // the live figures (100 MiB/s sent) size it now
        assertThat(actions()).containsExactly("downtime raise skipped", "auto-converge skipped", "limit dirty rate to 25 MiB/s per vCPU");
        assertThat(src.lastMigration.calls).containsExactly("downtime=1000", "dirtylimit=25");
    }

    @Test
    void hopelessForAutoConverge_theDirtyLimitStillConverges() {
        // 20 GiB/s against 100 MiB/s: even a 99 % throttle leaves 2x the link (safe aborts without the limit), but the limit
        // caps the rate itself
        Plan without = measured(PolicyKind.SAFE, 20_000, 0);
        assertThat(without.strategy()).isEqualTo(Plan.Strategy.ABORT_NOT_CONVERGING);
        Plan with = measured(PolicyKind.SAFE, 20_000, 1);
        assertThat(with.strategy()).isEqualTo(Plan.Strategy.DIRTY_LIMIT);
        start(unmeasured(PolicyKind.SAFE, 1));
        run(1, 250, 0, 2500, Duration.ofMillis(2500));
        run(2, 200, 20_000, 2000, POLL);
        assertThat(actions()).containsExactly("downtime raise skipped", "auto-converge skipped", "limit dirty rate to 25 MiB/s per vCPU");
        assertThat(src.lastMigration.aborted()).isFalse();
    }

    @Test
    void stillStalledUnderTheLimit_fallsBackToAutoConvergeByARestart_vmOnTheSourceMeanwhile() {
        start(unmeasured(PolicyKind.SAFE, 1));
        FakeHypervisor.FakeMigration first = src.lastMigration;
        run(1, 250, 0, 2500, Duration.ofMillis(2500));
        run(2, 200, 300, 2000, POLL);
        assertThat(first.calls).containsExactly("downtime=1000", "dirtylimit=25");
        // the guest keeps dirtying the link's worth under the limit: short passes alone do not count before QEMU had 6 s
        for (long pass = 3; pass <= 6; pass++) run(pass, 200, 100, 2000, Duration.ofMillis(500));
        assertThat(first.aborted()).isFalse();
        for (long pass = 7; pass < 20 && src.lastMigration == first; pass++) run(pass, 200, 100, 2000, Duration.ofSeconds(1));
        // 25 MiB/s is QEMU's tolerance: a lower limit would change nothing, so auto-converge by a restart
        assertThat(actions()).contains("restart with auto-converge").doesNotContain("abort");
        assertThat(decisions()).filteredOn(d -> d.action().equals("restart with auto-converge")).singleElement()
                .satisfies(d -> assertThat(d.reason()).contains("the dirty limit of 25 MiB/s per vCPU did not make it converge")
                        .contains("the per-vCPU dirty limit was to slow the guest instead"));
        assertThat(first.aborted()).isTrue();
        assertThat(src.lastMigration).isNotSameAs(first);
        assertThat(src.lastOptions.autoConverge()).isTrue();
        assertThat(src.lastMigration.calls).doesNotContain("dirtylimit=25");
    }

    @Test
    void wideLink_stillStalledUnderTheLimit_halvesItDownToTheTolerance() {
        // all of its 1 GiB in use, so even 1000 ms of downtime cannot carry a pass at 400 MiB/s
        GuestProfile g = new GuestProfile(1L << 30, 1L << 30, 0, false, 1024, GuestProfile.Rate.SKIPPED_SHORT);
        start(planner.withDirtyLimit(planner.plan(g, 400 * MIB, false, 300, 1000, PolicyKind.SAFE, true), new DirtyRing(1, 1024)));
        poll(1, 900, 0, 400, Duration.ofMillis(2500));
        // 400 MiB/s sent: 175 MiB/s (plus QEMU's 25) is half the link
        poll(2, 900, 2000, 400, Duration.ofMillis(500));
        assertThat(src.lastMigration.calls).containsExactly("downtime=1000", "dirtylimit=175");
        for (long pass = 3; pass < 100 && !actions().contains("restart with auto-converge"); pass++) poll(pass, 900, 400, 400, Duration.ofSeconds(1));
        assertThat(src.lastMigration.calls).isEmpty(); // the new job
        assertThat(actions()).containsSubsequence("limit dirty rate to 175 MiB/s per vCPU", "limit dirty rate to 87 MiB/s per vCPU",
                "limit dirty rate to 43 MiB/s per vCPU", "limit dirty rate to 21 MiB/s per vCPU", "restart with auto-converge");
        assertThat(decisions()).filteredOn(d -> d.action().equals("limit dirty rate to 87 MiB/s per vCPU")).singleElement()
                .satisfies(d -> assertThat(d.reason()).startsWith("still stalled under 175 MiB/s per vCPU"));
    }

    @Test
    void aRingTooCoarseForTheDowntime_notUsed_saysWhichRingWouldDo() {
        // 4096 pages = 16 MiB a burst; 500 ms at 64 MiB/s carries 32 MiB: a pass ends with a burst or two still to send
        GuestProfile g = new GuestProfile(1L << 30, 256 * MIB, 300 * MIB, false, 1024);
        Plan coarse = planner.withDirtyLimit(planner.plan(g, 64 * MIB, false, 300, 500, PolicyKind.SAFE, true), new DirtyRing(1, 4096));
        assertThat(coarse.strategy()).isEqualTo(Plan.Strategy.AUTO_CONVERGE);
        assertThat(coarse.reasons()).anySatisfy(r -> assertThat(r).contains("bursts of its dirty ring (4096 pages: 16 MiB for 1 vCPU(s))")
                .contains("a ring of 1024 pages would do"));
        Plan fine = planner.withDirtyLimit(planner.plan(g, 64 * MIB, false, 300, 500, PolicyKind.SAFE, true), new DirtyRing(1, 1024));
        assertThat(fine.strategy()).isEqualTo(Plan.Strategy.DIRTY_LIMIT);
    }

    /** A poll with the link rate too ({@code sentMiBps}). */
    private void poll(long iteration, long remainingMiB, long dirtyMiBps, long sentMiBps, Duration d) {
        long remaining = remainingMiB * MIB;
        src.lastMigration.setStats(new JobStats(0, 1L << 30, 0, remaining, 1L << 30, (1L << 30) - remaining, remaining, sentMiBps * MIB,
                dirtyMiBps * MIB / 4096, 4096, iteration, remaining * 1000 / (sentMiBps * MIB), 0, 0, 0, 0, 0));
        scheduler.advance(d, POLL);
    }

    @Test
    void refusedByTheHypervisor_aDecisionSaysSo_andAStallFallsBackToAutoConverge() {
        start(unmeasured(PolicyKind.SAFE, 1));
        src.lastMigration.refuseDirtyLimit = true;
        FakeHypervisor.FakeMigration first = src.lastMigration;
        run(1, 250, 0, 2500, Duration.ofMillis(2500));
        run(2, 200, 300, 2000, POLL);
        assertThat(actions()).containsExactly("downtime raise skipped", "auto-converge skipped", "limit dirty rate to 25 MiB/s per vCPU",
                "limit dirty rate to 25 MiB/s per vCPU failed");
        assertThat(decisions().get(3).reason()).contains("QEMU refused");
        // the stall detection takes over: the job starts again with auto-converge, as for a VM without the limit
        for (long pass = 3; pass < 12 && src.lastMigration == first; pass++) run(pass, 200, 300, 2000, Duration.ofSeconds(2));
        assertThat(actions()).contains("restart with auto-converge");
        assertThat(first.aborted()).isTrue();
        assertThat(src.lastOptions.autoConverge()).isTrue();
    }

    @Test
    void finishWithPostCopy_staysWithPostCopy_theLimitSkippedForBeingSlower() {
        Plan plan = measured(PolicyKind.FINISH, 300, 1);
        assertThat(plan.strategy()).isEqualTo(Plan.Strategy.POST_COPY);
        start(plan);
        run(1, 250, 0, 2500, POLL);
        assertThat(actions()).containsExactly("downtime raise skipped", "dirty limit skipped", "throttle skipped", "switch to post-copy");
        assertThat(decisions().get(1).reason()).startsWith("post-copy finishes in about");
        assertThat(src.lastMigration.calls).containsExactly("postcopy");
    }

    @Test
    void thinLink_theLimitCannotHoldTheGuestBelowIt_autoConvergeAsWithoutIt() {
        // 30 MiB/s: even 1 MiB/s per vCPU is held only to 26 MiB/s, 0.9x the usable link or more: the plan throttles as before
        GuestProfile g = new GuestProfile(1L << 30, 256 * MIB, 300 * MIB, false, 1024);
        Plan plan = planner.withDirtyLimit(planner.plan(g, 30 * MIB, false, 300, 1000, PolicyKind.SAFE, true), new DirtyRing(1, 1024));
        assertThat(plan.strategy()).isEqualTo(Plan.Strategy.AUTO_CONVERGE);
        assertThat(plan.reasons()).anySatisfy(r -> assertThat(r).contains("dirty limit of 1 MiB/s per vCPU").contains("too much to converge"));
    }

    @Test
    void aVmWithoutTheRing_planAndPolicyAsBefore() {
        Plan plan = measured(PolicyKind.SAFE, 300, 0);
        assertThat(plan.strategy()).isEqualTo(Plan.Strategy.AUTO_CONVERGE);
        assertThat(plan.dirtyRing().usable()).isFalse();
    }
}
