package io.kvmigrate.core.preflight;

/**
 * Whether one disk is on storage both hosts share, as proved by the sharing probe.
 *
 * @param sizeBytes the disk file's size through the source, 0 when unknown
 * @param unsharedDirectory the disk's directory when the probe found that directory itself not shared (so sharing it is
 *        the fix), else null
 */
public record DiskStorage(String disk, String path, Sharing sharing, String detail, String hint, long sizeBytes, String unsharedDirectory) {

    public DiskStorage(String disk, String path, Sharing sharing, String detail, String hint, long sizeBytes) {
        this(disk, path, sharing, detail, hint, sizeBytes, null);
    }

    /** What the probe found. */
    public enum Sharing { SHARED, NOT_SHARED, NO_LOCAL_SOURCE, UNKNOWN }
}
