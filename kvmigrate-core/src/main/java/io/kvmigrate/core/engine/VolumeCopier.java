package io.kvmigrate.core.engine;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.VolumeSink;
import io.kvmigrate.core.spi.VolumeUpload;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Copies a volume's file from one host to another through the hosts' storage streams (no agent, no ssh): the source's
 * download feeds the target's upload chunk by chunk, holes are passed on as holes when {@code sparse}, so a mostly
 * empty disk costs only its data. Also reads a volume's SHA-256 through a host, holes hashed as the zeros they read as.
 */
public final class VolumeCopier {
    private static final byte[] ZEROS = new byte[1 << 20];
    private final Clock clock;
    private final BooleanSupplier cancelled;
    private final Duration progressEvery;

    /** Outcome of one copy: data bytes sent, file length covered (holes included), wall time. */
    public record Copied(long bytesSent, long length, long millis) {
    }

    /** A volume's content digest and length, read through one host. */
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
        try (VolumeUpload up = to.uploadVolume(toPath, sparse)) {
            from.downloadVolume(fromPath, sparse, new VolumeSink() {
                @Override
                public void data(byte[] buffer, int length) {
                    checkCancelled();
                    up.data(buffer, length);
                    pos[0] += length;
                    pos[1] += length;
                    report();
                }

                @Override
                public void hole(long length) {
                    checkCancelled();
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
        return new Copied(pos[1], pos[0], Duration.between(start, end).toMillis());
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

    /** SHA-256 and length of the volume's file content as read through {@code host}. */
    public Digest digest(HostSession host, String path) {
        MessageDigest md = sha256();
        long[] len = {0};
        host.downloadVolume(path, true, new VolumeSink() {
            @Override
            public void data(byte[] buffer, int length) {
                checkCancelled();
                md.update(buffer, 0, length);
                len[0] += length;
            }

            @Override
            public void hole(long length) {
                checkCancelled();
                for (long left = length; left > 0; left -= ZEROS.length) md.update(ZEROS, 0, (int) Math.min(ZEROS.length, left));
                len[0] += length;
            }
        });
        return new Digest(HexFormat.of().formatHex(md.digest()), len[0]);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK always has SHA-256", e);
        }
    }
}
