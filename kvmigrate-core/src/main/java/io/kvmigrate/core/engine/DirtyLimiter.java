package io.kvmigrate.core.engine;

import io.kvmigrate.core.engine.ConvergencePolicy.Action;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.plan.ConvergenceModel;
import io.kvmigrate.core.plan.DirtyRing;
import java.time.Duration;

/**
 * QEMU's per-vCPU dirty limit as {@link StagedConvergencePolicy} drives it for one migration: what the VM allows (its
 * {@link DirtyRing}), the limit in force, and the action that set it (to know it when the hypervisor refuses it). The
 * limit is set mid-job, lowered while the guest still outpaces it, and given up for auto-converge when lowering cannot
 * help any more; the hypervisor adapter lifts it when the VM stays on the source. Not thread-safe.
 */
final class DirtyLimiter {
    /** QEMU re-measures a limited vCPU once a second and moves its sleep toward the limit in steps. */
    static final long SETTLE_MS = 3000;
    /**
     * Passes the limit gets beyond a throttle's budget before it is given up. Giving up costs a restart with auto-converge
     * (the first pass again, then a throttle that QEMU raises 10 points every two passes: a minute in the lab), a pass
     * more under the limit a few seconds. The lab's busy guest converged within 3 passes of the limit in most suite runs
     * and not in 2 of 8 (CI), each then moved only after 60 s of auto-converge.
     */
    static final int EXTRA_PASSES = 3;
    /** The least time the limit is watched for, in {@link #SETTLE_MS}: QEMU took 1-2 s to bring the lab's vCPU down. */
    static final int SETTLE_PERIODS = 4;

    private DirtyRing ring;
    private long perVcpuMiBps;
    private Action last;

    DirtyLimiter(DirtyRing ring) {
        this.ring = ring;
    }

    /** The VM's ring while the limit may still be used for this job, else {@link DirtyRing#NONE}. */
    DirtyRing ring() {
        return ring;
    }

    /** A limit is in force. */
    boolean active() {
        return perVcpuMiBps > 0;
    }

    /** The VM allows the limit and none is set yet. */
    boolean available() {
        return ring.usable() && perVcpuMiBps == 0;
    }

    /** The action that sets the limit to {@code mibPerVcpu} (and first the downtime limit to {@code downtimeMs}, when above 0). */
    Action limit(long mibPerVcpu, String reason, long downtimeMs) {
        perVcpuMiBps = mibPerVcpu;
        last = new Action("limit dirty rate to " + mibPerVcpu + " MiB/s per vCPU", reason, h -> {
            if (downtimeMs > 0) h.setMaxDowntime(downtimeMs);
            h.setDirtyLimit(mibPerVcpu);
        });
        return last;
    }

    /** True when {@code a} set the limit: refused by the hypervisor, it is dropped for this job. */
    boolean refused(Action a) {
        if (a != last) return false;
        drop();
        return true;
    }

    /**
     * Still stalled under the limit: the action halving it while it is above QEMU's tolerance (below, a lower limit changes
     * nothing), or null: then the limit has done what it can ({@link #giveUp}).
     */
    Action tighten(String stall, JobStats s) {
        if (perVcpuMiBps <= ConvergenceModel.DIRTY_LIMIT_TOLERANCE_MIBPS) return null;
        long from = perVcpuMiBps;
        return limit(Math.max(ConvergenceModel.MIN_DIRTY_LIMIT_MIBPS, from / 2), "still stalled under " + from + " MiB/s per vCPU (" + stall
                + "; dirty " + PassWatch.mibs(s.dirtyRateBps()) + " vs sent " + PassWatch.mibs(s.memoryBps()) + ")", 0);
    }

    /** Gives the limit up for this job (what is left is auto-converge); returns why, for the next step's reason. */
    String giveUp(String stall) {
        String why = "the dirty limit of " + perVcpuMiBps + " MiB/s per vCPU did not make it converge (" + stall + ")";
        drop();
        return why;
    }

    /** Whether QEMU has had its time to hold the limit, {@code sinceWindow} after the observation began (always, without one). */
    boolean settled(Duration sinceWindow) {
        return !active() || sinceWindow.toMillis() >= SETTLE_PERIODS * SETTLE_MS;
    }

    private void drop() {
        ring = DirtyRing.NONE;
        perVcpuMiBps = 0;
    }
}
