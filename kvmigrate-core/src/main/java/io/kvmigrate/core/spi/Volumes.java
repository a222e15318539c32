package io.kvmigrate.core.spi;

import java.util.List;
import java.util.Optional;

/**
 * A host's storage as its storage API sees it: pools, volumes and their content streams, and small probe files for
 * proving a directory shared. What the storage, copy and verify-storage steps use; files are reached through a pool
 * on their directory (the host's own, else a transient one).
 */
public interface Volumes extends HostRole {
    /** The storage pools of this host, refreshed. */
    List<PoolInfo> pools();

    /** Makes sure a persistent, autostarted, active directory pool {@code name} exists on {@code directory}. */
    void ensureDirPool(String name, String directory);

    /** This host's storage pools as their own role (list, define, start, autostart, undo); valid while this session is open. */
    StoragePools storagePools();

    /** The volume at {@code path}, found through a pool on its directory (existing, else transient); empty when absent. */
    Optional<VolumeInfo> volume(String path);

    /** Creates an empty volume of the given format (qcow2, raw) and virtual size in pool {@code pool}. */
    VolumeInfo createVolume(String pool, String name, String format, long capacityBytes);

    /** Deletes the volume at {@code path}; missing is fine. */
    void deleteVolume(String path);

    /** Streams the volume's file content to {@code sink}; with {@code sparse}, holes arrive as holes instead of zeros. */
    void downloadVolume(String path, boolean sparse, VolumeSink sink);

    /** Opens an upload that overwrites the volume's file content from its start. */
    VolumeUpload uploadVolume(String path, boolean sparse);

    /** Size in bytes of a file in {@code directory} as this host sees it; empty when it does not exist there. */
    Optional<Long> fileSize(String directory, String fileName);

    /**
     * Creates a file named {@code fileName} in {@code directory} holding {@code content}, through the
     * host's storage API (an existing pool for that directory, or a transient one). Returns its path.
     */
    String writeProbe(String directory, String fileName, byte[] content);

    /** Reads up to {@code maxBytes} of a file in {@code directory} through this host; empty when it does not exist there. */
    Optional<byte[]> readProbe(String directory, String fileName, int maxBytes);

    /** Deletes a probe file written by {@link #writeProbe}; missing is fine. */
    void deleteProbe(String directory, String fileName);
}
