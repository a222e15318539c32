package io.kvmigrate.core.plan;

import java.util.List;

/**
 * What kvmigrate will do and what it expects: the plain pre-copy prediction, the strategy the chosen policy
 * implies, the options fixed at start (auto-converge and post-copy cannot be turned on mid-job) and why.
 *
 * @param plainPreCopy plain pre-copy at the initial downtime limit: the converges/does-not-converge call
 * @param expectedTotalMs wall time of the migrate step expected with the strategy; -1 when it is expected not to finish; a
 *        lower bound when the dirty rate was not measured ({@link #lowerBoundOnly()})
 * @param expectedDowntimeMs downtime expected with the strategy; -1 when it is expected not to finish or was not measured
 * @param expectedToComplete whether the strategy is expected to complete (false: runs forever for plain, aborts for safe)
 * @param throttleAvoided why the guest must not be throttled ({@link KnownBugs}), or null
 * @param dirtyRing the VM's vCPUs and dirty ring when QEMU's per-vCPU dirty limit can slow it ({@link DirtyLimit}), else
 *        {@link DirtyRing#NONE}: then the policy limits its dirty rate mid-job instead of throttling it with auto-converge
 */
public record Plan(PolicyKind policy, GuestProfile guest, long bandwidthBps, boolean bandwidthAssumed, long initialDowntimeMs,
        long maxDowntimeMs, PreCopyModel.Outcome plainPreCopy, Strategy strategy, boolean autoConverge, boolean postCopy,
        long expectedTotalMs, long expectedDowntimeMs, boolean expectedToComplete, long floorMs, List<String> reasons,
        String throttleAvoided, DirtyRing dirtyRing) {

    public Plan {
        reasons = List.copyOf(reasons);
    }

    /** The same plan with one more reason (a note the planner could not make: it sees no VM definition). */
    public Plan withReason(String reason) {
        List<String> r = new java.util.ArrayList<>(reasons);
        r.add(reason);
        return new Plan(policy, guest, bandwidthBps, bandwidthAssumed, initialDowntimeMs, maxDowntimeMs, plainPreCopy, strategy, autoConverge,
                postCopy, expectedTotalMs, expectedDowntimeMs, expectedToComplete, floorMs, r, throttleAvoided, dirtyRing);
    }

    /** The same plan with another strategy, start options, expectation and reasons, for a VM with {@code ring}. */
    Plan with(Strategy s, boolean autoConverge, long totalMs, boolean complete, List<String> why, DirtyRing ring) {
        return new Plan(policy, guest, bandwidthBps, bandwidthAssumed, initialDowntimeMs, maxDowntimeMs, plainPreCopy, s, autoConverge,
                postCopy, totalMs, complete ? expectedDowntimeMs : -1, complete, floorMs, why, throttleAvoided, ring);
    }

    /** True when the dirty rate was not measured: then the expected total is a lower bound and the convergence call is open. */
    public boolean lowerBoundOnly() {
        return guest.rate() == GuestProfile.Rate.SKIPPED_SHORT || guest.rate() == GuestProfile.Rate.UNAVAILABLE;
    }

    /** The strategy, named for people. */
    public enum Strategy {
        PRE_COPY("pre-copy"),
        PRE_COPY_RAISED_DOWNTIME("pre-copy, downtime limit raised"),
        AUTO_CONVERGE("pre-copy, throttled (auto-converge) from the level the dirty rate needs up to 99 %"),
        POST_COPY("post-copy as soon as the dirty rate shows pre-copy cannot converge"),
        POST_COPY_NO_THROTTLE("pre-copy, then post-copy after the first pass (no throttle: a known hypervisor bug)"),
        PRE_COPY_NO_THROTTLE("pre-copy, abort after the first pass if it cannot converge (no throttle: a known hypervisor bug)"),
        ABORT_NOT_CONVERGING("abort as soon as the dirty rate is known: even a 99 % throttle cannot make pre-copy converge"),
        UNBOUNDED("plain pre-copy without intervention: does not finish"),
        DIRTY_LIMIT("pre-copy; as soon as the dirty rate shows it cannot converge, the guest's dirty rate is limited per vCPU (QEMU's dirty limit, set mid-job)"),
        RESTART_AUTO_CONVERGE("pre-copy; after the first pass, start again with auto-converge sized from the dirty rate (QEMU takes it only at the start)"),
        PRE_COPY_UNMEASURED("pre-copy, escalating from live statistics (dirty rate not measured)");

        private final String label;

        Strategy(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }
}
