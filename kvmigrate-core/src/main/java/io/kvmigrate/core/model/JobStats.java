package io.kvmigrate.core.model;

/**
 * A snapshot of a migration job's statistics, in bytes, milliseconds and pages/s. While the job runs
 * {@code downtimeMs} is libvirt's expected downtime; after completion it is the measured one.
 * Unknown values are 0.
 */
public record JobStats(long elapsedMs, long dataTotal, long dataProcessed, long dataRemaining,
        long memoryTotal, long memoryProcessed, long memoryRemaining, long memoryBps, long dirtyRatePagesPerSec,
        long pageSize, long iteration, long downtimeMs, long postcopyRequests, long autoConvergeThrottle,
        long diskTotal, long diskProcessed, long diskRemaining) {

    public static final JobStats NONE = new JobStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    /** Dirty rate in bytes per second. */
    public long dirtyRateBps() {
        return dirtyRatePagesPerSec * (pageSize > 0 ? pageSize : 4096);
    }

    /** Fraction of memory transferred so far, 0..1. */
    public double memoryFraction() {
        if (memoryTotal <= 0) return 0;
        return Math.min(1.0, Math.max(0.0, 1.0 - (double) memoryRemaining / memoryTotal));
    }
}
