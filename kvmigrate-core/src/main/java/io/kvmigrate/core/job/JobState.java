package io.kvmigrate.core.job;

/**
 * Where a job is in its life. {@code QUEUED} means no host has been touched for it yet, so a queued job can be
 * cancelled or claimed without asking anyone; the four terminal states never change again.
 */
public enum JobState {
    /** Accepted, not started: nothing has been done on any host. */
    QUEUED,
    /** A controller (its owner) is running it; its phase says which step. */
    RUNNING,
    SUCCEEDED,
    FAILED,
    /** Stopped on request; the VM's placement says where it was left. */
    CANCELLED,
    /** Its controller stopped before the move ended, and whoever reconciled it found the move had not completed. */
    INTERRUPTED;

    /** True for the states a job ends in; a job in one of them is never changed again. */
    public boolean isTerminal() {
        return this != QUEUED && this != RUNNING;
    }
}
