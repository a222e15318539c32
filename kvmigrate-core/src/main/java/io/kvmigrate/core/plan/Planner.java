package io.kvmigrate.core.plan;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Chooses the strategy for a measured guest, a link and a policy, and predicts its outcome with {@link PreCopyModel}.
 * The choice that matters most is made here because it cannot be made later: auto-converge and post-copy are
 * capabilities QEMU only accepts before the migration starts.
 */
public final class Planner {
    /** How much busier than measured a guest may get before a plan counts as having a thin margin. */
    static final double MARGIN = 1.3;

    /**
     * Most of a migration's shortest time a dirty-rate measurement before it may cost; above it, the migration starts
     * unmeasured. Half of the 10% kvmigrate may add to a migration: the rest is for its checks and the CLI's start-up.
     */
    static final double MEASUREMENT_BUDGET = 0.05;
    /** What a measurement costs on top of its period: reading the result and the polling around it. */
    static final long MEASUREMENT_OVERHEAD_MS = 100;

    private final Calibration calibration;

    public Planner(Calibration calibration) {
        this.calibration = calibration;
    }

    /**
     * Plans one migration.
     *
     * @param bandwidthBps usable bandwidth, bytes/s (the cap, or the assumed link speed when {@code assumed})
     * @param initialDowntimeMs the downtime limit the migration starts with
     * @param maxDowntimeMs the most the policy may raise it to (the user's limit)
     * @param postCopySupported both hypervisors can do post-copy
     */
    public Plan plan(GuestProfile g, long bandwidthBps, boolean assumed, long initialDowntimeMs, long maxDowntimeMs, PolicyKind policy,
            boolean postCopySupported) {
        return plan(g, bandwidthBps, assumed, initialDowntimeMs, maxDowntimeMs, policy, postCopySupported, true);
    }

    /**
     * As {@link #plan(GuestProfile, long, boolean, long, long, PolicyKind, boolean)}; with {@code autoConvergeArmable} false
     * the plan is for a migration that starts without a measurement ({@code kvmigrate plan} for a migration that
     * {@code migrate} would start unmeasured): auto-converge stays off, so a stall that the downtime limit cannot cure
     * cancels the job and starts it again with auto-converge, before the last resort.
     */
    public Plan plan(GuestProfile g, long bandwidthBps, boolean assumed, long initialDowntimeMs, long maxDowntimeMs, PolicyKind policy,
            boolean postCopySupported, boolean autoConvergeArmable) {
        return plan(g, bandwidthBps, assumed, initialDowntimeMs, maxDowntimeMs, policy, postCopySupported, autoConvergeArmable, null);
    }

