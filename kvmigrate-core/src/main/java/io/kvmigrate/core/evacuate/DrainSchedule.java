package io.kvmigrate.core.evacuate;

import java.util.List;

/**
 * The order and concurrency a drain runs with, and what it is predicted to take.
 *
 * @param moves in the order they are started (each starts as soon as the limits let it), with predicted start and end
 * @param concurrency moves running at once at most (at most the limits' {@code maxParallel})
 * @param shareBps bandwidth cap of each move (the total divided by {@code concurrency}); 0 when no total was given
 * @param linkBps the total bandwidth the prediction assumed (the given total, or an assumed link)
 * @param makespanMs predicted time from the first start to the last end
 * @param boundMs the bandwidth bound: all non-zero memory over the total bandwidth (no schedule can beat it)
 * @param notConverging moves predicted not to converge at their share (their policy will act), by key
 */
public record DrainSchedule(List<Slot> moves, int concurrency, long shareBps, long linkBps, long makespanMs, long boundMs,
        List<String> notConverging) {
    public DrainSchedule {
        moves = List.copyOf(moves);
        notConverging = List.copyOf(notConverging);
    }

    /** One move in the schedule with its predicted times (ms from the drain's start). */
    public record Slot(PlannedMove move, long startMs, long endMs) {
        public long predictedMs() {
            return endMs - startMs;
        }
    }
}
