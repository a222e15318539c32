package io.kvmigrate.core.evacuate;

import io.kvmigrate.core.model.HostRef;

/**
 * One VM placed on a target: what moves, from where to where, how (live or offline), what it reserves on the target and
 * what it is predicted to cost.
 *
 * @param vmId the VM's position in its source host's list (VMID order, as naive drains take them)
 * @param reservedMemoryKiB memory reserved on the target (the VM's, plus QEMU's overhead); 0 for a shut-off VM
 */
public record PlannedMove(int vmId, String vm, String uuid, HostRef source, HostRef target, boolean live, long memoryKiB, int vcpus,
        long reservedMemoryKiB, MoveEstimate estimate) {

    public String key() {
        return source.name() + "/" + vm;
    }
}
