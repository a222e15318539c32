package io.kvmigrate.core.model;

/** Facts about a host, gathered once per command. Versions are libvirt's encoding (major*1e6 + minor*1e3 + micro). */
public record HostFacts(String hostname, String hostUuid, String arch, String cpuVendor, String cpuModel,
        int cpus, long memoryKiB, long freeMemoryKiB, long libvirtVersion, long hypervisorVersion, int runningVms) {

    /** "9.0.0" from 9000000. */
    public static String version(long encoded) {
        return (encoded / 1_000_000) + "." + (encoded / 1000 % 1000) + "." + (encoded % 1000);
    }
}
