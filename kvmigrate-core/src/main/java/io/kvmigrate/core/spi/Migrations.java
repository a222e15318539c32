package io.kvmigrate.core.spi;

import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.JobStats;
import java.util.Optional;

/**
 * A host's side of live migrations: start one (the running job is a {@link MigrationHandle}), read a finished job's
 * statistics, find a job already running (to adopt it), and recover an interrupted post-copy forward. What the transfer
 * step, post-copy recovery and crash recovery use.
 */
public interface Migrations extends HostRole {
    /** Starts a live migration of {@code vm} to {@code target}; returns at once. */
    MigrationHandle startLiveMigration(String vm, HostRef target, MigrationOptions options);

    /**
     * The migration job the VM has on this host now, started by anyone (a controller that died, another tool), as a
     * handle to watch and steer it; empty when the VM has no job. Its completion is seen by polling: it completes when
     * the job is gone (normally when the VM left this host, exceptionally when the job failed or was aborted).
     */
    Optional<MigrationHandle> activeMigration(String vm);

    /**
     * Whether the VM has a hypervisor job on this host now (a migration another controller or virsh started, a save, a
     * dump): a second migration would be refused by the hypervisor mid-way, so a move checks first. Unlike {@link
     * #activeMigration} it watches nothing.
     */
    default boolean jobInProgress(String vm) {
        return activeMigration(vm).isPresent();
    }

    /** Statistics of the VM's last completed job on this host (for migrations: on the target, with real downtime). */
    Optional<JobStats> completedJobStats(String vm);

    /**
     * True when {@code vm} is paused on this host because it is in post-copy: the switch took effect, so the guest runs
     * (or ran) on the target and this host no longer holds all its memory. False when the VM runs here, is gone, or is
     * paused for any other reason.
     */
    boolean pausedInPostCopy(String vm);

    /**
     * Resumes an interrupted post-copy migration of {@code vm} to {@code target} (forward: the target keeps running the
     * guest, the source sends what the target still lacks); returns at once.
     */
    MigrationHandle resumePostCopy(String vm, HostRef target, MigrationOptions options);
}