    /**
     * As {@link #plan(GuestProfile, long, boolean, long, long, PolicyKind, boolean, boolean)}; {@code throttleHazard} (from
     * {@link KnownBugs}, or null) forbids throttling the guest: then {@code finish} skips the throttle stage and
     * switches to post-copy as soon as pre-copy stalls, and {@code safe} aborts there.
     */
    public Plan plan(GuestProfile g, long bandwidthBps, boolean assumed, long initialDowntimeMs, long maxDowntimeMs, PolicyKind policy,
            boolean postCopySupported, boolean autoConvergeArmable, String throttleHazard) {
        // The hazard matters wherever the policy would throttle: safe and finish (plain never intervenes).
        String throttleAvoided = policy != PolicyKind.PLAIN ? throttleHazard : null;
        if (throttleAvoided != null) autoConvergeArmable = false;
        long max = Math.max(initialDowntimeMs, maxDowntimeMs);
        PreCopyModel.Outcome plain = PreCopyModel.simulate(g, bandwidthBps, initialDowntimeMs, calibration);
        long floor = PreCopyModel.floorMs(g, bandwidthBps);
        List<String> why = new ArrayList<>();
        if (g.rate() == GuestProfile.Rate.UNAVAILABLE) {
            why.add("dirty rate not measured: the hypervisor refused the measurement, or it is not asked for this VM (a"
                    + " software-emulated guest on a QEMU whose measurement crashed such a guest)");
        }
        if (g.rate() == GuestProfile.Rate.SKIPPED_SHORT || g.rate() == GuestProfile.Rate.UNAVAILABLE) {
            if (g.rate() == GuestProfile.Rate.SKIPPED_SHORT) why.add(String.format(Locale.ROOT, "dirty rate not measured: this migration takes at least %s (fixed costs and %s of"
                    + " non-zero memory at %s%s), and QEMU's shortest measurement would add more than %.0f%% to it",
                    secs(plain.totalMs()), mib(g.nonZeroBytes()), mibs(bandwidthBps), assumed ? " (assumed: no {bandwidth} given)" : "",
                    MEASUREMENT_BUDGET * 100));
            why.add(policy == PolicyKind.PLAIN ? "policy plain does not intervene"
                    : "the policy judges convergence from the live statistics; auto-converge stays off (it can only be enabled at"
                    + " start, and only a measurement would justify it); if pre-copy stalls beyond the downtime limit, the job is"
                    + " cancelled and started again with it" + (policy == PolicyKind.FINISH && postCopySupported
                    ? "; post-copy is enabled at start as the last resort" : ""));
            if (throttleAvoided != null) {
                why.add("throttle skipped: " + throttleAvoided + (policy == PolicyKind.FINISH && postCopySupported
                        ? "; a stall switches straight to post-copy" : "; a stall the downtime limit cannot cure aborts"));
            }
            return new Plan(policy, g, bandwidthBps, assumed, initialDowntimeMs, max, plain, Plan.Strategy.PRE_COPY_UNMEASURED, false,
                    policy == PolicyKind.FINISH && postCopySupported, plain.totalMs(), -1, true, floor, why, throttleAvoided, DirtyRing.NONE);
        }
        boolean unmeasured = g.dirtyRateSaturated() && g.dirtyRateBps() == 0;
        why.add(String.format(Locale.ROOT, "dirty rate %s%s vs usable bandwidth %s%s; %s of %s RAM is non-zero",
                unmeasured ? "not measured (irrelevant: sending all non-zero memory fits the downtime limit)" : mibs(g.dirtyRateBps()),
                g.dirtyRateSaturated() && !unmeasured ? " (at least: the measurement saw every written page)" : "",
                mibs(bandwidthBps), assumed ? " (assumed: no {bandwidth} given)" : "", mib(g.nonZeroBytes()), mib(g.memoryBytes())));
        if (plain.converges()) {
            why.add(String.format(Locale.ROOT, "plain pre-copy converges in %d pass(es) under the %d ms downtime limit",
                    plain.passes(), initialDowntimeMs));
            // Auto-converge stays off when there is margin: QEMU would throttle a guest whose pre-copy converges anyway
            // once its dirty rate passes half the bandwidth, slowing the guest for nothing. With a thin margin (a busier
            // guest would not converge) it goes on as insurance, because it cannot be turned on later.
            GuestProfile busier = new GuestProfile(g.memoryBytes(), g.nonZeroBytes(), Math.round(g.dirtyRateBps() * MARGIN),
                    g.dirtyRateSaturated(), g.sampledPages());
            boolean thin = policy != PolicyKind.PLAIN && !PreCopyModel.simulate(busier, bandwidthBps, max, calibration).converges();
            if (thin && policy == PolicyKind.FINISH && postCopySupported && throttleAvoided == null) {
                why.add(String.format(Locale.ROOT, "thin margin (at %.1fx the measured dirty rate it would not converge even with %d ms):"
                        + " post-copy, armed at start, is the insurance; no auto-converge (a throttle resends pages every pass)", MARGIN, max));
                thin = false;
            } else if (thin && throttleAvoided != null) {
                why.add("thin margin, but no auto-converge as insurance: " + throttleAvoided + "; post-copy is the last resort");
                thin = false;
            } else if (thin && !autoConvergeArmable) {
                why.add(String.format(Locale.ROOT, "thin margin: at %.1fx the measured dirty rate it would not converge even with %d ms;"
                        + " migrate starts this migration unmeasured, so auto-converge stays off; if it stalls, migrate starts it again"
                        + " with auto-converge ({measure} arms it from the start)", MARGIN, max));
                thin = false;
            } else if (thin) {
                why.add(String.format(Locale.ROOT, "thin margin: at %.1fx the measured dirty rate it would not converge even with %d ms;"
                        + " auto-converge is enabled at start as insurance (it cannot be enabled later)", MARGIN, max));
            }
            return new Plan(policy, g, bandwidthBps, assumed, initialDowntimeMs, max, plain, Plan.Strategy.PRE_COPY, thin,
                    policy == PolicyKind.FINISH && postCopySupported, plain.totalMs(), plain.downtimeMs(), true, floor, why, throttleAvoided, DirtyRing.NONE);
        }
        why.add(String.format(Locale.ROOT, "plain pre-copy does not converge: it stalls with about %s left, which needs %d ms of downtime"
                + " (limit %d ms)", mib(plain.stallRemainingBytes()), plain.neededDowntimeMs(), initialDowntimeMs));
        if (policy == PolicyKind.PLAIN) {
            why.add("policy plain does not intervene: the migration runs until it is stopped");
            return new Plan(policy, g, bandwidthBps, assumed, initialDowntimeMs, max, plain, Plan.Strategy.UNBOUNDED, false, false,
                    -1, -1, false, floor, why, throttleAvoided, DirtyRing.NONE);
        }
        PreCopyModel.Outcome raised = PreCopyModel.simulate(g, bandwidthBps, max, calibration);
        if (raised.converges()) {
            why.add(String.format(Locale.ROOT, "raising the downtime limit to at most %d ms lets it converge (%d ms expected)", max,
                    raised.downtimeMs()));
            long detect = stallDetectionMs(g, bandwidthBps);
            return new Plan(policy, g, bandwidthBps, assumed, initialDowntimeMs, max, plain, Plan.Strategy.PRE_COPY_RAISED_DOWNTIME,
                    false, policy == PolicyKind.FINISH && postCopySupported, raised.totalMs() + detect, raised.downtimeMs(), true, floor, why, throttleAvoided, DirtyRing.NONE);
        }
        long pass = Math.round((double) g.nonZeroBytes() / (bandwidthBps * calibration.linkEfficiency()) * 1000);
        long firstPass = firstPassMs(g, bandwidthBps);
        long attempt = calibration.startupMs() + firstPass + stallDetectionMs(g, bandwidthBps);
        ConvergenceModel.Assessment model = assess(g, bandwidthBps, calibration.linkEfficiency(), initialDowntimeMs, max);
        ConvergenceModel.Throttle throttle = model.throttle();
        if (throttleAvoided != null && policy == PolicyKind.FINISH && postCopySupported) {
            why.add("even " + max + " ms of downtime is not enough; throttle skipped: " + throttleAvoided + "; post-copy starts right"
                    + " after the first pass (the mode in which no emulated guest was corrupted)");
            return new Plan(policy, g, bandwidthBps, assumed, initialDowntimeMs, max, plain, Plan.Strategy.POST_COPY_NO_THROTTLE, false,
                    true, calibration.startupMs() + firstPass + pass, PreCopyModel.SWITCHOVER_MS * 2, true, floor, why, throttleAvoided, DirtyRing.NONE);
        }
        if (throttleAvoided != null) {
            why.add("even " + max + " ms of downtime is not enough; throttle skipped: " + throttleAvoided + "; aborts with the VM on"
                    + " the source as soon as the first pass confirms it (after about " + Math.round((calibration.startupMs() + firstPass) / 1000.0) + " s)"
                    + (policy == PolicyKind.FINISH ? "; post-copy is not available on both hosts" : ""));
            return new Plan(policy, g, bandwidthBps, assumed, initialDowntimeMs, max, plain, Plan.Strategy.PRE_COPY_NO_THROTTLE, false,
                    false, -1, -1, false, floor, why, throttleAvoided, DirtyRing.NONE);
        }
        if (policy == PolicyKind.FINISH && postCopySupported) {
            // Post-copy sends each remaining page once; a throttled pre-copy sends them again every pass: the model compares.
            boolean now = autoConvergeArmable && model.state().ratio() >= ConvergenceModel.CONVERGING_RATIO;
            long switchAt = now ? calibration.startupMs() : calibration.startupMs() + firstPass;
            long postBytes = now ? g.nonZeroBytes() : Math.min(g.nonZeroBytes(), Math.round(g.dirtyRateBps() * firstPass / 1000.0));
            long total = switchAt + Math.round(postBytes / (bandwidthBps * calibration.linkEfficiency()) * 1000) + (now ? firstPass - pass : 0);
            why.add(String.format(Locale.ROOT, "even %d ms of downtime is not enough; throttle skipped: %s; post-copy is armed at start and"
                    + " switched to %s", max, throttle.possible() ? String.format(Locale.ROOT, "a %d %% throttle (%.2fx the link left) would"
                    + " resend pages every pass, post-copy sends each once", throttle.percent(), throttle.throttledRatio()) : model.throttleHopeless(),
                    now ? "at the start: the guest dirties every page again before pre-copy could end, so waiting adds time, not progress"
                            : "after the first pass, as soon as the hypervisor's dirty rate confirms it"));
            return new Plan(policy, g, bandwidthBps, assumed, initialDowntimeMs, max, plain, Plan.Strategy.POST_COPY, false,
                    true, total, PreCopyModel.SWITCHOVER_MS * 2, true, floor, why, throttleAvoided, DirtyRing.NONE);
        }
        if (policy == PolicyKind.FINISH) why.add("post-copy is not available on both hosts, so finish falls back to safe");
        if (!throttle.possible()) {
            why.add("even " + max + " ms of downtime is not enough; " + model.throttleHopeless() + ": nothing allowed can converge, so it"
                    + " aborts with the VM on the source " + (autoConvergeArmable ? "at the start" : "after the first pass (about "
                    + Math.round((calibration.startupMs() + firstPass) / 1000.0) + " s)"));
            return new Plan(policy, g, bandwidthBps, assumed, initialDowntimeMs, max, plain, Plan.Strategy.ABORT_NOT_CONVERGING, false, false,
                    -1, -1, false, floor, why, throttleAvoided, DirtyRing.NONE);
        }
        // Unarmed: a first attempt runs until the rate is known (pass 2), then the job starts again with auto-converge.
        long total = (autoConvergeArmable ? 0 : calibration.startupMs() + firstPass) + calibration.startupMs() + firstPass + throttle.timeMs();
        why.add(String.format(Locale.ROOT, autoConvergeArmable
                ? "even %d ms of downtime is not enough; a %d %% throttle leaves %.2fx the link: auto-converge is enabled at start, from %d %%"
                        + " plus %d %% a pass up to %d %%"
                : "even %d ms of downtime is not enough; a %d %% throttle leaves %.2fx the link; migrate starts this migration unmeasured, so"
                        + " auto-converge is off: after the first pass the job is cancelled, the VM still on the source, and started again"
                        + " with auto-converge from %d %% plus %d %% a pass up to %d %% ({measure} arms it from the start and saves the first attempt)",
                max, throttle.percent(), throttle.throttledRatio(), throttle.initialPercent(), throttle.incrementPercent(), ConvergenceModel.MAX_THROTTLE));
        return new Plan(policy, g, bandwidthBps, assumed, initialDowntimeMs, max, plain,
                autoConvergeArmable ? Plan.Strategy.AUTO_CONVERGE : Plan.Strategy.RESTART_AUTO_CONVERGE, autoConvergeArmable, false,
                total, -1, true, floor, why, throttleAvoided, DirtyRing.NONE);
    }

