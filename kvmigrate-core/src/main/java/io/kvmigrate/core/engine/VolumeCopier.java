package io.kvmigrate.core.engine;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.VolumeSink;
import io.kvmigrate.core.spi.VolumeUpload;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Copies a volume's file from one host to another through the hosts' storage streams (no agent, no ssh): the source's
 * download feeds the target's upload chunk by chunk, holes are passed on as holes when {@code sparse}, so a mostly
 * empty disk costs only its data. The source's {@link BlockDigest} is computed from the stream as it passes, so a copy is
 * verified by reading back only the target ({@link #digest}), holes costing nothing on either side.
 */
public final class VolumeCopier {
    private final Clock clock;
    private final BooleanSupplier cancelled;
    private final Duration progressEvery;

    /** Outcome of one copy: data bytes sent, file length covered (holes included), wall time, the source's digest. */
    public record Copied(long bytesSent, long length, long millis, Digest sourceDigest) {
    }

    /** A volume's content digest ({@link BlockDigest}, hex) and length, read through one host. */
    public record Digest(String sha256, long length) {
    }

    public VolumeCopier(Clock clock, BooleanSupplier cancelled, Duration progressEvery) {
        this.clock = clock;
        this.cancelled = cancelled;
        this.progressEvery = progressEvery;
    }

    /** Copies {@code fromPath} on {@code from} over {@code toPath} on {@code to}; {@code total} is the expected length for progress. */
    public Copied copy(String disk, HostSession from, String fromPath, HostSession to, String toPath, boolean sparse, long total,
            Consumer<MigrationEvent.DiskProgress> progress) {
        Instant start = clock.instant();
        long[] pos = {0, 0};
        Instant[] lastEvent = {start};
        BlockDigest sourceDigest = new BlockDigest();
        try (VolumeUpload up = to.uploadVolume(toPath, sparse)) {
            from.downloadVolume(fromPath, sparse, new VolumeSink() {
                @Override
                public void data(byte[] buffer, int length) {
                    checkCancelled();
                    sourceDigest.data(buffer, length);
                    up.data(buffer, length);
                    pos[0] += length;
                    pos[1] += length;
                    report();
                }

                @Override
                public void hole(long length) {
                    checkCancelled();
                    sourceDigest.hole(length);
                    up.hole(length);
                    pos[0] += length;
                    report();
                }

                private void report() {
                    Instant now = clock.instant();
                    if (Duration.between(lastEvent[0], now).compareTo(progressEvery) < 0) return;
                    lastEvent[0] = now;
                    progress.accept(progressEvent(disk, fromPath, start, now, pos[0], Math.max(total, pos[0]), pos[1]));
                }
            });
            up.finish();
        }
        Instant end = clock.instant();
        progress.accept(progressEvent(disk, fromPath, start, end, pos[0], pos[0], pos[1]));
        return new Copied(pos[1], pos[0], Duration.between(start, end).toMillis(), sourceDigest.finish());
    }

    private static MigrationEvent.DiskProgress progressEvent(String disk, String path, Instant start, Instant now, long position,
            long total, long sent) {
        long ms = Math.max(1, Duration.between(start, now).toMillis());
        long rate = position * 1000 / ms;
        long eta = rate > 0 ? (total - position) * 1000 / rate : 0;
        return new MigrationEvent.DiskProgress(now, disk, path, position, total, sent, rate, eta);
    }

    private void checkCancelled() {
        if (cancelled.getAsBoolean()) {
            throw new KvmigrateException(ErrorCode.CANCELLED, Phase.COPY_STORAGE.label(), null, null, "the copy was cancelled", null);
        }
    }

    /** The {@link BlockDigest} and length of the volume's file content as read through {@code host} (sparse: holes skipped). */
    public Digest digest(HostSession host, String path) {
        BlockDigest d = new BlockDigest();
        host.downloadVolume(path, true, new VolumeSink() {
            @Override
            public void data(byte[] buffer, int length) {
                checkCancelled();
                d.data(buffer, length);
            }

            @Override
            public void hole(long length) {
                checkCancelled();
                d.hole(length);
            }
        });
        return d.finish();
    }
}
