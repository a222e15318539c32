package io.kvmigrate.core.evacuate;

import io.kvmigrate.core.engine.MigrationEvent;
import io.kvmigrate.core.engine.Phase;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The runner's view of the link: each running live move's cap and what it can use, as its events tell
 * ({@link BandwidthSplit#wantMiBps}: nothing before its migration reports statistics or after its transfer ended; all it
 * gets while it sends at its cap or has no rate yet; twice its rate when something else limits it). {@link #observe} is called from the moves' threads and says
 * when a move's demand changed; {@link #resplit} is called from the dispatcher alone and applies the new caps lowered ones
 * first, so the caps never add up to more than the total, not even between two calls.
 */
final class LinkShares {
    /** Applies one cap (the facade's {@code setBandwidth}). */
    interface Setter {
        void set(String jobId, long mibPerSecond);
    }

    private static final class Move {
        final String label;
        final long dirtyBps;
        volatile boolean transferring;
        volatile long memoryBps;
        volatile long capAtRate;
        volatile long lastProcessed = -1;
        volatile long lastElapsedMs;
        volatile java.time.Instant migratingSince;
        volatile long want = BandwidthSplit.FLOOR_MIBPS;
        /** Set by the dispatcher, read by {@link #observe} on a move's thread. */
        volatile long cap;
        /** The lowest cap in force since the move's last statistics. */
        private long lowestSinceStats;

        Move(String label, long dirtyBps, long cap) {
            this.label = label;
            this.dirtyBps = dirtyBps;
            this.cap = cap;
            this.lowestSinceStats = cap;
        }

        synchronized void capped(long newCap) {
            cap = newCap;
            lowestSinceStats = Math.min(lowestSinceStats, newCap);
        }

        /**
         * The cap the rate of the statistics just read was measured under: the lowest since the ones before. A rate
         * measured across a raise (sent at the floor, then the cap went up) is not "far below its cap": judged against the
         * new cap it made a move that sends all it may look limited elsewhere, and kept it at twice that rate.
         */
        synchronized long capOverLastInterval() {
            long c = Math.min(lowestSinceStats, cap);
            lowestSinceStats = cap;
            return c;
        }
    }

    /** Time in the migrate step without any statistics after which a move is given its part anyway. */
    static final java.time.Duration UNMEASURED = java.time.Duration.ofSeconds(2);
    private final long totalMiBps;
    private final Map<String, Move> moves = java.util.Collections.synchronizedMap(new LinkedHashMap<>());

    LinkShares(long totalMiBps) {
        this.totalMiBps = totalMiBps;
    }

    long total() {
        return totalMiBps;
    }

    int size() {
        return moves.size();
    }

    /** The caps of the moves running, by their label (the VM), for the front end. */
    Map<String, Long> caps() {
        Map<String, Long> out = new LinkedHashMap<>();
        synchronized (moves) {
            for (Move m : moves.values()) out.put(m.label, m.cap);
        }
        return out;
    }

    /**
     * Lowers the others so {@code reserveMiBps} fits beside them (a move about to start at that cap); changes nothing when
     * it fits already (moves still checking hold the floor), so a burst of starts costs no cap changes.
     */
    void reserve(long reserveMiBps, Setter setter) {
        long sum = 0;
        synchronized (moves) {
            for (Move m : moves.values()) sum += m.cap;
        }
        if (sum + reserveMiBps <= totalMiBps) return;
        apply(BandwidthSplit.divide(totalMiBps, demands(Map.of("", reserveMiBps))), setter, false);
    }

    /**
     * A live move started at {@code capMiBps} (reserved before); {@code dirtyBps} is its guest's rate as the plan measured
     * it (its weight: the scheduler checked convergence with the same weights).
     */
    void started(String jobId, String label, long dirtyBps, long capMiBps) {
        moves.put(jobId, new Move(label, dirtyBps, capMiBps));
    }

    void ended(String jobId) {
        moves.remove(jobId);
    }

    /** Reads one event of a move; true when what it can use changed (the dispatcher should re-divide). */
    boolean observe(String jobId, MigrationEvent e) {
        Move m = moves.get(jobId);
        if (m == null) return false;
        if (e instanceof MigrationEvent.PhaseStarted p) {
            // the migrate step begins: it may still wait for its plan, and its target is being prepared; it transfers once
            // its migration reports statistics
            m.migratingSince = p.phase() == Phase.MIGRATE ? p.at() : null;
            m.transferring = false;
            m.memoryBps = 0;
            m.lastProcessed = -1;
        } else if (e instanceof MigrationEvent.Progress p && m.migratingSince != null) {
            m.transferring = true;
            m.memoryBps = rate(m, p.stats());
            m.capAtRate = m.capOverLastInterval();
        } else {
            return false;
        }
        return update(m, BandwidthSplit.wantMiBps(m.transferring, m.memoryBps, m.capAtRate));
    }

    /**
     * A migrate step that reports no statistics (an adapter that reports none) must not keep its move at the floor: after
     * {@link #UNMEASURED} without any it gets its part as if it sent at its cap. Called by the dispatcher as time passes;
     * true when a demand changed.
     */
    boolean expire(java.time.Instant now) {
        boolean changed = false;
        List<Move> all;
        synchronized (moves) {
            all = new ArrayList<>(moves.values());
        }
        for (Move m : all) {
            java.time.Instant since = m.migratingSince;
            if (!m.transferring && since != null && !now.isBefore(since.plus(UNMEASURED))) changed |= update(m, BandwidthSplit.ALL);
        }
        return changed;
    }

    private static boolean update(Move m, long want) {
        // a limited move's rate moves a little every poll: re-divide only when it changes kind or by a quarter
        boolean changed = (want == BandwidthSplit.ALL) != (m.want == BandwidthSplit.ALL)
                || (want != BandwidthSplit.ALL && Math.abs(want - m.want) * 4 > Math.max(m.want, 4));
        if (changed) m.want = want;
        return changed;
    }

    /** The rate since the last statistics (memory processed over time elapsed), else the hypervisor's own figure. */
    private static long rate(Move m, io.kvmigrate.core.model.JobStats s) {
        long rate = s.memoryBps();
        if (m.lastProcessed >= 0 && s.elapsedMs() > m.lastElapsedMs && s.memoryProcessed() >= m.lastProcessed) {
            rate = Math.max(rate, (s.memoryProcessed() - m.lastProcessed) * 1000 / (s.elapsedMs() - m.lastElapsedMs));
        }
        m.lastProcessed = s.memoryProcessed();
        m.lastElapsedMs = s.elapsedMs();
        return rate;
    }

    /** Re-divides the total among the moves running; returns whether any cap changed. */
    boolean resplit(Setter setter) {
        return apply(BandwidthSplit.divide(totalMiBps, demands(Map.of())), setter, true);
    }

    private List<BandwidthSplit.Demand> demands(Map<String, Long> extra) {
        List<BandwidthSplit.Demand> d = new ArrayList<>();
        synchronized (moves) {
            double equal = (double) (totalMiBps << 20) / Math.max(1, moves.size() + extra.size());
            for (Map.Entry<String, Move> e : moves.entrySet()) {
                d.add(new BandwidthSplit.Demand(e.getKey(), e.getValue().want, BandwidthSplit.weight(e.getValue().dirtyBps, equal)));
            }
        }
        extra.forEach((k, v) -> d.add(new BandwidthSplit.Demand(k, v)));
        return d;
    }

    /** Lowered caps first, then (when {@code raise}) raised ones. */
    private boolean apply(Map<String, Long> caps, Setter setter, boolean raise) {
        boolean changed = false;
        for (int pass = 0; pass < (raise ? 2 : 1); pass++) {
            for (Map.Entry<String, Long> c : caps.entrySet()) {
                Move m = moves.get(c.getKey());
                if (m == null) continue;
                long cap = c.getValue();
                if (pass == 0 ? cap < m.cap : cap > m.cap) {
                    m.capped(cap);
                    setter.set(c.getKey(), cap);
                    changed = true;
                }
            }
        }
        return changed;
    }
}
