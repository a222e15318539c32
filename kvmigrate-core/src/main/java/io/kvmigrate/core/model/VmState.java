package io.kvmigrate.core.model;

/** Coarse VM state, as libvirt reports it. */
public enum VmState {
    RUNNING, PAUSED, SHUTOFF, SHUTDOWN, CRASHED, PMSUSPENDED, BLOCKED, OTHER;

    public boolean isActive() {
        return this != SHUTOFF && this != CRASHED && this != OTHER;
    }
}
