package io.kvmigrate.core.engine;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.model.MigrationAddress;
import java.time.Duration;

/**
 * What a failed live migration says: the error a user reads, from what the migration knew when it ended (why it was
 * aborted, if it was) and where the VM is now. A pure function of those facts, kept out of {@link LiveMigration} so
 * the engine holds the running of a migration and this the words of its end.
 *
 * @param abortReason why kvmigrate aborted the migration itself; null when the hypervisor failed it
 * @param gaveUpBecause the convergence policy's reason, for NOT_CONVERGING
 * @param linkDownBecause the no-progress watchdog's reason, for a stream that looks cut
 * @param migrationAddress the migration network's address, if one was given (named in the hint of a cut stream)
 * @param postCopyStarted whether the guest had begun running on the target
 */
record MigrationFailure(String source, String target, String vm, Duration timeout, ErrorCode abortReason, String gaveUpBecause,
        String linkDownBecause, MigrationAddress migrationAddress, boolean postCopyStarted) {

    KvmigrateException describe(Throwable err, JobStats lastSeen, Placement placement) {
        String where = where(placement);
        String progress = lastSeen.memoryTotal() == 0 ? "" : " (" + lastSeen.memoryRemaining() / (1 << 20) + " MiB remaining, iteration "
                + lastSeen.iteration() + ", dirty rate " + lastSeen.dirtyRateBps() / (1 << 20) + " MiB/s, expected downtime "
                + lastSeen.downtimeMs() + " ms)";
        String step = Phase.MIGRATE.label();
        if (abortReason == ErrorCode.TIMEOUT) {
            return new KvmigrateException(ErrorCode.TIMEOUT, step, source, vm,
                    "Migration did not finish within " + timeout.toSeconds() + " s and was aborted" + progress + ". " + where,
                    "The guest dirties memory faster than the link carries it: raise {bandwidth} or {maxDowntime}, or give a longer {timeout}.", err);
        }
        if (abortReason == ErrorCode.NOT_CONVERGING) {
            return new KvmigrateException(ErrorCode.NOT_CONVERGING, step, source, vm,
                    "Migration aborted by the convergence policy: " + gaveUpBecause + progress + ". " + where,
                    "Give a higher {bandwidth} or {maxDowntime}, migrate when the guest is less busy, or use {policy} finish"
                            + " (post-copy).", err);
        }
        if (abortReason == ErrorCode.MIGRATION_FAILED && linkDownBecause != null) {
            return new KvmigrateException(ErrorCode.MIGRATION_FAILED, step, target, vm,
                    "Migration aborted: " + linkDownBecause + progress + ". " + where,
                    migrationAddress != null ? "Check the migration network to " + migrationAddress.text() + " (a firewall, a route),"
                            + " then move it again." : "Check the network between the hosts (a firewall, the migration ports 49152-49215"
                            + " on the target), then move it again.", err);
        }
        if (abortReason == ErrorCode.CANCELLED) {
            return new KvmigrateException(ErrorCode.CANCELLED, step, source, vm,
                    "Migration cancelled" + progress + ". " + where, "Run the same command again when ready.", err);
        }
        if (guestEndedOnSource(placement)) {
            // The source's QEMU ended mid-transfer (killed, crashed): no migration can save a guest whose only copy is gone.
            return new KvmigrateException(ErrorCode.MIGRATION_FAILED, step, source, vm, "The VM stopped running on '"
                    + source + "' during the migration: its QEMU there ended (" + err.getMessage() + "). Its memory is lost, as after a"
                    + " crash, and it runs on no host now; it stays defined on '" + source + "' with its disks, and nothing of it is left on '"
                    + target + "'.", "Start it again on '" + source + "' ('virsh start " + vm + "'), then move it"
                            + " again; the VM's QEMU log on '" + source + "' says why it ended.", err);
        }
        KvmigrateException ke = err instanceof KvmigrateException k ? k : null;
        return new KvmigrateException(ErrorCode.MIGRATION_FAILED, step, ke != null && ke.host() != null ? ke.host() : source, vm,
                "Tried to migrate but failed because: " + err.getMessage() + ". " + where,
                ke != null && ke.hint() != null ? ke.hint() : "See the libvirt logs of both hosts.", err);
    }

    /** Known to run nowhere, still defined on the source, nothing on the target, post-copy never begun: the guest died there. */
    private boolean guestEndedOnSource(Placement p) {
        return p.known() && !postCopyStarted && p.runningOn().isEmpty() && p.persistentOn().contains(source)
                && !p.presentOn().contains(target);
    }

    /** Where a failed move left the VM, in words; a host that could not be read is said to be unknown, never empty. */
    private String where(Placement p) {
        boolean onSourceOnly = p.runsOnlyOn(source);
        if (p.known()) {
            return onSourceOnly && !p.presentOn().contains(target) ? "The VM is still running on '" + source + "' and nothing of it is left on '"
                    + target + "'." : "Check the VM: it is " + p + ".";
        }
        if (onSourceOnly && p.unreadable().keySet().equals(java.util.Set.of(target))) {
            return "The VM is still running on '" + source + "'; '" + target + "' could not be read (" + p.unreadable().get(target)
                    + "), so whether anything of it is left there is unknown: check it before moving the VM again.";
        }
        return "Check the VM on both hosts: it is " + p + ".";
    }
}
