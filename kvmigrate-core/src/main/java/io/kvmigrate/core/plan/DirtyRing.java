package io.kvmigrate.core.plan;

/**
 * A VM that QEMU's per-vCPU dirty limit can slow: its vCPUs and the size of its KVM dirty ring. A limited vCPU runs at full
 * speed until its ring is full, then sleeps: it dirties in bursts of a ring, so the ring's size sets how finely the limit
 * holds it (see {@link ConvergenceModel#dirtyLimit}).
 *
 * @param vcpus the VM's vCPUs; 0: the dirty limit cannot be used ({@link #NONE})
 * @param pages the ring's entries (pages) per vCPU
 */
public record DirtyRing(int vcpus, int pages) {
    /** No dirty limit for this VM. */
    public static final DirtyRing NONE = new DirtyRing(0, 0);
    /** A guest page (x86). */
    static final long PAGE_BYTES = 4096;

    public boolean usable() {
        return vcpus > 0 && pages > 0;
    }

    /** What all vCPUs dirty in one burst each: a full ring apiece. */
    public long burstBytes() {
        return (long) vcpus * pages * PAGE_BYTES;
    }
}