    /**
     * The plan for a VM that QEMU's per-vCPU dirty limit can slow ({@code ring} usable, see {@link DirtyLimit}). Where the plan
     * throttles with auto-converge (armed at start, after a restart, or as insurance for a thin margin) or aborts because
     * even a 99 % throttle is not enough, the policy limits the guest's dirty rate mid-job instead, when the model says that
     * converges: no restart, no throttle armed at start, only the vCPUs that write memory slowed. Plans of plain, of a
     * guest that must not be throttled ({@link KnownBugs}) and of finish with post-copy keep their strategy.
     */
    public Plan withDirtyLimit(Plan p, DirtyRing ring) {
        if (!ring.usable() || p.policy() == PolicyKind.PLAIN || p.throttleAvoided() != null) return p;
        List<String> why = new ArrayList<>(p.reasons());
        Plan.Strategy s = p.strategy();
        if (s == Plan.Strategy.PRE_COPY && p.autoConverge()) {
            why.set(why.size() - 1, why.get(why.size() - 1).replaceFirst("; auto-converge is enabled at start as insurance.*",
                    "; no auto-converge as insurance: if it stalls, the guest's dirty rate is limited per vCPU mid-job"));
            return p.with(s, false, p.expectedTotalMs(), true, why, ring);
        }
        if (s != Plan.Strategy.AUTO_CONVERGE && s != Plan.Strategy.RESTART_AUTO_CONVERGE && s != Plan.Strategy.ABORT_NOT_CONVERGING) {
            return p.with(s, p.autoConverge(), p.expectedTotalMs(), p.expectedToComplete(), why, ring);
        }
        GuestProfile g = p.guest();
        ConvergenceModel.Assessment model = assess(g, p.bandwidthBps(), calibration.linkEfficiency(), p.initialDowntimeMs(), p.maxDowntimeMs());
        ConvergenceModel.DirtyLimitStep d = ConvergenceModel.dirtyLimit(model.state(), ring, p.maxDowntimeMs());
        if (!d.possible()) {
            why.add("per-vCPU dirty limit not used: " + d.why());
            return p.with(s, p.autoConverge(), p.expectedTotalMs(), p.expectedToComplete(), why, ring);
        }
        // Measured before the start, the limit is set at the first statistics; started unmeasured, at pass 2.
        long total = calibration.startupMs() + d.timeMs() + (s == Plan.Strategy.RESTART_AUTO_CONVERGE ? firstPassMs(g, p.bandwidthBps()) : 0);
        why.set(why.size() - 1, String.format(Locale.ROOT, "even %d ms of downtime is not enough; %s: the guest's dirty rate is limited as soon"
                + " as the %s shows pre-copy cannot converge (set mid-job, so auto-converge stays off and nothing is started again)",
                p.maxDowntimeMs(), d.why(), s == Plan.Strategy.RESTART_AUTO_CONVERGE ? "first pass" : "measured rate"));
        return p.with(Plan.Strategy.DIRTY_LIMIT, false, total, true, why, ring);
    }

