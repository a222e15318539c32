package io.kvmigrate.core.spi;

import io.kvmigrate.core.model.VmInfo;
import java.util.List;
import java.util.Optional;

/**
 * A host's VMs (libvirt domains): find them with their XML, define, start, stop, remove. What the resolve, define,
 * verify and cleanup steps use.
 */
public interface Domains extends HostRole {
    List<VmInfo> listVms();

    Optional<VmInfo> findVm(String name);

    Optional<VmInfo> findVmByUuid(String uuid);

    /** Defines (persistently) a VM from domain XML and returns it. */
    VmInfo defineVm(String xml);

    void startVm(String name);

    /** Asks the guest to shut down (ACPI); returns at once. */
    void shutdownVm(String name);

    /** Hard power-off. */
    void destroyVm(String name);

    /** Removes the persistent definition (and managed save / snapshots metadata / NVRAM), never disks. */
    void undefineVm(String name);

    void suspendVm(String name);

    void resumeVm(String name);
}
