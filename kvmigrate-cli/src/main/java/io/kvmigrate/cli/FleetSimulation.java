package io.kvmigrate.cli;

import io.kvmigrate.core.evacuate.BandwidthSplit;
import io.kvmigrate.core.evacuate.DrainLimits;
import io.kvmigrate.core.evacuate.DrainSlots;
import io.kvmigrate.core.evacuate.PlannedMove;
import io.kvmigrate.core.plan.Calibration;
import io.kvmigrate.core.plan.GuestProfile;
import java.util.ArrayList;
import java.util.List;

/**
 * A drain on a simulated link, for {@code bench evacuate}: a time-stepped model of pre-copy, independent of the
 * scheduler's own prediction. How the running moves share the total is the {@link Sharing}; a move first costs its fixed start-up (no bandwidth), then sends its non-zero memory in passes:
 * each pass sends what the guest dirtied during the previous one (at most its non-zero memory), and the move switches
 * over once the rest fits the downtime limit at its current rate. A move whose passes stop shrinking for
 * {@link #STALL_PASSES} passes is aborted, as policy safe aborts a pre-copy that does not converge: its VM is left behind.
 */
final class FleetSimulation {
    static final int STALL_PASSES = 5;
    static final long TICK_MS = 10;
    /** How often the runner sees a move's statistics (the facade's default poll interval). */
    static final long POLL_MS = 500;

    /** How the running moves share the link. */
    enum Sharing {
        /** No caps: the moves that send share the link equally, at once (as naive drains run, optimistically). */
        UNCAPPED,
        /** Each capped at the total divided by the moves running, a move still starting holding its part (kvmigrate before). */
        EQUAL_CAPS,
        /**
         * kvmigrate's runner: caps from {@link BandwidthSplit} on what each move was seen to use at its last statistics poll
         * (every {@link #POLL_MS}), re-divided at once when a move starts or ends; a move sends at most its cap.
         */
        WORK_CONSERVING
    }

    /** How a simulated drain ended. */
    record Outcome(long makespanMs, int moved, int aborted, long sentBytes) {
    }

    private static final class Move {
        final PlannedMove m;
        final GuestProfile g;
        long startupLeftMs;
        long fixedLeftMs;
        double pass;
        double dirtied;
        double previousPass = Double.MAX_VALUE;
        int flat;
        boolean done;
        long capMiBps;
        long capAtPoll;
        double sentSincePoll;
        long wantMiBps = BandwidthSplit.FLOOR_MIBPS;

        Move(PlannedMove m, long startupMs) {
            this.m = m;
            this.g = m.estimate().guest();
            this.startupLeftMs = startupMs;
            this.fixedLeftMs = m.estimate().calibration().startupMs();
            this.pass = g == null ? 0 : g.nonZeroBytes();
        }
    }

    private FleetSimulation() {
    }

    /**
     * Runs {@code order} with at most {@code k} moves at once under {@code limits}, on a link of {@code linkBps}, moves started
     * whenever the limits let them (in order), sharing the link as {@code sharing} says.
     */
    static Outcome run(List<PlannedMove> order, DrainLimits limits, int k, Sharing sharing, long linkBps, long downtimeMs, Calibration c) {
        long totalMiBps = linkBps >> 20;
        long sinceSplit = 0;
        DrainSlots slots = new DrainSlots(limits, k);
        List<PlannedMove> queue = new ArrayList<>(order);
        List<Move> running = new ArrayList<>();
        long now = 0;
        int moved = 0;
        int aborted = 0;
        double sent = 0;
        double tick = TICK_MS / 1000.0;
        boolean membership = false;
        while (!queue.isEmpty() || !running.isEmpty()) {
            for (var it = queue.iterator(); it.hasNext(); ) {
                PlannedMove m = it.next();
                if (!slots.canStart(m.source().name(), m.target().name())) continue;
                slots.start(m.source().name(), m.target().name());
                it.remove();
                running.add(new Move(m, c.startupMs() + (m.estimate().guest() == null ? 0
                        : m.estimate().guest().zeroBytes() * 1000 / c.zeroScanBps())));
                membership = true;
            }
            sinceSplit += TICK_MS;
            if (sharing == Sharing.WORK_CONSERVING && (membership || sinceSplit >= POLL_MS)) {
                split(running, totalMiBps, sinceSplit >= POLL_MS);
                if (sinceSplit >= POLL_MS) sinceSplit = 0;
            }
            membership = false;
            int sending = 0;
            for (Move r : running) if (r.startupLeftMs <= 0 && r.g != null) sending++;
            double share = sending == 0 ? 0 : (double) linkBps * c.linkEfficiency() / sending;
            if (sharing == Sharing.EQUAL_CAPS && !running.isEmpty()) share = Math.min(share, (double) linkBps * c.linkEfficiency() / running.size());
            now += TICK_MS;
            for (Move r : running) {
                if (r.startupLeftMs > 0) {
                    r.startupLeftMs -= TICK_MS;
                    r.fixedLeftMs -= TICK_MS;
                    if (r.startupLeftMs <= 0 && r.g == null) r.done = true; // an offline move of a definition
                    continue;
                }
                if (r.g == null) {
                    r.done = true;
                    continue;
                }
                double w = r.g.nonZeroBytes();
                // the rate this move sends at now: its cap (the caps never add up to more than the link), else its share
                double rate = sharing == Sharing.WORK_CONSERVING ? (double) (r.capMiBps << 20) * c.linkEfficiency() : share;
                double s = Math.min(r.pass, rate * tick);
                r.pass -= s;
                r.sentSincePoll += s;
                sent += s;
                r.dirtied = Math.min(w, r.dirtied + r.g.dirtyRateBps() * tick);
                if (r.pass > 0) continue;
                if (r.dirtied / rate * 1000 <= downtimeMs) {
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
                membership = true;
            }
        }
        return new Outcome(now, moved, aborted, Math.round(sent));
    }

    /**
     * The runner's division: at a poll each live move's demand is read from what it sent since the last one
     * ({@link BandwidthSplit#wantMiBps}: all it gets when it sent at its cap, twice its rate when it sent less); between
     * polls demands stay as they were seen; a move just started is migrating with no rate yet (it wants all).
     */
    private static void split(List<Move> running, long totalMiBps, boolean poll) {
        List<BandwidthSplit.Demand> demands = new ArrayList<>();
        for (int i = 0; i < running.size(); i++) {
            Move r = running.get(i);
            if (r.g == null) continue;
            if (poll && r.capMiBps > 0) {
                // while its target QEMU starts a migration reports no statistics (libvirt's memory figures are 0 until
                // the transfer begins), so the runner sees no transfer yet; walking zero pages it reports a trickle of page
                // markers (counted as 1 B/s)
                boolean transferring = r.fixedLeftMs <= 0;
                long bps = Math.max(1, Math.round(r.sentSincePoll * 1000 / POLL_MS));
                r.wantMiBps = BandwidthSplit.wantMiBps(transferring, bps, r.capMiBps);
                r.sentSincePoll = 0;
            }
            double share = (double) (totalMiBps << 20) / running.size();
            demands.add(new BandwidthSplit.Demand(Integer.toString(i), r.wantMiBps, BandwidthSplit.weight(r.g.dirtyRateBps(), share)));
        }
        if (demands.isEmpty()) return;
        java.util.Map<String, Long> caps = BandwidthSplit.divide(totalMiBps, demands);
        for (int i = 0; i < running.size(); i++) {
            Long cap = caps.get(Integer.toString(i));
            if (cap != null) running.get(i).capMiBps = cap;
        }
    }
}
