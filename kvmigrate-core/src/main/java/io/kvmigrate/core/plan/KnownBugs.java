package io.kvmigrate.core.plan;

import io.kvmigrate.core.model.HostFacts;

/**
 * Hypervisor bugs kvmigrate steers around, each by the versions that have it, with the reason a decision or a finding
 * gives. See docs/reliability.md for how each was found.
 */
public final class KnownBugs {
    /** QEMU 9.0.0 (as libvirt encodes it) fixed TCG's dirty tracking during migration. */
    public static final long TCG_DIRTY_TRACKING_FIXED = 9_000_000;

    private KnownBugs() {
    }

    /**
     * Why a software-emulated guest ({@code <domain type='qemu'>}) must not be throttled by auto-converge when post-copy may
     * follow, or null when the source QEMU is not affected. Before QEMU 9.0 ("physmem: Fix migration dirty bitmap
     * coherency with TCG memory access") clearing the dirty bitmap for a migration pass did not reset the TCG vCPUs'
     * softmmu TLB, so writes through a cached TLB entry were not logged again and such pages could stay stale on the
     * target. Post-copy never resends a page that is not dirty in the final sync. In the lab a real Linux guest crashed
     * after auto-converge (throttle 50-90%) followed by post-copy; without the throttle no run did (docs/reliability.md).
     * KVM guests are not affected: KVM logs their writes itself.
     */
    public static String throttleBeforePostCopy(String domainType, long sourceQemuVersion) {
        if (!"qemu".equals(domainType) || sourceQemuVersion <= 0 || sourceQemuVersion >= TCG_DIRTY_TRACKING_FIXED) return null;
        return "the VM is software-emulated (domain type qemu) and QEMU " + HostFacts.version(sourceQemuVersion)
                + " (before 9.0) can lose dirty pages of such guests; throttling them and then switching to post-copy corrupted"
                + " a real guest's memory";
    }
}
