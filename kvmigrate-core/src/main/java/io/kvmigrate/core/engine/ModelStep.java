package io.kvmigrate.core.engine;

import io.kvmigrate.core.plan.ConvergenceModel;
import java.util.Locale;

/**
 * The step the {@link ConvergenceModel} picks for a migration that pre-copy cannot finish as it runs, with the reasons
 * of the step taken and of every step skipped, worded for the decisions {@link StagedConvergencePolicy} emits.
 *
 * @param kind what to do
 * @param skipped steps not taken, each "what: why" (a decision each)
 * @param reason why {@code kind} was chosen
 */
record ModelStep(Kind kind, java.util.List<String[]> skipped, String reason, ConvergenceModel.Throttle throttle,
        ConvergenceModel.DirtyLimitStep dirtyLimit) {

    ModelStep(Kind kind, java.util.List<String[]> skipped, String reason, ConvergenceModel.Throttle throttle) {
        this(kind, skipped, reason, throttle, null);
    }

    enum Kind {
        /** Pre-copy converges at the current limit: nothing to do. */
        NONE,
        /** Pre-copy converges once the downtime limit is raised (to at most the maximum). */
        RAISE_DOWNTIME,
        /** Pre-copy converges only under a throttle (auto-converge). */
        THROTTLE,
        /** Pre-copy converges once the guest's vCPUs are held to a dirty limit (QEMU's per-vCPU dirty limit, set mid-job). */
        DIRTY_LIMIT,
        /** Switch to post-copy now. */
        POST_COPY,
        /** Nothing allowed can converge: abort with the VM on the source. */
        ABORT
    }

    /**
     * Picks the step. {@code postCopy}: post-copy is armed (policy finish, both QEMUs support it); {@code autoConverge}:
     * auto-converge is armed (else a throttle costs a restart of the job); {@code throttleAvoided}: a known hypervisor bug
     * forbids throttling this guest, or null; {@code elapsedMs}: what a restart throws away.
     * {@code ring}: the VM's, which the per-vCPU dirty limit can slow when usable. Where
     * a throttle is needed the dirty limit comes first: it is set mid-job (auto-converge, unless armed at start, costs a
     * restart), it slows only the vCPUs that write memory, and it caps the rate itself, so it reaches rates that even a
     * 99 % CPU throttle leaves above the link.
     */
    static ModelStep pick(ConvergenceModel.Assessment a, boolean postCopy, boolean autoConverge, String throttleAvoided, long elapsedMs,
            boolean finish, io.kvmigrate.core.plan.DirtyRing ring) {
        java.util.List<String[]> skipped = new java.util.ArrayList<>();
        if (a.atLimit().converges()) {
            return new ModelStep(Kind.NONE, skipped, String.format(Locale.ROOT, "%s: pre-copy converges in about %d more pass(es)", a.rates(),
                    a.atLimit().passes()), a.throttle());
        }
        if (a.atMax().converges()) {
            return new ModelStep(Kind.RAISE_DOWNTIME, skipped, String.format(Locale.ROOT, "%s: each pass needs about %d ms of downtime, more"
                    + " than the limit of %d ms and within {maxDowntime} %d ms", a.rates(), a.atLimit().neededDowntimeMs(), a.limitMs(),
                    a.maxDowntimeMs()), a.throttle());
        }
        String noPreCopy = String.format(Locale.ROOT, "%s: pre-copy cannot converge, each pass would need about %d ms of downtime"
                + " (above {maxDowntime} %d ms)", a.rates(), a.atMax().neededDowntimeMs(), a.maxDowntimeMs());
        skipped.add(new String[] {"downtime raise skipped", String.format(Locale.ROOT, "each pass would need about %d ms, above {maxDowntime}"
                + " %d ms", a.atMax().neededDowntimeMs(), a.maxDowntimeMs())});
        ConvergenceModel.Throttle t = a.throttle();
        if (ring.usable() && throttleAvoided == null) {
            ConvergenceModel.DirtyLimitStep d = ConvergenceModel.dirtyLimit(a.state(), ring, a.maxDowntimeMs());
            String limit = d.why();
            if (d.possible() && (!postCopy || d.timeMs() < a.postCopyMs())) {
                skipped.add(new String[] {"auto-converge skipped", "the per-vCPU dirty limit slows only the vCPUs that write memory and is set"
                        + " without starting the job again"});
                return new ModelStep(Kind.DIRTY_LIMIT, skipped, String.format(Locale.ROOT, "%s; %s: converges in about %.1f s", noPreCopy,
                        limit, d.timeMs() / 1000.0), t, d);
            }
            skipped.add(new String[] {"dirty limit skipped", d.possible() ? String.format(Locale.ROOT, "post-copy finishes in about %.1f s;"
                    + " %s and would need about %.1f s", a.postCopyMs() / 1000.0, limit, d.timeMs() / 1000.0) : limit});
        }
        long restartMs = autoConverge ? 0 : elapsedMs;
        long throttledMs = t.possible() ? t.timeMs() + restartMs : -1;
        String throttleWhy;
        boolean throttleUsable = false;
        if (throttleAvoided != null) {
            throttleWhy = throttleAvoided;
        } else if (!t.possible()) {
            throttleWhy = a.throttleHopeless();
        } else if (postCopy && throttledMs >= a.postCopyMs()) {
            throttleWhy = String.format(Locale.ROOT, "post-copy finishes in about %.1f s; a %d %% throttle (%.2fx the link left) would need"
                    + " about %.1f s%s", a.postCopyMs() / 1000.0, t.percent(), t.throttledRatio(), throttledMs / 1000.0,
                    autoConverge ? "" : ", starting the job again for auto-converge");
        } else {
            throttleUsable = true;
            throttleWhy = null;
        }
        if (throttleUsable) {
            return new ModelStep(Kind.THROTTLE, skipped, String.format(Locale.ROOT, "%s; a %d %% throttle leaves %.2fx the link: converges in"
                    + " about %.1f s%s", noPreCopy, t.percent(), t.throttledRatio(), throttledMs / 1000.0,
                    postCopy ? String.format(Locale.ROOT, ", sooner than post-copy (about %.1f s)", a.postCopyMs() / 1000.0) : ""), t);
        }
        skipped.add(new String[] {"throttle skipped", throttleWhy});
        if (postCopy) {
            return new ModelStep(Kind.POST_COPY, skipped, noPreCopy + String.format(Locale.ROOT, "; post-copy sends each remaining page once"
                    + " (about %.1f s): the guest moves to the target now and pulls the rest", a.postCopyMs() / 1000.0), t);
        }
        return new ModelStep(Kind.ABORT, skipped, noPreCopy + "; " + (throttleAvoided != null ? "the throttle is not used: " + throttleAvoided
                : t.possible() ? "" : a.throttleLeaves()) + (finish ? "; post-copy is not available on both hosts" : "; post-copy is not allowed by"
                + " {policy} safe"), t);
    }

    /**
     * The model's inputs from a poll: the live dirty rate from pass 2 on, before that the one measured before the start
     * ({@code measuredDirtyBps}, 0: none); null when there is neither yet. {@code workingSetBytes}: the plan's non-zero
     * memory (0: the job's memory total); {@code planLinkBps}: the cap, until QEMU reports its rate.
     */
    static ConvergenceModel.State state(io.kvmigrate.core.model.JobStats s, PassWatch watch, long workingSetBytes, long planLinkBps,
            long measuredDirtyBps, boolean measuredSaturated) {
        long w = workingSetBytes > 0 ? workingSetBytes : s.memoryTotal();
        long link = s.memoryBps() > 0 ? s.memoryBps() : planLinkBps;
        if (w <= 0 || link <= 0) return null;
        long rest = Math.max(watch.currentPeak(), s.memoryRemaining());
        // In the first pass the remaining counts only what is left of it; the model starts from the non-zero memory unsent.
        if (s.iteration() <= 1) rest = Math.max(rest, w - s.memoryProcessed());
        if (s.iteration() >= 2 && s.dirtyRateBps() > 0) {
            long dirty = s.dirtyRateBps();
            // The hypervisor counts distinct pages over the pass before: a guest that dirtied (nearly) its whole working set
            // in it may dirty faster than counted.
            boolean saturated = watch.currentPeak() >= w * 9 / 10 || (watch.lastPassMs() > 0 && dirty * watch.lastPassMs() / 1000 >= w * 9 / 10);
            return new ConvergenceModel.State(rest, w, dirty, link, saturated);
        }
        // QEMU takes a switch to post-copy only once its migration runs (libvirt sets the capability just before): judge
        // from the first statistics in which it has sent something.
        if (measuredDirtyBps <= 0 || (s.memoryProcessed() <= 0 && s.memoryBps() <= 0)) return null;
        return new ConvergenceModel.State(rest, w, measuredDirtyBps, link, measuredSaturated);
    }
}
