package io.kvmigrate.core.engine;

import static io.kvmigrate.core.engine.StagedConvergencePolicyTest.stats;
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
import io.kvmigrate.testkit.ManualScheduler;
import io.kvmigrate.testkit.MutableClock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The model-driven escalation on the fake hypervisor and a hand-moved clock, one guest of each kind: converging (nothing
 * fires), throttle-able (safe: the throttle sized from the rate; finish: post-copy, the throttle skipped with its
 * reason) and hopeless (safe aborts at once with the model's reason). The step is taken at the first poll that knows the
 * dirty rate (pass 2 when the migration started unmeasured, the first poll when it was measured): no stall is waited for.
 * The guest: 1 GiB, 256 MiB non-zero, a link of 100 MiB/s, {@code --max-downtime} 1000 ms.
 */
class ModelDrivenPolicyTest {
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

    private static Plan unmeasured(PolicyKind kind) {
        GuestProfile g = new GuestProfile(1L << 30, 256 * MIB, 0, false, 1024, GuestProfile.Rate.SKIPPED_SHORT);
        return new Planner(Calibration.lab()).plan(g, 100 * MIB, false, 300, 1000, kind, true);
    }

    private static Plan measured(PolicyKind kind, long dirtyMiBps) {
        GuestProfile g = new GuestProfile(1L << 30, 256 * MIB, dirtyMiBps * MIB, false, 1024);
        return new Planner(Calibration.lab()).plan(g, 100 * MIB, false, 300, 1000, kind, true);
    }

    private CompletableFuture<MigrationReport> start(Plan plan) {
        ConvergencePolicy policy = StagedConvergencePolicy.forPlan(plan, StagedConvergencePolicy.Settings.defaults(), false, 0);
        return new LiveMigration(src, dst, clock, scheduler, events::add, POLL, policy).noProgressTimeout(Duration.ofDays(1))
                .start(new MigrationRequest("web", src.host(), dst.host(), 100, 1000, null));
    }

    private void run(JobStats s, Duration d) {
        src.lastMigration.setStats(s);
        scheduler.advance(d, POLL);
    }

    private List<MigrationEvent.Decision> decisions() {
        return events.stream().filter(e -> e instanceof MigrationEvent.Decision).map(e -> (MigrationEvent.Decision) e).toList();
    }

    private List<String> actions() {
        return decisions().stream().map(MigrationEvent.Decision::action).toList();
    }

    /** Every decision has a reason; every skip says why. */
    private void everyDecisionHasAReason() {
        assertThat(decisions()).allSatisfy(d -> assertThat(d.reason()).isNotBlank());
    }

    @Test
    void converging_finishAndSafe_nothingFiresWhileItProgresses() {
        for (PolicyKind kind : List.of(PolicyKind.FINISH, PolicyKind.SAFE)) {
            events.clear();
            if (kind == PolicyKind.SAFE) hosts();
            CompletableFuture<MigrationReport> f = start(unmeasured(kind));
            run(stats(1, 250, 0, 2500, 0), Duration.ofMillis(2500));
            long peak = 120; // 0.5x the link: each pass half the one before
            for (int pass = 2; pass <= 6; pass++) {
                run(stats(pass, peak, 50, peak * 10, 0), POLL);
                run(stats(pass, peak / 3, 50, peak * 3, 0), POLL);
                peak /= 2;
            }
            assertThat(decisions()).as(kind.label()).isEmpty();
            assertThat(src.lastMigration.calls).isEmpty();
            src.lastMigration.succeed(stats(7, 0, 0, 40, 0));
            assertThat(f.join().placement().runsOnlyOn("b")).isTrue();
        }
    }

    @Test
    void converging_needsAHigherLimit_raisedAtTheFirstRateThenNothingMore() {
        start(unmeasured(PolicyKind.SAFE));
        run(stats(1, 250, 0, 2500, 0), Duration.ofMillis(2500));
        // pass 2: 40 MiB a pass at 1.0x the link needs 400 ms, above 300 ms, within 1000 ms
        run(stats(2, 40, 100, 400, 0), POLL);
        assertThat(actions()).containsExactly("raise downtime limit to 600 ms");
        assertThat(decisions().get(0).reason()).contains("needs about 440 ms").contains("within {maxDowntime} 1000 ms");
        assertThat(src.lastMigration.calls).containsExactly("downtime=600");
        run(stats(3, 40, 100, 400, 0), Duration.ofSeconds(2));
        assertThat(actions()).hasSize(1);
    }

    @Test
    void throttleable_safeUnmeasured_startsAgainAtTheFirstRateWithAThrottleSizedFromIt_climbsTo99_completes() {
        CompletableFuture<MigrationReport> f = start(unmeasured(PolicyKind.SAFE));
        FakeHypervisor.FakeMigration first = src.lastMigration;
        assertThat(src.lastOptions.autoConverge()).isFalse();
        run(stats(1, 250, 0, 2500, 0), Duration.ofMillis(2500));
        assertThat(decisions()).isEmpty();
        // the first poll of pass 2 knows the rate: 3.0x the link, so no pre-copy pass can shrink; 300 MiB/s over the 2.5 s pass
        // is more than the 256 MiB the guest has: the rate is a lower bound, so the throttle starts at 90 % and then goes to 99 %
        run(stats(2, 200, 300, 2000, 0), POLL);
        assertThat(actions()).containsExactly("downtime raise skipped", "restart with auto-converge", "started again");
        assertThat(decisions().get(0).reason()).contains("above {maxDowntime} 1000 ms");
        assertThat(decisions().get(1).reason()).contains("a 90 % throttle leaves 0.30x the link").contains("keeps running on the source")
                .contains("throttling from 90% plus 9% a pass up to 99%");
        assertThat(first.aborted()).isTrue();
        assertThat(src.lastOptions.autoConverge()).isTrue();
        assertThat(src.lastOptions.throttleInitialPercent()).isEqualTo(90);
        assertThat(src.lastOptions.throttleIncrementPercent()).isEqualTo(9);
        assertThat(src.lastOptions.maxDowntimeMs()).isEqualTo(1000);
        // the new job: QEMU throttles at 90, then 99 %; the policy only reports it, and never gives up while it climbs
        run(stats(1, 250, 0, 2500, 0), Duration.ofMillis(2500));
        run(stats(2, 200, 300, 2000, 0), Duration.ofSeconds(2));
        run(stats(3, 200, 300, 2000, 0), Duration.ofSeconds(2));
        run(stats(4, 200, 30, 2000, 90), Duration.ofSeconds(2));
        run(stats(5, 150, 30, 1500, 90), Duration.ofSeconds(2));
        run(stats(6, 140, 30, 1400, 90), Duration.ofSeconds(2));
        run(stats(7, 140, 3, 1400, 99), Duration.ofSeconds(2));
        assertThat(actions()).containsExactly("downtime raise skipped", "restart with auto-converge", "started again",
                "throttle at 90%", "throttle at 99%");
        assertThat(src.lastMigration.aborted()).isFalse();
        src.lastMigration.succeed(stats(8, 0, 0, 60, 0));
        assertThat(f.join().placement().runsOnlyOn("b")).isTrue();
        everyDecisionHasAReason();
    }

    @Test
    void throttleable_safeMeasured_armedAtStartFromTheNeededLevel_noRestart() {
        Plan plan = measured(PolicyKind.SAFE, 300);
        assertThat(plan.strategy()).isEqualTo(Plan.Strategy.AUTO_CONVERGE);
        start(plan);
        FakeHypervisor.FakeMigration only = src.lastMigration;
        assertThat(src.lastOptions.autoConverge()).isTrue();
        // 300 MiB/s against 95 MiB/s usable (3.2x): 85 % leaves 0.47x; two steps of 7 to 99 %
        assertThat(src.lastOptions.throttleInitialPercent()).isEqualTo(85);
        assertThat(src.lastOptions.throttleIncrementPercent()).isEqualTo(7);
        run(stats(1, 250, 0, 2500, 0), POLL);
        assertThat(actions()).containsExactly("downtime raise skipped", "throttle the guest");
        // the throttle converges under --max-downtime: the limit goes there with it
        assertThat(decisions().get(1).reason()).contains("downtime limit raised to {maxDowntime} 1000 ms");
        assertThat(only.calls).containsExactly("downtime=1000");
        run(stats(1, 50, 0, 500, 0), Duration.ofSeconds(2));
        run(stats(2, 200, 300, 2000, 0), Duration.ofSeconds(2));
        assertThat(actions()).hasSize(2);
        assertThat(src.lastMigration).isSameAs(only);
        everyDecisionHasAReason();
    }

    @Test
    void throttleable_throttleAt99StillStalled_abortsWithTheVmOnTheSource() {
        CompletableFuture<MigrationReport> f = start(measured(PolicyKind.SAFE, 300));
        run(stats(1, 250, 0, 2500, 0), Duration.ofMillis(2500));
        run(stats(2, 200, 300, 2000, 85), Duration.ofSeconds(2));
        run(stats(3, 200, 200, 2000, 92), Duration.ofSeconds(2));
        run(stats(4, 200, 150, 2000, 99), Duration.ofSeconds(2));
        assertThat(src.lastMigration.aborted()).isFalse();
        // at 99 % the budget counts: four passes without converging (two more than below it: the last thing safe has)
        for (int pass = 5; pass <= 7; pass++) run(stats(pass, 200, 150, 2000, 99), Duration.ofSeconds(2));
        assertThat(src.lastMigration.aborted()).isFalse();
        for (int pass = 8; pass <= 9; pass++) run(stats(pass, 200, 150, 2000, 99), Duration.ofSeconds(2));
        assertThat(src.lastMigration.aborted()).isTrue();
        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.NOT_CONVERGING);
            assertThat(e.getMessage()).contains("throttle 99%").contains("still running on 'a'");
        });
        assertThat(src.findVm("web")).get().satisfies(v -> assertThat(v.state()).isEqualTo(VmState.RUNNING));
    }

    @Test
    void throttleable_finishUnmeasured_postCopyAtTheFirstRate_theThrottleSkippedForBeingSlower() {
        CompletableFuture<MigrationReport> f = start(unmeasured(PolicyKind.FINISH));
        FakeHypervisor.FakeMigration only = src.lastMigration;
        assertThat(src.lastOptions.postCopyAllowed()).isTrue();
        assertThat(src.lastOptions.autoConverge()).isFalse();
        run(stats(1, 250, 0, 2500, 0), Duration.ofMillis(2500));
        assertThat(decisions()).isEmpty();
        run(stats(2, 200, 300, 2000, 0), POLL);
        assertThat(actions()).containsExactly("downtime raise skipped", "throttle skipped", "switch to post-copy");
        assertThat(decisions().get(1).reason()).contains("post-copy finishes in about 2.6 s").contains("a 90 % throttle")
                .contains("starting the job again");
        assertThat(decisions().get(2).reason()).contains("3.0x the link").contains("sends each remaining page once");
        assertThat(only.calls).containsExactly("postcopy");
        assertThat(src.lastMigration).isSameAs(only);
        only.succeed(stats(2, 0, 0, 80, 0));
        assertThat(f.join().placement().runsOnlyOn("b")).isTrue();
        everyDecisionHasAReason();
    }

    @Test
    void hopeless_finishMeasured_postCopyAtTheFirstPoll() {
        Plan plan = measured(PolicyKind.FINISH, 30_000);
        assertThat(plan.strategy()).isEqualTo(Plan.Strategy.POST_COPY);
        assertThat(plan.autoConverge()).isFalse();
        start(plan);
        // the job's first statistics: nothing sent, nothing counted as remaining yet (seen in the lab): still the whole guest to move
        run(new JobStats(0, 0, 0, 0, 1L << 30, 0, 0, 100 * MIB, 0, 4096, 1, 0, 0, 0, 0, 0, 0), POLL);
        assertThat(actions()).containsExactly("downtime raise skipped", "throttle skipped", "switch to post-copy");
        assertThat(decisions().get(1).reason()).contains("even a 99 % throttle leaves");
        assertThat(src.lastMigration.calls).containsExactly("postcopy");
    }

    @Test
    void hopeless_safeUnmeasured_abortsAtTheFirstRateWithTheModelsReason_vmOnTheSource() {
        CompletableFuture<MigrationReport> f = start(unmeasured(PolicyKind.SAFE));
        FakeHypervisor.FakeMigration only = src.lastMigration;
        run(stats(1, 250, 0, 2500, 0), Duration.ofMillis(2500));
        // 20 GiB/s against 100 MiB/s: even at 99 % the guest dirties twice what the link carries
        run(stats(2, 200, 20_000, 2000, 0), POLL);
        assertThat(actions()).containsExactly("downtime raise skipped", "throttle skipped", "abort");
        assertThat(decisions().get(1).reason()).contains("even a 99 % throttle leaves 2.00x");
        assertThat(only.aborted()).isTrue();
        assertThat(src.lastMigration).isSameAs(only);
        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.NOT_CONVERGING);
            assertThat(e.getMessage()).contains("pre-copy cannot converge").contains("not allowed by {policy} safe").contains("still running on 'a'");
        });
        assertThat(src.findVm("web")).get().satisfies(v -> assertThat(v.state()).isEqualTo(VmState.RUNNING));
        assertThat(dst.findVm("web")).isEmpty();
        everyDecisionHasAReason();
    }

    @Test
    void emulatedGuestOnOldQemu_safe_neverThrottles_abortsAtTheFirstRateSayingWhy() {
        GuestProfile g = new GuestProfile(1L << 30, 256 * MIB, 0, false, 1024, GuestProfile.Rate.SKIPPED_SHORT);
        String hazard = io.kvmigrate.core.plan.KnownBugs.throttleHazard("qemu", 7_002_022);
        Plan plan = new Planner(Calibration.lab()).plan(g, 100 * MIB, false, 300, 1000, PolicyKind.SAFE, true, true, hazard);
        CompletableFuture<MigrationReport> f = start(plan);
        FakeHypervisor.FakeMigration only = src.lastMigration;
        assertThat(src.lastOptions.autoConverge()).isFalse();
        run(stats(1, 250, 0, 2500, 0), Duration.ofMillis(2500));
        run(stats(2, 200, 300, 2000, 0), POLL);
        assertThat(actions()).containsExactly("downtime raise skipped", "throttle skipped", "abort");
        assertThat(decisions().get(1).reason()).contains("software-emulated").contains("7.2.22");
        assertThat(src.lastMigration).isSameAs(only);
        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(KvmigrateException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_CONVERGING));
        assertThat(src.findVm("web")).get().satisfies(v -> assertThat(v.state()).isEqualTo(VmState.RUNNING));
    }

    @Test
    void hopeless_finishMeasured_waitsForQemusMigrationThenSwitches_andAsksAgainWhenRefused() {
        start(measured(PolicyKind.FINISH, 30_000));
        // libvirt's job exists before QEMU's migration runs (the target is being prepared): nothing sent, no rate yet
        run(new JobStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 4096, 0, 0, 0, 0, 0, 0, 0), POLL);
        assertThat(decisions()).isEmpty();
        // QEMU refused the first switch (in the lab: "Enable postcopy with migrate_set_capability before the start of migration")
        hv.faults().on("a", io.kvmigrate.testkit.FaultPlan.Op.POSTCOPY_SWITCH).once().fail(ErrorCode.LIBVIRT_ERROR, "not yet");
        run(stats(1, 250, 0, 2500, 0), POLL);
        assertThat(actions()).endsWith("switch to post-copy failed");
        assertThat(src.lastMigration.calls).isEmpty();
        run(stats(1, 240, 0, 2400, 0), POLL);
        assertThat(actions()).containsExactly("downtime raise skipped", "throttle skipped", "switch to post-copy",
                "switch to post-copy failed", "switch to post-copy");
        assertThat(src.lastMigration.calls).containsExactly("postcopy");
    }

    @Test
    void converging_slowLinkWithAFirstPassOfMinutes_noStallCalledAtPass2() {
        // the lab's 0.3x guest under load: a 7 MiB/s cap, a first pass of 40 s, then 0.86x the link: slow, but converging
        start(unmeasured(PolicyKind.SAFE));
        run(stats(1, 250, 0, 2500, 0), Duration.ofSeconds(40));
        run(stats(2, 150, 86, 1500, 0), Duration.ofSeconds(2));
        assertThat(decisions()).isEmpty();
        // passes of 27 s: no new low within the 15 s window is no stall either
        run(stats(2, 100, 86, 1000, 0), Duration.ofSeconds(25));
        run(stats(3, 130, 86, 1300, 0), Duration.ofSeconds(20));
        assertThat(decisions()).isEmpty();
        assertThat(src.lastMigration.aborted()).isFalse();
    }
}
