package io.kvmigrate.core.spi;

import io.kvmigrate.core.model.MigrationAddress;
import java.util.List;

/**
 * Parameters of one live migration as the adapter passes them to the hypervisor.
 *
 * @param bandwidthMiBps 0 = unlimited
 * @param maxDowntimeMs 0 = hypervisor default
 * @param storageVerifiedShared kvmigrate itself proved every disk is the same file on both hosts, so the
 *        hypervisor's own shared-storage guess may be skipped
 * @param parallelConnections 0 = single stream, else multifd channels
 * @param copyDisks guest targets (vda, ...) whose content the hypervisor copies to pre-created target volumes
 *        during the migration (non-shared storage); empty = no storage copy
 * @param throttleInitialPercent with auto-converge: the throttle QEMU starts at, 0 = its default (20%)
 * @param throttleIncrementPercent with auto-converge: what QEMU adds to it per pass, 0 = its default (10%)
 * @param tls the migration stream itself is encrypted (the hypervisor's native TLS), whatever the control transport
 * @param migrationAddress where the stream goes (the hypervisor's migration URI and listen address); null = the target's choice
 */
public record MigrationOptions(long bandwidthMiBps, long maxDowntimeMs, boolean storageVerifiedShared,
        boolean autoConverge, boolean postCopyAllowed, boolean compressed, int parallelConnections, List<String> copyDisks,
        int throttleInitialPercent, int throttleIncrementPercent, boolean tls, MigrationAddress migrationAddress) {

    public MigrationOptions {
        copyDisks = copyDisks == null ? List.of() : List.copyOf(copyDisks);
        if (throttleInitialPercent < 0 || throttleInitialPercent > 99 || throttleIncrementPercent < 0 || throttleIncrementPercent > 99) {
            throw new IllegalArgumentException("throttle 0..99");
        }
    }

    public MigrationOptions(long bandwidthMiBps, long maxDowntimeMs, boolean storageVerifiedShared,
            boolean autoConverge, boolean postCopyAllowed, boolean compressed, int parallelConnections, List<String> copyDisks,
            int throttleInitialPercent, int throttleIncrementPercent, boolean tls) {
        this(bandwidthMiBps, maxDowntimeMs, storageVerifiedShared, autoConverge, postCopyAllowed, compressed, parallelConnections, copyDisks,
                throttleInitialPercent, throttleIncrementPercent, tls, null);
    }

    public MigrationOptions(long bandwidthMiBps, long maxDowntimeMs, boolean storageVerifiedShared,
            boolean autoConverge, boolean postCopyAllowed, boolean compressed, int parallelConnections, List<String> copyDisks,
            int throttleInitialPercent, int throttleIncrementPercent) {
        this(bandwidthMiBps, maxDowntimeMs, storageVerifiedShared, autoConverge, postCopyAllowed, compressed, parallelConnections, copyDisks,
                throttleInitialPercent, throttleIncrementPercent, false);
    }

    public MigrationOptions(long bandwidthMiBps, long maxDowntimeMs, boolean storageVerifiedShared,
            boolean autoConverge, boolean postCopyAllowed, boolean compressed, int parallelConnections, List<String> copyDisks) {
        this(bandwidthMiBps, maxDowntimeMs, storageVerifiedShared, autoConverge, postCopyAllowed, compressed, parallelConnections, copyDisks, 0, 0);
    }

    /** Options without storage copy. */
    public MigrationOptions(long bandwidthMiBps, long maxDowntimeMs, boolean storageVerifiedShared,
            boolean autoConverge, boolean postCopyAllowed, boolean compressed, int parallelConnections) {
        this(bandwidthMiBps, maxDowntimeMs, storageVerifiedShared, autoConverge, postCopyAllowed, compressed, parallelConnections, List.of());
    }

    public static MigrationOptions basic(long bandwidthMiBps, long maxDowntimeMs, boolean storageVerifiedShared) {
        return new MigrationOptions(bandwidthMiBps, maxDowntimeMs, storageVerifiedShared, false, false, false, 0);
    }

    /** The same options, copying the given disks' storage during the migration. */
    /** The same options with another bandwidth cap (MiB/s, 0 = unlimited). */
    public MigrationOptions withBandwidth(long mibPerSecond) {
        return new MigrationOptions(mibPerSecond, maxDowntimeMs, storageVerifiedShared, autoConverge, postCopyAllowed, compressed,
                parallelConnections, copyDisks, throttleInitialPercent, throttleIncrementPercent, tls, migrationAddress);
    }

    public MigrationOptions withStorageCopy(List<String> disks) {
        return new MigrationOptions(bandwidthMiBps, maxDowntimeMs, storageVerifiedShared, autoConverge, postCopyAllowed, compressed,
                parallelConnections, disks, throttleInitialPercent, throttleIncrementPercent, tls, migrationAddress);
    }

    /** The same options, auto-converge starting its throttle at {@code initial} and adding {@code increment} a pass (0 = QEMU's defaults). */
    public MigrationOptions withThrottle(int initial, int increment) {
        return new MigrationOptions(bandwidthMiBps, maxDowntimeMs, storageVerifiedShared, autoConverge, postCopyAllowed, compressed,
                parallelConnections, copyDisks, initial, increment, tls, migrationAddress);
    }

    /** The same options, the migration stream encrypted or not. */
    public MigrationOptions withTls(boolean on) {
        return new MigrationOptions(bandwidthMiBps, maxDowntimeMs, storageVerifiedShared, autoConverge, postCopyAllowed, compressed,
                parallelConnections, copyDisks, throttleInitialPercent, throttleIncrementPercent, on, migrationAddress);
    }

    /** The same options, the stream sent to {@code a} (null: where the target's hypervisor says). */
    public MigrationOptions withMigrationAddress(MigrationAddress a) {
        return new MigrationOptions(bandwidthMiBps, maxDowntimeMs, storageVerifiedShared, autoConverge, postCopyAllowed, compressed,
                parallelConnections, copyDisks, throttleInitialPercent, throttleIncrementPercent, tls, a);
    }
}
