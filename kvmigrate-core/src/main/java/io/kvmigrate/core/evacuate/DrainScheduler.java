package io.kvmigrate.core.evacuate;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.ToLongFunction;

/**
 * Orders a drain's moves and chooses how many run at once. A shared link is shared, not oversubscribed: with a total
 * bandwidth {@code B} and at most {@code k} moves at once, each move gets at least {@code B/k} (the runner divides {@code B}
 * among the moves running), so the running moves never ask for more than {@code B} together. For each {@code k} up to the limit it predicts every move at {@code B/k} (the planner's
 * pre-copy model), orders the moves longest first (LPT: the long ones do not end up alone at the end), simulates the
 * drain under the limits ({@link DrainSlots}: total, out per host, in per host), and keeps the {@code k} with the
 * fewest moves that would not converge at their share, then the shortest makespan, then the smallest {@code k}.
 * Pure and deterministic: the same moves give the same schedule.
 */
public final class DrainScheduler {
    private DrainScheduler() {
    }

    /**
     * @param linkBps the total bandwidth (bytes/s), or the assumed link speed when none was given
     * @param capped whether the moves are capped at their share ({@code false}: no total was given, the moves share the
     *        link as the network lets them; the share is only the prediction's)
     */
    public static DrainSchedule schedule(List<PlannedMove> moves, DrainLimits limits, long linkBps, boolean capped) {
        if (linkBps <= 0) throw new IllegalArgumentException("linkBps must be > 0");
        DrainSchedule best = null;
        int most = Math.max(1, Math.min(limits.maxParallel(), moves.size()));
        for (int k = 1; k <= most; k++) {
            long share = Math.max(1, linkBps / k);
            Map<PlannedMove, Long> predicted = new IdentityHashMap<>();
            for (PlannedMove m : moves) predicted.put(m, m.estimate().predictMs(share));
            List<PlannedMove> order = new ArrayList<>(moves);
            order.sort(Comparator.comparingLong((PlannedMove m) -> -predicted.get(m)).thenComparing(PlannedMove::key));
            DrainSchedule s = simulate(order, limits, k, share, linkBps, capped, predicted::get);
            if (best == null || better(s, best)) best = s;
        }
        return best;
    }

    private static boolean better(DrainSchedule a, DrainSchedule b) {
        if (a.notConverging().size() != b.notConverging().size()) return a.notConverging().size() < b.notConverging().size();
        return a.makespanMs() < b.makespanMs();
    }

    /**
     * The drain as it would run with moves started in {@code order} whenever the limits (and {@code k} at once) let them,
     * each taking its prediction at {@code shareBps}: also how the benchmark predicts naive schedules.
     */
    public static DrainSchedule simulate(List<PlannedMove> order, DrainLimits limits, int k, long shareBps, long linkBps, boolean capped) {
        return simulate(order, limits, k, shareBps, linkBps, capped, m -> m.estimate().predictMs(shareBps));
    }

    private static DrainSchedule simulate(List<PlannedMove> order, DrainLimits limits, int k, long shareBps, long linkBps, boolean capped,
            ToLongFunction<PlannedMove> duration) {
        DrainSlots slots = new DrainSlots(limits, k);
        List<PlannedMove> queue = new ArrayList<>(order);
        PriorityQueue<DrainSchedule.Slot> running = new PriorityQueue<>(Comparator.comparingLong(DrainSchedule.Slot::endMs));
        List<DrainSchedule.Slot> started = new ArrayList<>();
        List<String> notConverging = new ArrayList<>();
        long now = 0;
        long nonZero = 0;
        while (!queue.isEmpty() || !running.isEmpty()) {
            for (var it = queue.iterator(); it.hasNext(); ) {
                PlannedMove m = it.next();
                if (!slots.canStart(m.source().name(), m.target().name())) continue;
                slots.start(m.source().name(), m.target().name());
                it.remove();
                DrainSchedule.Slot s = new DrainSchedule.Slot(m, now, now + duration.applyAsLong(m));
                running.add(s);
                started.add(s);
                nonZero += m.estimate().nonZeroBytes();
                if (!m.estimate().converges(shareBps)) notConverging.add(m.key());
            }
            DrainSchedule.Slot next = running.poll();
            if (next == null) throw new IllegalStateException("no move can start with nothing running: limits below 1?");
            now = Math.max(now, next.endMs());
            slots.finish(next.move().source().name(), next.move().target().name());
        }
        long bound = Math.round((double) nonZero / linkBps * 1000);
        return new DrainSchedule(started, Math.min(k, limits.maxParallel()), capped ? shareBps : 0, linkBps, now, bound, notConverging);
    }
}
