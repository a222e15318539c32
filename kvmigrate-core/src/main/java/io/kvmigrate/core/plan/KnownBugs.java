package io.kvmigrate.core.plan;

import io.kvmigrate.core.model.HostFacts;

/**
 * Hypervisor bugs kvmigrate steers around, each by the versions that have it, with the reason a decision or a finding
 * gives. See docs/reliability.md for how each was found. The model-driven escalation keeps to them: a guest with a
 * {@link #throttleHazard} is never throttled ({@code ModelStep} skips the step with this reason), and since {@code finish}
 * never arms auto-converge, post-copy never follows a throttle on any guest (the sequence that crashed a real guest).
 */
public final class KnownBugs {
    /** QEMU 9.0.0 (as libvirt encodes it) fixed TCG's dirty tracking during migration. */
    public static final long TCG_DIRTY_TRACKING_FIXED = 9_000_000;

    private KnownBugs() {
    }

    /**
     * Why a software-emulated guest ({@code <domain type='qemu'>}) must not be throttled by auto-converge, or null when the
     * source QEMU is not affected. Before QEMU 9.0 ("physmem: Fix migration dirty bitmap
     * coherency with TCG memory access") clearing the dirty bitmap for a migration pass did not reset the TCG vCPUs'
     * softmmu TLB, so writes through a cached TLB entry were not logged again and such pages could stay stale on the
     * target (post-copy never resends a page that is not dirty in the final sync). In the lab a real Linux guest's kernel
     * crashed after auto-converge (throttle 50-90%), with and without post-copy after it; the runs without a throttle did
     * not (docs/reliability.md). Throttled, the vCPU sleeps most of each slice with its TLB intact while passes go by.
     * KVM guests are not affected: KVM logs their writes itself.
     */
    public static String throttleHazard(String domainType, long sourceQemuVersion) {
        if (!"qemu".equals(domainType) || sourceQemuVersion <= 0 || sourceQemuVersion >= TCG_DIRTY_TRACKING_FIXED) return null;
        return "the VM is software-emulated (domain type qemu) and QEMU " + HostFacts.version(sourceQemuVersion)
                + " (before 9.0) can lose dirty pages of such guests; throttling one (auto-converge) corrupted a real guest's memory";
    }

    /**
     * Why the hypervisor's dirty-rate measurement must not be asked for a software-emulated guest, or null when it may.
     * In the lab (QEMU 7.2, libvirt 9.0) starting it on the real Linux TCG guest ended that guest's QEMU at once ("shutting
     * down, reason=crashed" in its log, within a second of the request; RealGuestIT's finish moves, which measure
     * first). Scoped like {@link #throttleHazard}: not seen on KVM guests, untried on QEMU 9.0+.
     */
    public static String dirtyRateHazard(String domainType, long qemuVersion) {
        if (!"qemu".equals(domainType) || qemuVersion <= 0 || qemuVersion >= TCG_DIRTY_TRACKING_FIXED) return null;
        return "the VM is software-emulated (domain type qemu) and QEMU " + HostFacts.version(qemuVersion)
                + "'s dirty-rate measurement crashed such a guest";
    }
}
