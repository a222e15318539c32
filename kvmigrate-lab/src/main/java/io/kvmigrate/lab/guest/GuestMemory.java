package io.kvmigrate.lab.guest;

/** Reads guest physical memory (e.g. libvirt virDomainMemoryPeek with VIR_MEMORY_PHYSICAL); at most 65536 bytes per call. */
@FunctionalInterface
public interface GuestMemory {

    /** Largest read a caller may ask for: libvirt's remote protocol caps memory peeks at 64 KiB. */
    int MAX_READ = 65536;

    /**
     * Returns exactly {@code length} bytes starting at {@code physicalAddress}.
     *
     * @param physicalAddress guest physical address
     * @param length number of bytes, 1..{@link #MAX_READ}
     */
    byte[] read(long physicalAddress, int length);
}