    /** The first pass: the non-zero memory over the usable link, the zero pages at the hypervisor's scan rate. */
    private long firstPassMs(GuestProfile g, long bandwidthBps) {
        return Math.round((double) g.nonZeroBytes() / (bandwidthBps * calibration.linkEfficiency()) * 1000)
                + Math.round((double) g.zeroBytes() / calibration.zeroScanBps() * 1000);
    }

    /** The model's view of a measured guest before the start: all its non-zero memory still to send. */
    static ConvergenceModel.Assessment assess(GuestProfile g, long bandwidthBps, double linkEfficiency, long limitMs, long maxDowntimeMs) {
        long link = Math.max(1, Math.round(bandwidthBps * linkEfficiency));
        return ConvergenceModel.assess(new ConvergenceModel.State(g.nonZeroBytes(), g.nonZeroBytes(), g.dirtyRateBps(), link,
                g.dirtyRateSaturated()), limitMs, maxDowntimeMs);
    }

    /** The throttle a plan's guest needs, with QEMU's steps for it (see {@link ConvergenceModel}). */
    public static ConvergenceModel.Throttle throttleFor(Plan p) {
        return assess(p.guest(), p.bandwidthBps(), Calibration.lab().linkEfficiency(), p.initialDowntimeMs(), p.maxDowntimeMs()).throttle();
    }

