package io.kvmigrate.cli;

import io.kvmigrate.core.evacuate.DrainLimits;
import io.kvmigrate.core.evacuate.DrainSlots;
import io.kvmigrate.core.evacuate.PlannedMove;
import io.kvmigrate.core.plan.Calibration;
import io.kvmigrate.core.plan.GuestProfile;
import java.util.ArrayList;
import java.util.List;

/**
 * A drain on a simulated link, for {@code bench evacuate}: a time-stepped model of pre-copy, independent of the
 * scheduler's own prediction. The running moves share the total bandwidth equally, each at most its cap (0: uncapped,
 * as naive drains run); a move first costs its fixed start-up (no bandwidth), then sends its non-zero memory in passes:
 * each pass sends what the guest dirtied during the previous one (at most its non-zero memory), and the move switches
 * over once the rest fits the downtime limit at its current rate. A move whose passes stop shrinking for
 * {@link #STALL_PASSES} passes is aborted, as policy safe aborts a pre-copy that does not converge: its VM is left behind.
 */
final class FleetSimulation {
    static final int STALL_PASSES = 5;
    static final long TICK_MS = 10;

    /** How a simulated drain ended. */
    record Outcome(long makespanMs, int moved, int aborted, long sentBytes) {
    }

    private static final class Move {
        final PlannedMove m;
        final GuestProfile g;
        long startupLeftMs;
        double pass;
        double dirtied;
        double previousPass = Double.MAX_VALUE;
        int flat;
        boolean done;

        Move(PlannedMove m, long startupMs) {
            this.m = m;
            this.g = m.estimate().guest();
            this.startupLeftMs = startupMs;
            this.pass = g == null ? 0 : g.nonZeroBytes();
        }
    }

    private FleetSimulation() {
    }

    /**
     * Runs {@code order} with at most {@code k} moves at once under {@code limits}, on a link of {@code linkBps}, moves started
     * whenever the limits let them (in order); uncapped moves share the link equally among those sending, {@code divided}
     * ones are each capped at the link divided by the moves running (as kvmigrate's runner re-divides its total: a move
     * still starting holds its share).
     */
    static Outcome run(List<PlannedMove> order, DrainLimits limits, int k, boolean divided, long linkBps, long downtimeMs, Calibration c) {
        DrainSlots slots = new DrainSlots(limits, k);
        List<PlannedMove> queue = new ArrayList<>(order);
        List<Move> running = new ArrayList<>();
        long now = 0;
        int moved = 0;
        int aborted = 0;
        double sent = 0;
        double tick = TICK_MS / 1000.0;
        while (!queue.isEmpty() || !running.isEmpty()) {
            for (var it = queue.iterator(); it.hasNext(); ) {
                PlannedMove m = it.next();
                if (!slots.canStart(m.source().name(), m.target().name())) continue;
                slots.start(m.source().name(), m.target().name());
                it.remove();
                running.add(new Move(m, c.startupMs() + (m.estimate().guest() == null ? 0
                        : m.estimate().guest().zeroBytes() * 1000 / c.zeroScanBps())));
            }
            int sending = 0;
            for (Move r : running) if (r.startupLeftMs <= 0 && r.g != null) sending++;
            double share = sending == 0 ? 0 : (double) linkBps * c.linkEfficiency() / sending;
            if (divided && !running.isEmpty()) share = Math.min(share, (double) linkBps * c.linkEfficiency() / running.size());
            now += TICK_MS;
            for (Move r : running) {
                if (r.startupLeftMs > 0) {
                    r.startupLeftMs -= TICK_MS;
                    if (r.startupLeftMs <= 0 && r.g == null) r.done = true; // an offline move of a definition
                    continue;
                }
                if (r.g == null) {
                    r.done = true;
                    continue;
                }
                double w = r.g.nonZeroBytes();
                double s = Math.min(r.pass, share * tick);
                r.pass -= s;
                sent += s;
                r.dirtied = Math.min(w, r.dirtied + r.g.dirtyRateBps() * tick);
                if (r.pass > 0) continue;
                if (r.dirtied / share * 1000 <= downtimeMs) {
                    sent += r.dirtied;
                    r.done = true;
                    continue;
                }
                r.flat = r.dirtied >= r.previousPass * 0.98 ? r.flat + 1 : 0;
                r.previousPass = r.dirtied;
                r.pass = r.dirtied;
                r.dirtied = 0;
                if (r.flat >= STALL_PASSES) {
                    r.done = true;
                    r.pass = -1; // aborted
                }
            }
            for (var it = running.iterator(); it.hasNext(); ) {
                Move r = it.next();
                if (!r.done) continue;
                it.remove();
                slots.finish(r.m.source().name(), r.m.target().name());
                if (r.pass < 0) aborted++;
                else moved++;
            }
        }
        return new Outcome(now, moved, aborted, Math.round(sent));
    }
}
