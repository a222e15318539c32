package io.kvmigrate.core.evacuate;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Orders a drain's moves and chooses how many run at once. A shared link is shared, not oversubscribed: the runner divides
 * the total bandwidth {@code B} among the moves running, work-conserving and weighted by dirty rate ({@link BandwidthSplit}:
 * a move that cannot use its part, because it is still checking, starting or walking zero pages, leaves it to the others).
 * For each {@code k} up to the limit the scheduler checks every move against the planner's pre-copy model (non-zero
 * memory, dirty rate, downtime limit) at the least it can get when sending beside {@code k-1} of the heaviest moves (does
 * it converge there), and predicts what it sends at {@code B/k} (dirtied pages again included), then simulates the drain for each of a few orders (longest
 * first; most data first; VMID order) under the limits ({@link DrainSlots}: total, out per host, in per host) on a fluid
 * model of the work-conserving link: a move first spends its fixed start-up and zero-page walk (no bandwidth), then shares
 * the link equally with the other moves sending. It keeps the {@code k} and order with the fewest moves that would not
 * converge at their share, then the shortest makespan, then the smallest {@code k}. Pure and deterministic.
 */
public final class DrainScheduler {
    private DrainScheduler() {
    }

    /**
     * @param linkBps the total bandwidth (bytes/s), or the assumed link speed when none was given
     * @param capped whether the moves are capped (a total was given; {@code false}: they share the link as the network
     *        lets them, which the same model describes)
     */
    public static DrainSchedule schedule(List<PlannedMove> moves, DrainLimits limits, long linkBps, boolean capped) {
        if (linkBps <= 0) throw new IllegalArgumentException("linkBps must be > 0");
        DrainSchedule best = null;
        int most = Math.max(1, Math.min(limits.maxParallel(), moves.size()));
        List<PlannedMove> vmid = new ArrayList<>(moves);
        vmid.sort(Comparator.comparing((PlannedMove m) -> m.source().name()).thenComparingInt(PlannedMove::vmId));
        List<PlannedMove> data = new ArrayList<>(moves);
        data.sort(Comparator.comparingLong((PlannedMove m) -> -m.estimate().nonZeroBytes()).thenComparing(PlannedMove::key));
        for (int k = 1; k <= most; k++) {
            long share = Math.max(1, linkBps / k);
            Map<PlannedMove, MoveEstimate.Work> work = works(moves, k, linkBps);
            List<PlannedMove> longest = new ArrayList<>(moves);
            longest.sort(Comparator.comparingLong((PlannedMove m) -> -work.get(m).aloneMs(share)).thenComparing(PlannedMove::key));
            for (List<PlannedMove> order : List.of(longest, data, vmid)) {
                DrainSchedule s = simulate(order, limits, k, share, linkBps, capped, work);
                if (best == null || better(s, best)) best = s;
            }
        }
        return best;
    }

    /**
     * Each move's work at the equal share {@code B/k}, and whether it converges at the least it can get when sending beside
     * {@code k-1} of the heaviest moves (the runner weighs busy guests more: {@link BandwidthSplit#weight}).
     */
    private static Map<PlannedMove, MoveEstimate.Work> works(List<PlannedMove> moves, int k, long linkBps) {
        long share = Math.max(1, linkBps / k);
        double heaviest = 1;
        double sum = 0;
        for (PlannedMove m : moves) {
            double w = BandwidthSplit.weight(m.estimate().dirtyBps(), share);
            heaviest = Math.max(heaviest, w);
            sum += w;
        }
        double mean = moves.isEmpty() ? 1 : sum / moves.size();
        Map<PlannedMove, MoveEstimate.Work> work = new IdentityHashMap<>();
        for (PlannedMove m : moves) {
            double weight = BandwidthSplit.weight(m.estimate().dirtyBps(), share);
            // what it sends at the part it gets beside k-1 moves of the mean weight; converging at the least it can get
            long expected = Math.max(1, Math.round(linkBps * weight / (weight + (k - 1) * mean)));
            long least = Math.max(1, Math.round(linkBps * weight / (weight + (k - 1) * heaviest)));
            MoveEstimate.Work w = m.estimate().work(expected);
            work.put(m, new MoveEstimate.Work(w.setupMs(), w.bytes(), m.estimate().converges(Math.min(least, share))));
        }
        return work;
    }