    /**
     * True when even a guest that rewrote all its non-zero memory between any two looks would converge: what is left
     * at the switch can never exceed the non-zero memory, so if sending that fits the downtime limit (with a 20%
     * margin) the dirty rate does not matter and need not be measured.
     */
    public boolean dirtyRateIrrelevant(long nonZeroBytes, long bandwidthBps, long downtimeLimitMs) {
        double ms = nonZeroBytes / (bandwidthBps * calibration.linkEfficiency()) * 1000;
        return ms * 1.2 + PreCopyModel.SWITCHOVER_MS <= downtimeLimitMs;
    }

    /**
     * Whether to measure the dirty rate before a migration of a guest with {@code nonZeroBytes}: not when no rate could
     * matter ({@link GuestProfile.Rate#IRRELEVANT}), nor when the measurement ({@code periodSeconds} plus overhead) would
     * cost more than {@link #MEASUREMENT_BUDGET} of the shortest time the migration can take ({@link GuestProfile.Rate#SKIPPED_SHORT}).
     */
    public GuestProfile.Rate measurementDecision(long nonZeroBytes, long bandwidthBps, long downtimeLimitMs, int periodSeconds) {
        if (dirtyRateIrrelevant(nonZeroBytes, bandwidthBps, downtimeLimitMs)) return GuestProfile.Rate.IRRELEVANT;
        double shortestMs = calibration.startupMs() + nonZeroBytes / (bandwidthBps * calibration.linkEfficiency()) * 1000;
        long costMs = periodSeconds * 1000L + MEASUREMENT_OVERHEAD_MS;
        return costMs > shortestMs * MEASUREMENT_BUDGET ? GuestProfile.Rate.SKIPPED_SHORT : GuestProfile.Rate.MEASURED;
    }

