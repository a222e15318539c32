package io.kvmigrate.core.evacuate;

import java.util.HashMap;
import java.util.Map;

/**
 * The drain's limits as a counter of running moves: total, out per source host, in per target host. The scheduler's
 * simulation and the runner both ask {@link #canStart} before a move starts and call {@link #finish} when it ended, so
 * the rule that keeps the limits is written once. Not thread-safe: one dispatcher owns it.
 */
public final class DrainSlots {
    private final int total;
    private final int outPerHost;
    private final int inPerHost;
    private final Map<String, Integer> out = new HashMap<>();
    private final Map<String, Integer> in = new HashMap<>();
    private int running;

    /** {@code total} may be below the limits' {@code maxParallel} (the scheduler's chosen concurrency). */
    public DrainSlots(DrainLimits limits, int total) {
        this.total = Math.min(total, limits.maxParallel());
        this.outPerHost = limits.maxOutPerHost();
        this.inPerHost = limits.maxInPerHost();
    }

    public boolean canStart(String source, String target) {
        return running < total && out.getOrDefault(source, 0) < outPerHost && in.getOrDefault(target, 0) < inPerHost;
    }

    public void start(String source, String target) {
        if (!canStart(source, target)) throw new IllegalStateException("limit reached: " + source + " -> " + target);
        running++;
        out.merge(source, 1, Integer::sum);
        in.merge(target, 1, Integer::sum);
    }

    public void finish(String source, String target) {
        if (running == 0) throw new IllegalStateException("nothing running");
        running--;
        out.merge(source, -1, Integer::sum);
        in.merge(target, -1, Integer::sum);
    }

    public int running() {
        return running;
    }
}