    private static boolean better(DrainSchedule a, DrainSchedule b) {
        if (a.notConverging().size() != b.notConverging().size()) return a.notConverging().size() < b.notConverging().size();
        return a.makespanMs() < b.makespanMs();
    }

    /**
     * The drain as it would run with moves started in {@code order} whenever the limits (and {@code k} at once) let them, on
     * the work-conserving link, each move's work predicted at {@code shareBps}: also how the runner predicts what is left.
     */
    public static DrainSchedule simulate(List<PlannedMove> order, DrainLimits limits, int k, long shareBps, long linkBps, boolean capped) {
        return simulate(order, limits, k, shareBps, linkBps, capped, works(order, k, linkBps));
    }

    /** One move in the fluid simulation. */
    private static final class Live {
        final PlannedMove move;
        final double startMs;
        final double setupEndMs;
        double bytesLeft;
        double endMs = -1;

        Live(PlannedMove move, double startMs, MoveEstimate.Work w) {
            this.move = move;
            this.startMs = startMs;
            this.setupEndMs = startMs + w.setupMs();
            this.bytesLeft = w.bytes();
        }
    }

    private static DrainSchedule simulate(List<PlannedMove> order, DrainLimits limits, int k, long shareBps, long linkBps, boolean capped,
            Map<PlannedMove, MoveEstimate.Work> work) {
        DrainSlots slots = new DrainSlots(limits, k);
        List<PlannedMove> queue = new ArrayList<>(order);
        List<Live> running = new ArrayList<>();
        List<Live> started = new ArrayList<>();
        List<String> notConverging = new ArrayList<>();
        double efficiency = order.isEmpty() ? 1 : order.get(0).estimate().calibration().linkEfficiency();
        double linkPerMs = linkBps * efficiency / 1000.0;
        double now = 0;
        long nonZero = 0;
        while (!queue.isEmpty() || !running.isEmpty()) {
            for (var it = queue.iterator(); it.hasNext(); ) {
                PlannedMove m = it.next();
                if (!slots.canStart(m.source().name(), m.target().name())) continue;
                slots.start(m.source().name(), m.target().name());
                it.remove();
                MoveEstimate.Work w = work.get(m);
                Live l = new Live(m, now, w);
                running.add(l);
                started.add(l);
                nonZero += m.estimate().nonZeroBytes();
                if (!w.converges()) notConverging.add(m.key());
            }
            if (running.isEmpty()) throw new IllegalStateException("no move can start with nothing running: limits below 1?");
            int sending = 0;
            for (Live l : running) if (l.setupEndMs <= now && l.bytesLeft > 0) sending++;
            double rate = sending == 0 ? 0 : linkPerMs / sending;
            double dt = Double.MAX_VALUE;
            for (Live l : running) {
                if (l.setupEndMs > now) dt = Math.min(dt, l.setupEndMs - now);
                else if (l.bytesLeft > 0) dt = Math.min(dt, l.bytesLeft / rate);
                else dt = 0;
            }
            now += dt;
            for (var it = running.iterator(); it.hasNext(); ) {
                Live l = it.next();
                boolean wasSending = l.setupEndMs <= now - dt;
                if (wasSending && l.bytesLeft > 0) l.bytesLeft -= rate * dt;
                if (l.setupEndMs > now || l.bytesLeft > 1e-6 * Math.max(1, rate)) continue;
                it.remove();
                slots.finish(l.move.source().name(), l.move.target().name());
                l.endMs = now;
            }
        }
        List<DrainSchedule.Slot> slotted = new ArrayList<>();
        for (Live l : started) slotted.add(new DrainSchedule.Slot(l.move, Math.round(l.startMs), Math.round(l.endMs)));
        long bound = Math.round((double) nonZero / linkBps * 1000);
        return new DrainSchedule(slotted, Math.min(k, limits.maxParallel()), capped ? shareBps : 0, linkBps, Math.round(now), bound, notConverging);
    }
}