    /**
     * As {@link #measurementDecision(long, long, long, int)} for {@code policy}: {@code finish} measures whenever the rate can
     * matter. Knowing it before the start lets a guest that pre-copy cannot move switch to post-copy at once, which saves
     * its whole first pass (the floor's worth of time); a guest that converges pays the measurement, partly hidden behind
     * the checks it runs beside.
     */
    public GuestProfile.Rate measurementDecision(long nonZeroBytes, long bandwidthBps, long downtimeLimitMs, int periodSeconds,
            PolicyKind policy) {
        GuestProfile.Rate r = measurementDecision(nonZeroBytes, bandwidthBps, downtimeLimitMs, periodSeconds);
        return policy == PolicyKind.FINISH && r == GuestProfile.Rate.SKIPPED_SHORT ? GuestProfile.Rate.MEASURED : r;
    }

    /** Time the policy needs after the first pass to call a stall: its rate window, or two passes. */
    private long stallDetectionMs(GuestProfile g, long bandwidthBps) {
        long pass = Math.round((double) g.nonZeroBytes() / (bandwidthBps * calibration.linkEfficiency()) * 1000);
        return Math.min(pass * 2, 3000 + pass / 2);
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.0f MiB", bytes / 1048576.0);
    }

    static String secs(long ms) {
        return String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
    }

    static String mibs(long bps) {
        return String.format(Locale.ROOT, "%.0f MiB/s", bps / 1048576.0);
    }
}
