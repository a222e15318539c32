package io.kvmigrate.core.engine;

import java.time.Instant;
import java.util.List;

/**
 * The figures of a finished cold move.
 *
 * @param storage how the disks got there: "shared" (definition moved only) or "copied"
 */
public record ColdMigrationReport(String vm, String source, String target, String storage, List<DiskCopy> disks,
        Instant startedAt, Instant finishedAt, long totalMs, boolean sourceKept, boolean started, Placement placement) {

    /** One copied disk: where from and to, format, virtual size, bytes sent, file length, time, and the verified SHA-256. */
    public record DiskCopy(String disk, String from, String to, String format, long capacity, long bytesSent, long length,
            long millis, String sha256) {
    }

    public ColdMigrationReport {
        disks = List.copyOf(disks);
    }

    public long bytesSent() {
        return disks.stream().mapToLong(DiskCopy::bytesSent).sum();
    }
}
