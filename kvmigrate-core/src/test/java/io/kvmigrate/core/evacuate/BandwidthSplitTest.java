package io.kvmigrate.core.evacuate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BandwidthSplitTest {
    static final long MIB = 1 << 20;

    @Test
    void divide_randomDemands_neverAboveTheTotal_eachAtLeastTheFloor_noneAboveItsWant_andNothingIdleThatOneCouldUse() {
        Random r = new Random(3);
        for (int round = 0; round < 5000; round++) {
            int n = 1 + r.nextInt(40);
            long total = n + r.nextInt(5000);
            List<BandwidthSplit.Demand> demands = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                long want = switch (r.nextInt(3)) {
                    case 0 -> BandwidthSplit.ALL;
                    case 1 -> BandwidthSplit.FLOOR_MIBPS;
                    default -> 1 + r.nextInt(800);
                };
                demands.add(new BandwidthSplit.Demand("m" + i, want, 1 + r.nextDouble() * 30));
            }
            Map<String, Long> caps = BandwidthSplit.divide(total, demands);
            assertThat(caps).hasSize(n);
            long sum = caps.values().stream().mapToLong(Long::longValue).sum();
            assertThat(sum).as("round %d", round).isLessThanOrEqualTo(total);
            boolean someoneWantsMore = false;
            for (BandwidthSplit.Demand d : demands) {
                long cap = caps.get(d.key());
                assertThat(cap).isGreaterThanOrEqualTo(BandwidthSplit.FLOOR_MIBPS).isLessThanOrEqualTo(Math.max(BandwidthSplit.FLOOR_MIBPS, d.wantMiBps()));
                someoneWantsMore |= cap < d.wantMiBps();
            }
            // work-conserving: when a move could use more, at most the rounding (under 1 MiB/s a move) is left unused
            if (someoneWantsMore) assertThat(total - sum).as("round %d", round).isLessThanOrEqualTo(n);
        }
    }

    @Test
    void divide_whatAMoveCannotUse_goesToTheOthers() {
        Map<String, Long> caps = BandwidthSplit.divide(300, List.of(new BandwidthSplit.Demand("sending", BandwidthSplit.ALL),
                new BandwidthSplit.Demand("checking", BandwidthSplit.FLOOR_MIBPS), new BandwidthSplit.Demand("zero pages", 20),
                new BandwidthSplit.Demand("also sending", BandwidthSplit.ALL)));
        assertThat(caps).containsEntry("checking", 1L).containsEntry("zero pages", 20L);
        assertThat(caps.get("sending") + caps.get("also sending")).isEqualTo(279);
        assertThat(caps.get("sending")).isBetween(139L, 140L);
        // equal caps would have given each 75 MiB/s, leaving 74 + 55 of them unused
    }

    @Test
    void divide_aBusyGuestWeighsMore_butEveryMoveKeepsItsFloor() {
        double equal = 100.0 * MIB;
        Map<String, Long> caps = BandwidthSplit.divide(200, List.of(
                new BandwidthSplit.Demand("idle", BandwidthSplit.ALL, BandwidthSplit.weight(0, equal)),
                new BandwidthSplit.Demand("busy", BandwidthSplit.ALL, BandwidthSplit.weight(30 * MIB, equal))));
        assertThat(caps.get("busy")).isGreaterThan(caps.get("idle"));
        assertThat(caps.get("idle")).isGreaterThanOrEqualTo(1L);
        assertThat(caps.get("busy") + caps.get("idle")).isLessThanOrEqualTo(200L);
        assertThat(BandwidthSplit.weight(0, equal)).isEqualTo(1.0);
    }

    @Test
    void divide_lessThanTheFloorForEach_isRefused() {
        assertThatThrownBy(() -> BandwidthSplit.divide(2, List.of(new BandwidthSplit.Demand("a", 5), new BandwidthSplit.Demand("b", 5),
                new BandwidthSplit.Demand("c", 5)))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void wantMiBps_fromWhatTheMoveReported() {
        assertThat(BandwidthSplit.wantMiBps(false, 0, 100)).as("checking, before its migration exists").isEqualTo(BandwidthSplit.FLOOR_MIBPS);
        assertThat(BandwidthSplit.wantMiBps(true, 0, 100)).as("its migration exists, no rate yet: about to send").isEqualTo(BandwidthSplit.ALL);
        assertThat(BandwidthSplit.wantMiBps(true, 95 * MIB, 100)).as("at its cap").isEqualTo(BandwidthSplit.ALL);
        assertThat(BandwidthSplit.wantMiBps(true, 10 * MIB, 100)).as("limited elsewhere: twice its rate").isEqualTo(20);
        assertThat(BandwidthSplit.wantMiBps(true, MIB, 1)).as("at the floor and using it").isEqualTo(BandwidthSplit.ALL);
    }
}
