package io.kvmigrate.core.evacuate;

import io.kvmigrate.core.api.KvmigrateException;

/**
 * How many moves of a drain may run at once: in all, out of one host, into one host. Every limit holds at every instant
 * (the scheduler's simulation and the runner use the same {@link DrainSlots}).
 *
 * @param maxParallel moves running at once, in all
 * @param maxOutPerHost moves leaving one host at once
 * @param maxInPerHost moves arriving at one host at once
 */
public record DrainLimits(int maxParallel, int maxOutPerHost, int maxInPerHost) {
    /** Far more than any fleet runs at once; more is a typo. */
    public static final int MAX = 1000;

    /** The defaults: two at once in all, two out of a host, one into a host (a target's memory bandwidth is its own). */
    public static DrainLimits defaults() {
        return new DrainLimits(2, 2, 1);
    }

    /** Throws INVALID_INPUT naming the bad field as a {@code {field}} token. */
    public DrainLimits validate() {
        check("maxParallel", maxParallel);
        check("maxOutPerHost", maxOutPerHost);
        check("maxInPerHost", maxInPerHost);
        return this;
    }

    private static void check(String field, int v) {
        if (v < 1 || v > MAX) {
            throw KvmigrateException.invalidInput("{" + field + "} must be 1.." + MAX + ", got " + v + ".", "Give a number of moves, e.g. 2.");
        }
    }
}
