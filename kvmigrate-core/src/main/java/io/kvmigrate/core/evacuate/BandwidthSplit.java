package io.kvmigrate.core.evacuate;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Divides a drain's total bandwidth among its running live moves, work-conserving: a move gets what it can use, at most its
 * weighted part of what is left (weighted max-min water-filling), so bandwidth a move cannot use (its job is still
 * checking, its migration starting or walking zero pages) goes to the others; a guest that dirties memory fast weighs more
 * ({@link #weight}). Every cap is at least {@link #FLOOR_MIBPS} and the caps
 * never add up to more than the total (the request validates at least 1 MiB/s per move at once). With equal weights a move
 * that can use everything gets at least {@code total / n}, the share the scheduler checked its convergence at; a heavier
 * (busier) one more.
 *
 * <p>What a move can use is read from what its job reported ({@link #wantMiBps}); the runner re-divides when that changes
 * and applies lowered caps before raised ones, so the sum holds at every instant.
 */
public final class BandwidthSplit {
    /** The least cap a move gets (libvirt takes whole MiB/s, and 0 would mean no cap). */
    public static final long FLOOR_MIBPS = 1;
    /** A move wanting this much can use everything it is given. */
    public static final long ALL = Long.MAX_VALUE;
    /** A migration measured at this fraction of its cap or more is limited by its cap: it could use more. */
    static final double AT_CAP = 0.7;

    /**
     * How much more a guest's part grows per unit of dirty rate, relative to an equal share: a guest dirtying 1/32 of an
     * equal share gets twice the weight of an idle one. A busy guest re-sends what it dirtied during each pass, so the
     * faster it is sent the less it re-sends; an idle one costs the same bytes at any rate. Chosen on the simulated fleet
     * (docs/benchmarks.md: 0, 2, 8 and 32 tried; 32 re-sent least and drained fastest).
     */
    static final double DIRTY_WEIGHT = 32;

    private BandwidthSplit() {
    }

    /** A move's weight from its guest's dirty rate and the equal share ({@code total / moves running}), both bytes/s. */
    public static double weight(long dirtyBps, double equalShareBps) {
        return 1 + DIRTY_WEIGHT * Math.max(0, dirtyBps) / Math.max(1, equalShareBps);
    }

    /**
     * One running move: its key, the most it can use (MiB/s; {@link #ALL}: as much as it gets) and its weight (its part of
     * what is shared is in proportion to it; a guest that dirties memory fast gets more, so it re-sends less).
     */
    public record Demand(String key, long wantMiBps, double weight) {
        public Demand {
            if (!(weight > 0)) throw new IllegalArgumentException("weight must be > 0");
        }

        public Demand(String key, long wantMiBps) {
            this(key, wantMiBps, 1);
        }
    }

    /**
     * What a move can use, from what it reported: nothing before its migration exists (its job checks and plans, its
     * target is being prepared); all it gets once the migration reports statistics with no rate yet (it is about to send)
     * or a rate at its cap; else twice what it was measured at (something else limits it, e.g. walking zero pages;
     * doubling lets it show it can use more).
     *
     * @param transferring the migration exists (it reported statistics) and has not ended
     * @param memoryBps the migration's last measured rate (0: none yet)
     * @param capMiBps the cap it ran at when measured
     */
    public static long wantMiBps(boolean transferring, long memoryBps, long capMiBps) {
        if (!transferring) return FLOOR_MIBPS;
        if (memoryBps <= 0 || capMiBps <= 0 || memoryBps >= AT_CAP * (capMiBps << 20)) return ALL;
        return Math.max(FLOOR_MIBPS, 2 * ((memoryBps + (1 << 20) - 1) >> 20));
    }

    /** Caps by key (MiB/s), in the demands' order: each {@code >= FLOOR_MIBPS}, together {@code <= totalMiBps}. */
    public static Map<String, Long> divide(long totalMiBps, List<Demand> demands) {
        int n = demands.size();
        if (n > 0 && totalMiBps < n * FLOOR_MIBPS) {
            throw new IllegalArgumentException(totalMiBps + " MiB/s cannot give " + n + " moves " + FLOOR_MIBPS + " MiB/s each");
        }
        // every move its floor first; the rest water-filled by weight over what each can use beyond it
        List<Demand> ascending = new ArrayList<>(demands);
        ascending.sort(Comparator.comparingDouble((Demand d) -> (double) (d.wantMiBps() - FLOOR_MIBPS) / d.weight()));
        Map<String, Long> caps = new java.util.HashMap<>();
        long left = totalMiBps - n * FLOOR_MIBPS;
        double weights = 0;
        for (Demand d : demands) weights += d.weight();
        for (Demand d : ascending) {
            long fair = Math.min(left, (long) Math.floor(left * (d.weight() / weights)));
            long extra = Math.max(0, Math.min(d.wantMiBps() - FLOOR_MIBPS, fair));
            caps.put(d.key(), FLOOR_MIBPS + extra);
            left -= extra;
            weights -= d.weight();
        }
        // what the last (greediest) ones could not take through rounding stays unused: a few MiB/s at most
        Map<String, Long> ordered = new LinkedHashMap<>();
        for (Demand d : demands) ordered.put(d.key(), caps.get(d.key()));
        return ordered;
    }
}
