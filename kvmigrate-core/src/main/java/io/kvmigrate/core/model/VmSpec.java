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
}
