package io.kvmigrate.core.engine;

import io.kvmigrate.core.model.JobStats;
import java.time.Instant;

/** The figures of a finished migration. */
public record MigrationReport(String vm, String source, String target, Instant startedAt, Instant finishedAt,
        long totalMs, long migrationMs, long downtimeMs, long dataSentBytes, long memoryBytes, long iterations,
        JobStats finalStats, Placement placement) {
}
