package io.kvmigrate.core.preflight;

/**
 * Whether one disk is on storage both hosts share, as proved by the sharing probe.
 *
 * @param sizeBytes the disk file's size through the source, 0 when unknown
 */
public record DiskStorage(String disk, String path, Sharing sharing, String detail, String hint, long sizeBytes) {

    /** What the probe found. */
    public enum Sharing { SHARED, NOT_SHARED, NO_LOCAL_SOURCE, UNKNOWN }
}
