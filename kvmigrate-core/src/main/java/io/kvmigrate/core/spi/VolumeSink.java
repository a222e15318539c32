package io.kvmigrate.core.spi;

/** Receives a volume's content in order, as data and holes (runs of zeros that were never written). May throw to stop a download. */
public interface VolumeSink {
    void data(byte[] buffer, int length);

    void hole(long length);
}
