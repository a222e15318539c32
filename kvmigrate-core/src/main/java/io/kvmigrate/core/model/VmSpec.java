package io.kvmigrate.core.model;

import java.util.List;

/** What kvmigrate knows of a VM definition, parsed from its domain XML (kept alongside). */
public record VmSpec(String name, String uuid, String domainType, String arch, String machine, String emulator,
        long memoryKiB, int vcpus, String cpuMode, List<DiskSpec> disks, List<NicSpec> nics, List<String> hostDevices,
        String xml) {
    public VmSpec {
        disks = List.copyOf(disks);
        nics = List.copyOf(nics);
        hostDevices = List.copyOf(hostDevices);
    }

    /** The same VM with these disks (probing or checking a subset). */
    public VmSpec withDisks(List<DiskSpec> newDisks) {
        return new VmSpec(name, uuid, domainType, arch, machine, emulator, memoryKiB, vcpus, cpuMode, newDisks, nics, hostDevices, xml);
    }

    /** The same VM with these NICs (checking it as it will be attached on the target). */
    public VmSpec withNics(List<NicSpec> newNics) {
        return new VmSpec(name, uuid, domainType, arch, machine, emulator, memoryKiB, vcpus, cpuMode, disks, newNics, hostDevices, xml);
    }
}
