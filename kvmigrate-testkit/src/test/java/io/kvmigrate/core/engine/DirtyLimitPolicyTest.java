package io.kvmigrate.core.engine;

import static io.kvmigrate.core.engine.StagedConvergencePolicyTest.stats;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.MigrationRequest;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.plan.Calibration;
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
        return planner.withDirtyLimit(planner.plan(g, 100 * MIB, false, 300, 1000, kind, true), vcpus);
    }

    private Plan measured(PolicyKind kind, long dirtyMiBps, int vcpus) {
        GuestProfile g = new GuestProfile(1L << 30, 256 * MIB, dirtyMiBps * MIB, false, 1024);
        return planner.withDirtyLimit(planner.plan(g, 100 * MIB, false, 300, 1000, kind, true), vcpus);
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
    void stillStalledUnderTheLimit_halvesIt_atTheMinimumAbortsWithTheVmOnTheSource() {
        CompletableFuture<MigrationReport> f = start(unmeasured(PolicyKind.SAFE, 1));
        run(1, 250, 0, 2500, Duration.ofMillis(2500));
        run(2, 200, 300, 2000, POLL);
        assertThat(src.lastMigration.calls).containsExactly("downtime=1000", "dirtylimit=25");
        // the guest keeps dirtying the link's worth: each budget of passes under the limit halves it, down to 1 MiB/s
        long pass = 3;
        for (int i = 0; i < 40 && !src.lastMigration.aborted(); i++) run(pass++, 200, 100, 2000, Duration.ofSeconds(2));
        assertThat(src.lastMigration.calls).containsSubsequence("dirtylimit=25", "dirtylimit=12", "dirtylimit=6", "dirtylimit=3",
                "dirtylimit=1");
        assertThat(decisions()).filteredOn(d -> d.action().equals("limit dirty rate to 12 MiB/s per vCPU")).singleElement()
                .satisfies(d -> assertThat(d.reason()).startsWith("still stalled under 25 MiB/s per vCPU"));
        assertThat(src.lastMigration.aborted()).isTrue();
        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.NOT_CONVERGING);
            assertThat(e.getMessage()).contains("still running on 'a'");
        });
        assertThat(src.findVm("web")).get().satisfies(v -> assertThat(v.state()).isEqualTo(VmState.RUNNING));
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
        Plan plan = planner.withDirtyLimit(planner.plan(g, 30 * MIB, false, 300, 1000, PolicyKind.SAFE, true), 1);
        assertThat(plan.strategy()).isEqualTo(Plan.Strategy.AUTO_CONVERGE);
        assertThat(plan.reasons()).anySatisfy(r -> assertThat(r).contains("dirty limit of 1 MiB/s per vCPU").contains("too much to converge"));
    }

    @Test
    void aVmWithoutTheRing_planAndPolicyAsBefore() {
        Plan plan = measured(PolicyKind.SAFE, 300, 0);
        assertThat(plan.strategy()).isEqualTo(Plan.Strategy.AUTO_CONVERGE);
        assertThat(plan.dirtyLimitVcpus()).isZero();
    }
}
