package io.kvmigrate.core.preflight;

import java.util.List;

/**
 * The target's free memory (as its libvirt reports it) must cover the VM's memory, plus QEMU's own overhead
 * for comfort. Overridable: overcommitted hosts (KSM, swap, balloons) may knowingly run tighter.
 */
public final class MemoryCheck implements Check {
    static final long MIN_OVERHEAD_KIB = 64 * 1024;

    @Override
    public String name() {
        return "MEMORY";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        long need = ctx.vm().spec().memoryKiB();
        long free = ctx.target().facts().freeMemoryKiB();
        long overhead = Math.max(MIN_OVERHEAD_KIB, need / 10);
        String s = mib(need);
        String t = mib(free) + " free of " + mib(ctx.target().facts().memoryKiB());
        if (free < need && !ctx.live()) {
            return List.of(Finding.warn("TARGET_MEMORY_INSUFFICIENT", name(), s, t, "The VM needs " + mib(need) + " but the target has"
                    + " only " + mib(free) + " free: it can be moved there offline, but not started until memory is freed.",
                    "Free memory on the target before starting the VM there."));
        }
        if (free < need) {
            return List.of(Finding.failOverridable("TARGET_MEMORY_INSUFFICIENT", name(), s, t, "The VM needs " + mib(need)
                    + " but the target has only " + mib(free) + " free.", "Free memory on the target (stop or move VMs), pick another "
                    + "target, or accept TARGET_MEMORY_INSUFFICIENT if the target overcommits memory on purpose."));
        }
        if (free < need + overhead) {
            return List.of(Finding.warn("TARGET_MEMORY_TIGHT", name(), s, t, "The target's free memory covers the VM but not QEMU's "
                    + "overhead (about " + mib(overhead) + ").", "Free some memory on the target first."));
        }
        return List.of(Finding.pass(name(), s, t, "The target has room for the VM's memory."));
    }

    static String mib(long kib) {
        return (kib / 1024) + " MiB";
    }
}
