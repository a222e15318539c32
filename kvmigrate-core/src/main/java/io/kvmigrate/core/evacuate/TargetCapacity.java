package io.kvmigrate.core.evacuate;

import io.kvmigrate.core.model.HostRef;

/**
 * A target's room before the drain: CPUs, memory, what its libvirt reports free, and the vCPUs of the VMs already running
 * there. Placement reserves on top of it.
 */
public record TargetCapacity(HostRef host, int cpus, long memoryKiB, long freeMemoryKiB, int usedVcpus) {
}
