package io.kvmigrate.core.spi;

/**
 * A storage volume (a disk file) as one host sees it through its storage API.
 *
 * @param pool the persistent pool holding it, null when it lies outside every pool (reached through a transient one)
 * @param format qcow2, raw, ... as libvirt detects it
 * @param capacity virtual size in bytes (what the guest sees)
 * @param allocation bytes the file really occupies (holes excluded)
 * @param physical length of the file in bytes, holes included (what a stream download carries)
 */
public record VolumeInfo(String path, String pool, String name, String format, long capacity, long allocation, long physical) {
    /** The directory holding the volume. */
    public String directory() {
        int slash = path.lastIndexOf('/');
        return slash <= 0 ? "/" : path.substring(0, slash);
    }
}
