package io.kvmigrate.core.api;

/** Stable error codes; each knows the process exit code a front end should use. */
public enum ErrorCode {
    INVALID_INPUT(2),
    UNKNOWN_HOST(3),
    HOST_UNREACHABLE(4),
    UNKNOWN_VM(5),
    VM_NOT_RUNNING(6),
    SAME_HOST(7),
    TARGET_CONFLICT(8),
    STORAGE_NOT_SHARED(9),
    PREFLIGHT_FAILED(10),
    MIGRATION_FAILED(11),
    TIMEOUT(12),
    CANCELLED(13),
    VERIFY_FAILED(14),
    LAB_FAILED(15),
    LIBVIRT_ERROR(16),
    /** The convergence policy gave up: the guest dirties memory faster than the migration can carry it. */
    NOT_CONVERGING(17),
    /** The job store could not be opened, migrated, read or written. */
    STORE_FAILED(18),
    /** Another migration job holds the VM: one move of a VM at a time. */
    VM_BUSY(19),
    /** A drain ended with VMs still on the host it was emptying: they fit nowhere, their move failed, or it was cancelled. */
    VMS_LEFT_BEHIND(20),
    INTERNAL(70);

    private final int exitCode;

    ErrorCode(int exitCode) {
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}
