package io.kvmigrate.core.spi;

/**
 * Parameters of one live migration as the adapter passes them to the hypervisor.
 *
 * @param bandwidthMiBps 0 = unlimited
 * @param maxDowntimeMs 0 = hypervisor default
 * @param storageVerifiedShared kvmigrate itself proved every disk is the same file on both hosts, so the
 *        hypervisor's own shared-storage guess may be skipped
 * @param parallelConnections 0 = single stream, else multifd channels
 */
public record MigrationOptions(long bandwidthMiBps, long maxDowntimeMs, boolean storageVerifiedShared,
        boolean autoConverge, boolean postCopyAllowed, boolean compressed, int parallelConnections) {

    public static MigrationOptions basic(long bandwidthMiBps, long maxDowntimeMs, boolean storageVerifiedShared) {
        return new MigrationOptions(bandwidthMiBps, maxDowntimeMs, storageVerifiedShared, false, false, false, 0);
    }
}
