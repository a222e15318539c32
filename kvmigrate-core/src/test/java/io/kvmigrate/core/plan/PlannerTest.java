package io.kvmigrate.core.plan;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PlannerTest {
    private static final long MIB = 1 << 20;
    private final Planner planner = new Planner(new Calibration(0, Long.MAX_VALUE, 1.0, 0));

    private static GuestProfile guest(long dirtyMiBps) {
        return new GuestProfile(1024 * MIB, 256 * MIB, dirtyMiBps * MIB, false, 2048);
    }

    @Test
    void plan_converging_preCopyWithoutAutoConverge() {
        Plan p = planner.plan(guest(20), 64 * MIB, false, 300, 1000, PolicyKind.SAFE, true);
        assertThat(p.strategy()).isEqualTo(Plan.Strategy.PRE_COPY);
        assertThat(p.plainPreCopy().converges()).isTrue();
        assertThat(p.autoConverge()).isFalse();
        assertThat(p.postCopy()).isFalse();
        assertThat(p.expectedToComplete()).isTrue();
        assertThat(p.expectedTotalMs()).isEqualTo(p.plainPreCopy().totalMs());
    }

    @Test
    void plan_finishConverging_keepsPostCopyAsInsurance() {
        Plan p = planner.plan(guest(20), 64 * MIB, false, 300, 1000, PolicyKind.FINISH, true);
        assertThat(p.postCopy()).isTrue();
        assertThat(p.autoConverge()).isFalse();
    }

    @Test
    void plan_convergesOnlyWithHigherLimit_raisesDowntime() {
        // 256 MiB per pass shrinks by 0.9: needs many passes at 300 ms but the tail fits 1000 ms sooner
        GuestProfile g = new GuestProfile(1024 * MIB, 64 * MIB, 63 * MIB, false, 2048);
        Plan p = planner.plan(g, 64 * MIB, false, 300, 1000, PolicyKind.SAFE, true);
        assertThat(p.plainPreCopy().converges()).isFalse();
        assertThat(p.strategy()).isEqualTo(Plan.Strategy.PRE_COPY_RAISED_DOWNTIME);
        assertThat(p.expectedToComplete()).isTrue();
    }

    @Test
    void plan_finishNotConverging_postCopyAtTheStartWithoutThrottle() {
        Plan p = planner.plan(guest(200), 64 * MIB, false, 300, 1000, PolicyKind.FINISH, true);
        assertThat(p.strategy()).isEqualTo(Plan.Strategy.POST_COPY);
        // post-copy sends each page once, a throttled pre-copy resends them: never armed next to post-copy
        assertThat(p.autoConverge()).isFalse();
        assertThat(p.postCopy()).isTrue();
        assertThat(p.expectedDowntimeMs()).isLessThanOrEqualTo(1000);
        assertThat(p.reasons()).anyMatch(r -> r.contains("does not converge"));
        assertThat(p.reasons()).anyMatch(r -> r.contains("throttle skipped: a 84 % throttle") && r.contains("at the start"));
        // 3.1x the link: switched at the start, each page sent once: the floor (no fixed cost in this calibration)
        assertThat(p.expectedTotalMs()).isEqualTo(p.floorMs());
    }

    @Test
    void plan_safeThrottleable_autoConvergeFromTheLevelTheRateNeeds() {
        Plan p = planner.plan(guest(200), 64 * MIB, false, 300, 1000, PolicyKind.SAFE, true);
        assertThat(p.strategy()).isEqualTo(Plan.Strategy.AUTO_CONVERGE);
        assertThat(p.autoConverge()).isTrue();
        assertThat(p.expectedToComplete()).isTrue();
        ConvergenceModel.Throttle t = Planner.throttleFor(p);
        // 200 / 64 = 3.1x: 84 % leaves 0.50x, then two steps to 99 %; the policy's steps (at the lab's 95 % link efficiency, 3.3x)
        assertThat(p.reasons()).anyMatch(r -> r.contains("from 84 % plus 8 % a pass up to 99 %"));
        assertThat(t.initialPercent()).isEqualTo(85);
        assertThat(t.incrementPercent()).isEqualTo(7);
    }

    @Test
    void plan_safeHopeless_abortsAtTheStartWithTheModelsReason() {
        // 64 GiB/s against 64 MiB/s: even 99 % leaves 10x the link
        Plan p = planner.plan(new GuestProfile(1024 * MIB, 256 * MIB, 65536 * MIB, false, 2048), 64 * MIB, false, 300, 1000,
                PolicyKind.SAFE, true);
        assertThat(p.strategy()).isEqualTo(Plan.Strategy.ABORT_NOT_CONVERGING);
        assertThat(p.expectedToComplete()).isFalse();
        assertThat(p.reasons()).anyMatch(r -> r.contains("even a 99 % throttle leaves") && r.contains("nothing allowed can converge"));
    }

    @Test
    void plan_finishNotConvergingEmulatedGuestOnOldQemu_postCopyWithoutThrottle() {
        String hazard = KnownBugs.throttleHazard("qemu", 7_002_000);
        Plan p = planner.plan(guest(200), 64 * MIB, false, 300, 1000, PolicyKind.FINISH, true, true, hazard);
        assertThat(p.strategy()).isEqualTo(Plan.Strategy.POST_COPY_NO_THROTTLE);
        assertThat(p.autoConverge()).isFalse();
        assertThat(p.postCopy()).isTrue();
        assertThat(p.throttleAvoided()).isEqualTo(hazard);
        assertThat(p.reasons()).anyMatch(r -> r.contains("throttle skipped"));
        // no throttle stage to sit through: sooner than the plan with one
        assertThat(p.autoConverge()).isFalse();
        // the throttle itself corrupts such a guest: safe does not throttle either, it aborts when pre-copy stalls
        Plan safe = planner.plan(guest(200), 64 * MIB, false, 300, 1000, PolicyKind.SAFE, true, true, hazard);
        assertThat(safe.strategy()).isEqualTo(Plan.Strategy.PRE_COPY_NO_THROTTLE);
        assertThat(safe.autoConverge()).isFalse();
        assertThat(safe.expectedToComplete()).isFalse();
        assertThat(safe.throttleAvoided()).isEqualTo(hazard);
        // a converging guest with a thin margin gets no auto-converge as insurance either
        assertThat(planner.plan(guest(56), 64 * MIB, false, 300, 1000, PolicyKind.SAFE, true, true, hazard).autoConverge()).isFalse();
    }

    @Test
    void plan_finishWithoutPostCopySupport_fallsBackToSafe() {
        Plan p = planner.plan(guest(200), 64 * MIB, false, 300, 1000, PolicyKind.FINISH, false);
        assertThat(p.strategy()).isEqualTo(Plan.Strategy.AUTO_CONVERGE);
        assertThat(p.postCopy()).isFalse();
        assertThat(p.expectedToComplete()).isTrue();
        assertThat(p.reasons()).anyMatch(r -> r.contains("post-copy is not available"));
    }

    @Test
    void plan_plainNotConverging_unboundedWithoutOptions() {
        Plan p = planner.plan(guest(200), 64 * MIB, false, 300, 1000, PolicyKind.PLAIN, true);
        assertThat(p.strategy()).isEqualTo(Plan.Strategy.UNBOUNDED);
        assertThat(p.autoConverge()).isFalse();
        assertThat(p.postCopy()).isFalse();
        assertThat(p.expectedTotalMs()).isEqualTo(-1);
    }

    @Test
    void plan_convergingWithThinMargin_enablesAutoConvergeAsInsurance() {
        Plan p = planner.plan(guest(56), 64 * MIB, false, 300, 1000, PolicyKind.SAFE, true);
        assertThat(p.strategy()).isEqualTo(Plan.Strategy.PRE_COPY);
        assertThat(p.plainPreCopy().converges()).isTrue();
        assertThat(p.autoConverge()).isTrue();
        assertThat(p.reasons()).anyMatch(r -> r.contains("thin margin"));
    }

    @Test
    void measurementDecision_byShortestPossibleMigration_measuresOnlyWhenItCostsAtMostATwentieth() {
        Planner lab = new Planner(new Calibration(2400, 2048 * MIB, 1.0, 100));
        assertThat(lab.measurementDecision(4 * MIB, 64 * MIB, 300, 1)).isEqualTo(GuestProfile.Rate.IRRELEVANT);
        // 256 MiB at 64 MiB/s: 2.4 + 4 s at least; 1.1 s of measuring would be 17%
        assertThat(lab.measurementDecision(256 * MIB, 64 * MIB, 300, 1)).isEqualTo(GuestProfile.Rate.SKIPPED_SHORT);
        // 1 GiB at 64 MiB/s: 2.4 + 16 s at least; 1.1 s is 6%
        assertThat(lab.measurementDecision(1024 * MIB, 64 * MIB, 300, 1)).isEqualTo(GuestProfile.Rate.SKIPPED_SHORT);
        // 2 GiB at 64 MiB/s: 2.4 + 32 s at least; 1.1 s is 3%
        assertThat(lab.measurementDecision(2048 * MIB, 64 * MIB, 300, 1)).isEqualTo(GuestProfile.Rate.MEASURED);
        // the boundary: 22 s at least is exactly 20x the 1.1 s a 1 s measurement costs
        assertThat(lab.measurementDecision(19700 * MIB / 10, 100 * MIB, 300, 1)).isEqualTo(GuestProfile.Rate.MEASURED);
        assertThat(lab.measurementDecision(19500 * MIB / 10, 100 * MIB, 300, 1)).isEqualTo(GuestProfile.Rate.SKIPPED_SHORT);
    }

    @Test
    void measurementDecision_finish_measuresWheneverTheRateCanMatter() {
        Planner lab = new Planner(new Calibration(2400, 2048 * MIB, 1.0, 100));
        // a short migration: safe starts at once; finish measures, to switch a hopeless guest to post-copy at the start
        assertThat(lab.measurementDecision(256 * MIB, 64 * MIB, 300, 1, PolicyKind.SAFE)).isEqualTo(GuestProfile.Rate.SKIPPED_SHORT);
        assertThat(lab.measurementDecision(256 * MIB, 64 * MIB, 300, 1, PolicyKind.FINISH)).isEqualTo(GuestProfile.Rate.MEASURED);
        assertThat(lab.measurementDecision(4 * MIB, 64 * MIB, 300, 1, PolicyKind.FINISH)).isEqualTo(GuestProfile.Rate.IRRELEVANT);
    }

    @Test
    void plan_rateNotMeasured_lowerBoundWithoutAutoConvergeAndNoConvergenceCall() {
        GuestProfile g = new GuestProfile(1024 * MIB, 256 * MIB, 0, false, 2048, GuestProfile.Rate.SKIPPED_SHORT);
        Plan safe = planner.plan(g, 64 * MIB, false, 300, 1000, PolicyKind.SAFE, true);
        assertThat(safe.strategy()).isEqualTo(Plan.Strategy.PRE_COPY_UNMEASURED);
        assertThat(safe.lowerBoundOnly()).isTrue();
        assertThat(safe.autoConverge()).isFalse();
        assertThat(safe.postCopy()).isFalse();
        assertThat(safe.expectedTotalMs()).isEqualTo(4000); // one pass of 256 MiB at 64 MiB/s, no fixed cost in this calibration
        assertThat(safe.expectedDowntimeMs()).isEqualTo(-1);
        assertThat(safe.reasons()).anyMatch(r -> r.contains("dirty rate not measured"));
        assertThat(planner.plan(g, 64 * MIB, false, 300, 1000, PolicyKind.FINISH, true).postCopy()).isTrue();
    }

    @Test
    void plan_notConvergingForAMigrationStartedUnmeasured_throttlesInASecondAttempt() {
        Plan armed = planner.plan(guest(200), 64 * MIB, false, 300, 1000, PolicyKind.FINISH, true, true);
        Plan unarmed = planner.plan(guest(200), 64 * MIB, false, 300, 1000, PolicyKind.FINISH, true, false);
        assertThat(unarmed.strategy()).isEqualTo(Plan.Strategy.POST_COPY);
        assertThat(unarmed.autoConverge()).isFalse();
        // started unmeasured, the switch waits for the first pass's dirty rate: later than the measured plan's
        assertThat(unarmed.expectedTotalMs()).isGreaterThan(armed.expectedTotalMs());
        assertThat(unarmed.reasons()).anyMatch(r -> r.contains("after the first pass"));
        Plan safe = planner.plan(guest(200), 64 * MIB, false, 300, 1000, PolicyKind.SAFE, true, false);
        assertThat(safe.strategy()).isEqualTo(Plan.Strategy.RESTART_AUTO_CONVERGE);
        assertThat(safe.autoConverge()).isFalse();
        assertThat(safe.expectedToComplete()).isTrue();
        assertThat(safe.reasons()).anyMatch(r -> r.contains("started again with auto-converge from 84 %"));
        // a converging guest with a thin margin gets no insurance either, and the plan says so
        Plan thin = planner.plan(guest(56), 64 * MIB, false, 300, 1000, PolicyKind.SAFE, true, false);
        assertThat(thin.autoConverge()).isFalse();
        assertThat(thin.reasons()).anyMatch(r -> r.contains("{measure} arms it"));
    }

    @Test
    void dirtyRateIrrelevant_smallOrLargeNonZeroMemory_onlyWhenAllOfItFitsTheLimit() {
        assertThat(planner.dirtyRateIrrelevant(4 * MIB, 64 * MIB, 300)).isTrue();   // 62 ms x 1.2 + 40 ms
        assertThat(planner.dirtyRateIrrelevant(16 * MIB, 64 * MIB, 300)).isFalse(); // 250 ms x 1.2 + 40 ms
    }
}
