package io.kvmigrate.core.job;

/** What kind of job: a move, or a drain of moves. */
public enum JobKind {
    /** Live migration, disks on shared storage. */
    LIVE,
    /** Live migration that copies the disks to the target's storage as it goes. */
    LIVE_COPY_STORAGE,
    /** The VM is shut off (or shut down), its definition and disks copied, then started on the target if asked. */
    OFFLINE,
    /**
     * A drain of one or more hosts: a job of jobs, whose moves name it as their parent ({@link JobStore#children}). Its
     * VM is the drained hosts' summary, its source the drained host(s), its target the targets.
     */
    EVACUATION
}
