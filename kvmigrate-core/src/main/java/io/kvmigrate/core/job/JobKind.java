package io.kvmigrate.core.job;

/** What kind of move a job is. */
public enum JobKind {
    /** Live migration, disks on shared storage. */
    LIVE,
    /** Live migration that copies the disks to the target's storage as it goes. */
    LIVE_COPY_STORAGE,
    /** The VM is shut off (or shut down), its definition and disks copied, then started on the target if asked. */
    OFFLINE
}
