package io.kvmigrate.core.spi;

import io.kvmigrate.core.model.DirtyRate;
import java.util.Optional;

/**
 * Looks into a running guest without moving it: its physical memory and how fast it dirties it. What the plan step
 * measures before a migration exists (and the lab reads its test guest through).
 */
public interface GuestProbes extends HostRole {
    /** Reads guest physical memory of a running VM. */
    byte[] peekPhysicalMemory(String vm, long address, int length);

    /**
     * Starts the hypervisor's measurement of how fast a running VM dirties its memory, over {@code seconds}; returns
     * at once. Uses dirty logging (dirty-bitmap mode), which counts every written page and slows the guest as a
     * migration would, so the figure is the one a migration will see.
     */
    void startDirtyRateMeasurement(String vm, int seconds);

    /** The VM's latest finished dirty-rate measurement; empty while one is running or none was made. */
    Optional<DirtyRate> lastDirtyRate(String vm);
}
