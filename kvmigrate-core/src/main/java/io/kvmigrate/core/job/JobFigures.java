package io.kvmigrate.core.job;

/** A job's measured figures; each is null until known. */
public record JobFigures(Long totalMs, Long downtimeMs, Long bytesSent, Long iterations, Long predictedMs) {
    /** No figure known yet. */
    public static final JobFigures NONE = new JobFigures(null, null, null, null, null);

    /** These figures, each replaced by {@code newer}'s where that one is known. */
    public JobFigures mergedWith(JobFigures newer) {
        if (newer == null) return this;
        return new JobFigures(pick(newer.totalMs, totalMs), pick(newer.downtimeMs, downtimeMs), pick(newer.bytesSent, bytesSent),
                pick(newer.iterations, iterations), pick(newer.predictedMs, predictedMs));
    }

    private static Long pick(Long a, Long b) {
        return a != null ? a : b;
    }
}
