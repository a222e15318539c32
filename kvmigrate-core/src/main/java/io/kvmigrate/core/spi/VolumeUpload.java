package io.kvmigrate.core.spi;

/** An upload into an existing volume. {@link #close()} without {@link #finish()} aborts it. */
public interface VolumeUpload extends VolumeSink, AutoCloseable {
    /** Flushes and completes the upload; failures (such as a full target) surface here at the latest. */
    void finish();

    @Override
    void close();
}
