package io.kvmigrate.core.evacuate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.plan.Calibration;
import io.kvmigrate.core.plan.GuestProfile;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DrainSchedulerTest {
    static final long MIB = 1 << 20;

    static HostRef host(String name) {
        return new HostRef(name, "qemu+tcp://" + name + "/system");
    }

    static PlannedMove move(int id, String src, String dst, long nonZeroMiB, long dirtyMiBps) {
        GuestProfile g = new GuestProfile(nonZeroMiB * 2 * MIB, nonZeroMiB * MIB, dirtyMiBps * MIB, false, 64);
        return new PlannedMove(id, "vm" + id, "u" + id, host(src), host(dst), true, nonZeroMiB * 2048, 1, 0, new MoveEstimate(g, 300,
                Calibration.lab()));
    }

    /** The most moves running at once at any instant of a schedule, in all, out of one host and into one host. */
    static int[] peaks(DrainSchedule s) {
        int[] peak = new int[3];
        for (DrainSchedule.Slot a : s.moves()) {
            long t = a.startMs();
            int total = 0;
            java.util.Map<String, Integer> out = new java.util.HashMap<>();
            java.util.Map<String, Integer> in = new java.util.HashMap<>();
            for (DrainSchedule.Slot b : s.moves()) {
                if (b.startMs() <= t && t < b.endMs()) {
                    total++;
                    out.merge(b.move().source().name(), 1, Integer::sum);
                    in.merge(b.move().target().name(), 1, Integer::sum);
                }
            }
            peak[0] = Math.max(peak[0], total);
            peak[1] = Math.max(peak[1], out.values().stream().mapToInt(Integer::intValue).max().orElse(0));
            peak[2] = Math.max(peak[2], in.values().stream().mapToInt(Integer::intValue).max().orElse(0));
        }
        return peak;
    }

    @Test
    void schedule_limitsHoldAtEveryInstant_andTheLinkIsNotOversubscribed() {
        Random r = new Random(7);
        List<PlannedMove> moves = new ArrayList<>();
        for (int i = 0; i < 120; i++) moves.add(move(i, "s" + (i % 4), "t" + r.nextInt(9), 256 + r.nextInt(4096), r.nextInt(20)));
        DrainLimits limits = new DrainLimits(8, 3, 2);
        DrainSchedule s = DrainScheduler.schedule(moves, limits, 1000 * MIB, true);
        int[] p = peaks(s);
        assertThat(p[0]).isLessThanOrEqualTo(8);
        assertThat(p[1]).isLessThanOrEqualTo(3);
        assertThat(p[2]).isLessThanOrEqualTo(2);
        assertThat(s.moves()).hasSize(120);
        assertThat(s.shareBps() * p[0]).isLessThanOrEqualTo(1000 * MIB);
        assertThat(s.makespanMs()).isGreaterThanOrEqualTo(s.boundMs());
    }

    @Test
    void schedule_longestFirst() {
        List<PlannedMove> moves = List.of(move(1, "s", "t1", 100, 0), move(2, "s", "t2", 4000, 0), move(3, "s", "t3", 1000, 0));
        DrainSchedule s = DrainScheduler.schedule(moves, new DrainLimits(1, 1, 1), 100 * MIB, true);
        assertThat(s.moves()).extracting(m -> m.move().vm()).containsExactly("vm2", "vm3", "vm1");
    }

    @Test
    void schedule_dividesTheTotal_soEachMoveStillConverges() {
        // a guest dirtying 60 MiB/s converges at 100 MiB/s alone but not at 50 MiB/s beside another move
        List<PlannedMove> moves = List.of(move(1, "s", "t1", 2000, 60), move(2, "s", "t2", 2000, 60));
        DrainSchedule s = DrainScheduler.schedule(moves, new DrainLimits(2, 2, 2), 100 * MIB, true);
        assertThat(s.concurrency()).isEqualTo(1);
        assertThat(s.shareBps()).isEqualTo(100 * MIB);
        assertThat(s.notConverging()).isEmpty();
        // idle guests: two at once share the link and save the fixed costs
        DrainSchedule idle = DrainScheduler.schedule(List.of(move(1, "s", "t1", 2000, 0), move(2, "s", "t2", 2000, 0)),
                new DrainLimits(2, 2, 2), 100 * MIB, true);
        assertThat(idle.concurrency()).isEqualTo(2);
        assertThat(idle.shareBps()).isEqualTo(50 * MIB);
    }

    @Test
    void schedule_beatsNaiveOrders_onMixedSizes() {
        List<PlannedMove> moves = new ArrayList<>();
        for (int i = 0; i < 9; i++) moves.add(move(i, "s", "t" + i, 200, 0));
        moves.add(move(9, "s", "t9", 6000, 0)); // the big one last in VMID order
        DrainLimits limits = new DrainLimits(4, 4, 4);
        DrainSchedule ours = DrainScheduler.schedule(moves, limits, 400 * MIB, true);
        DrainSchedule vmidOrder = DrainScheduler.simulate(moves, limits, 4, 100 * MIB, 400 * MIB, true);
        assertThat(ours.makespanMs()).isLessThan(vmidOrder.makespanMs());
    }

    @Test
    void slots_refuseBeyondEachLimit() {
        DrainSlots slots = new DrainSlots(new DrainLimits(3, 2, 1), 3);
        slots.start("a", "x");
        assertThat(slots.canStart("b", "x")).isFalse(); // in per host
        slots.start("a", "y");
        assertThat(slots.canStart("a", "z")).isFalse(); // out per host
        slots.start("b", "z");
        assertThat(slots.canStart("c", "w")).isFalse(); // total
        assertThatThrownBy(() -> slots.start("c", "w")).isInstanceOf(IllegalStateException.class);
        slots.finish("a", "x");
        assertThat(slots.canStart("c", "x")).isTrue();
    }
}
