package io.kvmigrate.core.engine;

import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.model.MigrationRequest;
import io.kvmigrate.core.plan.Calibration;
import io.kvmigrate.core.plan.ConvergenceModel;
import io.kvmigrate.core.plan.GuestProfile;
import io.kvmigrate.core.plan.Plan;
import io.kvmigrate.core.plan.Planner;
import io.kvmigrate.core.plan.PolicyKind;
import io.kvmigrate.core.spi.MigrationOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The {@code safe} and {@code finish} policies. As soon as the dirty rate is known (measured before the start: the first
 * poll; else the hypervisor's first dirty-bitmap sync, pass 2) the {@link ConvergenceModel} picks the step
 * ({@link ModelStep}): nothing, a higher downtime limit, a throttle sized from the rate (auto-converge up to 99 %),
 * post-copy ({@code finish}) or an abort ({@code safe}, when nothing allowed can converge), every step skipped being a
 * decision with its reason.
 *
 * <p>What the model did not foresee falls to the stages: when pre-copy stalls ({@link PassWatch}: the guest dirties at
 * least {@code rateRatio} of what is sent for {@code rateWindow}, passes stop shrinking, or no new low for
 * {@code noProgressWindow}) the model judges again with the live figures, and if it still says pre-copy converges the
 * old order runs: raise the downtime limit, throttle, last resort. After every escalation the observation starts over.
 * All time comes from the {@code elapsed} the engine passes in; this class never reads a clock. Not thread-safe.
 *
 * <p>Auto-converge and post-copy are fixed when the migration starts (QEMU accepts those capabilities only before it):
 * the {@link Plan} decides. A throttle the job was not started with is a {@link ConvergencePolicy.Kind#RESTART}:
 * cancelled, VM on the source, started anew with auto-converge at the downtime limit reached, once.
 */
public final class StagedConvergencePolicy implements ConvergencePolicy {

    /** Thresholds of the stall detection. */
    public record Settings(double rateRatio, Duration rateWindow, int stallPasses, Duration noProgressWindow, int throttlePasses,
            Duration throttleWindow) {
        public static Settings defaults() {
            return new Settings(0.9, Duration.ofSeconds(3), 2, Duration.ofSeconds(15), 2, Duration.ofSeconds(30));
        }
    }

    private enum Stage { PRE_COPY, THROTTLE, LAST_RESORT, DONE }

    private final PolicyKind kind;
    private final Settings settings;
    private boolean autoConverge;
    private boolean restartedForThrottle;
    private int throttleInitial; // 0 = QEMU's default
    private int throttleIncrement; // 0 = QEMU's default
    private final boolean postCopy;
    private final long initialDowntimeMs;
    private final long maxDowntimeMs;
    private final boolean compressed;
    private final int parallel;

    private String autoConvergeOffBecause = "the plan predicted convergence";
    private static final String LIMITED_INSTEAD = "the per-vCPU dirty limit was to slow the guest instead";
    /** The guest's non-zero memory from the plan (what it can dirty at most), or 0: the job's memory total. */
    private long workingSetBytes;
    /** The rate measured before the start ({@code dirtyRateBps}, a lower bound when saturated), or 0: from the first pass. */
    private long measuredDirtyBps;
    private boolean measuredSaturated;
    private long planLinkBps;
    /** Why the guest must not be throttled (a known hypervisor bug), or null. */
    private String throttleAvoided;
    /** QEMU's per-vCPU dirty limit, for a VM with KVM's dirty ring (from the plan). */
    private DirtyLimiter dirtyLimit = new DirtyLimiter(io.kvmigrate.core.plan.DirtyRing.NONE);
    private Stage stage = Stage.PRE_COPY;
    private long limitMs;
    private long lastThrottle;
    /** The observation window, restarted after every escalation. */
    private PassWatch watch;

    public StagedConvergencePolicy(PolicyKind kind, Settings settings, boolean autoConverge, boolean postCopy, long initialDowntimeMs,
            long maxDowntimeMs, boolean compressed, int parallel) {
        if (kind == PolicyKind.PLAIN) throw new IllegalArgumentException("plain is ConvergencePolicy.PLAIN");
        this.kind = kind;
        this.settings = settings;
        this.autoConverge = autoConverge;
        this.postCopy = postCopy && kind == PolicyKind.FINISH;
        this.initialDowntimeMs = initialDowntimeMs;
        this.maxDowntimeMs = Math.max(initialDowntimeMs, maxDowntimeMs);
        this.compressed = compressed;
        this.parallel = parallel;
        this.limitMs = initialDowntimeMs;
        this.watch = new PassWatch(settings);
    }

    /** The policy a plan calls for; {@code plain} plans get {@link ConvergencePolicy#PLAIN} semantics with the plan's options. */
    public static ConvergencePolicy forPlan(Plan plan, Settings settings, boolean compressed, int parallel) {
        if (plan.policy() == PolicyKind.PLAIN) {
            return new ConvergencePolicy() {
                @Override
                public MigrationOptions initialOptions(MigrationRequest r) {
                    return new MigrationOptions(r.bandwidthMiBps(), plan.initialDowntimeMs(), true, false, false, compressed, parallel);
                }

                @Override
                public List<Action> onStats(JobStats stats, Duration elapsed) {
                    return List.of();
                }
            };
        }
        StagedConvergencePolicy p = new StagedConvergencePolicy(plan.policy(), settings, plan.autoConverge(), plan.postCopy(),
                plan.initialDowntimeMs(), plan.maxDowntimeMs(), compressed, parallel);
        p.throttleAvoided = plan.throttleAvoided();
        p.dirtyLimit = new DirtyLimiter(plan.dirtyRing());
        if (plan.strategy() == Plan.Strategy.DIRTY_LIMIT) p.autoConvergeOffBecause = LIMITED_INSTEAD;
        p.workingSetBytes = plan.guest().nonZeroBytes();
        p.planLinkBps = Math.round(plan.bandwidthBps() * Calibration.lab().linkEfficiency());
        if (plan.guest().rate() == GuestProfile.Rate.MEASURED && plan.guest().dirtyRateBps() > 0) {
            p.measuredDirtyBps = plan.guest().dirtyRateBps();
            p.measuredSaturated = plan.guest().dirtyRateSaturated();
        }
        if (plan.strategy() == Plan.Strategy.AUTO_CONVERGE) {
            // Armed because the model needs the throttle: QEMU starts at the level the measured rate calls for, not at 20 %.
            ConvergenceModel.Throttle t = Planner.throttleFor(plan);
            if (t.possible()) {
                p.throttleInitial = t.initialPercent();
                p.throttleIncrement = t.incrementPercent();
            }
        }
        if (plan.lowerBoundOnly()) {
            p.autoConvergeOffBecause = "the migration looked too short to spend a second measuring the guest first ({measure} does),"
                    + " and only a measurement would have justified it";
        }
        return p;
    }

    /** The options of the first job, and after a restart of the new one (with the downtime limit reached so far). */
    @Override
    public MigrationOptions initialOptions(MigrationRequest r) {
        return new MigrationOptions(r.bandwidthMiBps(), limitMs, true, autoConverge, postCopy, compressed, parallel)
                .withThrottle(throttleInitial, throttleIncrement);
    }

    /** The new job's passes count from 1: its first statistics open a new observation window (see {@link PassWatch}). */
    @Override
    public void restarted() {
        watch = new PassWatch(settings);
        lastThrottle = 0;
    }

    /** A refused switch to post-copy is asked again at the next poll (seen: asked before QEMU's migration had begun). */
    @Override
    public void actionFailed(Action action) {
        if (dirtyLimit.refused(action)) {
            // Back to pre-copy: a stall escalates as without the limit (auto-converge).
            stage = Stage.PRE_COPY;
            assessedLive = true;
            assessedMeasured = true;
            return;
        }
        if (action.kind() == Kind.POST_COPY && postCopy && postCopyRetries++ < POST_COPY_RETRIES) postCopyRetry = true;
    }

    private static final int POST_COPY_RETRIES = 20;
    private int postCopyRetries;
    private boolean postCopyRetry;

    /** This policy, never throttling the guest for {@code reason} (a known hypervisor bug); see {@code KnownBugs}. */
    public StagedConvergencePolicy avoidingThrottle(String reason) {
        this.throttleAvoided = reason;
        return this;
    }

    /** The downtime limit now in force. */
    public long currentLimitMs() {
        return limitMs;
    }

    @Override
    public List<Action> onStats(JobStats s, Duration elapsed) {
        List<Action> out = new ArrayList<>();
        if (postCopyRetry) {
            postCopyRetry = false;
            out.add(Action.postCopy("asked again: the hypervisor refused the switch at the last poll"));
            return out;
        }
        if (stage == Stage.DONE) return out;
        if (throttleAvoided != null && postCopy && s.iteration() >= 2 && expectedDowntimeMs(s) > limitMs) {
            // Every pre-copy pass re-exposes an emulated guest to the lost-dirty-page bug (a plain pre-copy move corrupted
            // one too): switch once the first pass is through, the mode in which no corruption was seen (docs/reliability.md).
            stage = Stage.DONE;
            out.add(new Action("throttle skipped", throttleAvoided, h -> { }));
            out.add(Action.postCopy("first pass done and more pre-copy passes would keep the guest exposed (" + throttleAvoided
                    + "): the guest moves to the target now and pulls the remaining pages"));
            return out;
        }
        if (s.autoConvergeThrottle() > lastThrottle) {
            // The throttle stage counts from QEMU's latest raise of the throttle (for a job started again: its first).
            if (stage == Stage.THROTTLE) restart(s, elapsed);
            lastThrottle = s.autoConvergeThrottle();
            out.add(new Action("throttle at " + lastThrottle + "%", "QEMU's auto-converge slows the guest's vCPUs while dirty pages outpace"
                    + " the link (" + mibs(s.dirtyRateBps()) + " dirtied vs " + mibs(s.memoryBps()) + " sent)", h -> { }));
        }
        watch.observe(s, elapsed);
        if (stage == Stage.PRE_COPY && !assessedLive) {
            // The model picks the step as soon as the dirty rate is known: measured before the start (first poll), or the
            // hypervisor's first dirty-bitmap sync (pass 2). No stall has to be waited for.
            boolean live = s.iteration() >= 2 && s.dirtyRateBps() > 0;
            if (live || (!assessedMeasured && measuredDirtyBps > 0)) {
                ConvergenceModel.Assessment a = assessment(s);
                if (a != null) {
                    if (live) assessedLive = true;
                    else assessedMeasured = true;
                    ModelStep step = ModelStep.pick(a, postCopy, autoConverge, throttleAvoided, elapsed.toMillis(), kind == PolicyKind.FINISH,
                            dirtyLimit.ring());
                    // Before pass 2 a switch pays only when every page sent now is dirtied again before pre-copy could end.
                    boolean defer = !live && step.kind() == ModelStep.Kind.POST_COPY && a.state().ratio() < ConvergenceModel.CONVERGING_RATIO;
                    if (!defer) apply(step, a, s, elapsed, null, out);
                    if (!out.isEmpty()) return out;
                }
            }
        }
        String stall = stalled(s, elapsed);
        if (stall == null) return out;
        switch (stage) {
            case PRE_COPY -> {
                ConvergenceModel.Assessment a = assessment(s);
                if (a != null && !a.atMax().converges()) {
                    apply(ModelStep.pick(a, postCopy, autoConverge, throttleAvoided, elapsed.toMillis(), kind == PolicyKind.FINISH,
                            dirtyLimit.ring()), a, s, elapsed, stall, out);
                } else {
                    escalateDowntime(s, elapsed, stall, out);
                }
            }
            case THROTTLE -> {
                Action lower = dirtyLimit.active() ? dirtyLimit.tighten(stall, s) : null;
                if (lower != null) {
                    // The guest dirties more under the limit than the model expected.
                    restart(s, elapsed);
                    out.add(lower);
                } else if (dirtyLimit.active()) {
                    // The limit did not do it: what is left is auto-converge, by a restart (the adapter lifts the limit).
                    String why = dirtyLimit.giveUp(stall);
                    stage = Stage.PRE_COPY;
                    autoConvergeOffBecause = LIMITED_INSTEAD;
                    escalateDowntime(s, elapsed, why, out);
                } else {
                    lastResort(s, stall, out);
                }
            }
            default -> { }
        }
        return out;
    }

    private boolean assessedLive;
    private boolean assessedMeasured;

    /** The model's view of the job now: the live dirty rate from pass 2 on, before that the measured one; null when neither. */
    private ConvergenceModel.Assessment assessment(JobStats s) {
        ConvergenceModel.State st = ModelStep.state(s, watch, workingSetBytes, planLinkBps, measuredDirtyBps, measuredSaturated);
        return st == null ? null : ConvergenceModel.assess(st, limitMs, maxDowntimeMs);
    }

    /** Acts on the model's pick: each skipped step a decision with its reason, then the step ({@code stall}: what was seen, or null). */
    private void apply(ModelStep step, ConvergenceModel.Assessment a, JobStats s, Duration elapsed, String stall, List<Action> out) {
        String seen = stall == null ? "" : "stalled (" + stall + "); ";
        if (step.kind() != ModelStep.Kind.NONE && step.kind() != ModelStep.Kind.RAISE_DOWNTIME) {
            for (String[] skip : step.skipped()) out.add(new Action(skip[0], skip[1], h -> { }));
        }
        switch (step.kind()) {
            case NONE -> { }
            case RAISE_DOWNTIME -> {
                long needed = a.atMax().neededDowntimeMs() > 0 ? a.atMax().neededDowntimeMs() : a.atLimit().neededDowntimeMs();
                long next = Math.min(maxDowntimeMs, Math.max(limitMs * 2, needed + needed / 4));
                limitMs = next;
                out.add(new Action("raise downtime limit to " + next + " ms", seen + step.reason(), h -> h.setMaxDowntime(next)));
                restart(s, elapsed);
            }
            case DIRTY_LIMIT -> {
                stage = Stage.THROTTLE;
                restart(s, elapsed);
                long max = maxDowntimeMs;
                boolean raise = limitMs < max;
                limitMs = max;
                out.add(dirtyLimit.limit(step.dirtyLimit().perVcpuMiBps(), seen + step.reason() + (raise ? "; downtime limit raised to"
                        + " {maxDowntime} " + max + " ms" : ""), raise ? max : 0));
            }
            case THROTTLE -> {
                stage = Stage.THROTTLE;
                restart(s, elapsed);
                ConvergenceModel.Throttle t = step.throttle();
                // The model's throttle converges under --max-downtime: the limit goes there with it (the lab's throttled run
                // was aborted at 99 % still under 300 ms).
                long max = maxDowntimeMs;
                boolean raise = limitMs < max;
                limitMs = max;
                if (autoConverge) {
                    out.add(new Action("throttle the guest", seen + step.reason() + "; auto-converge (enabled at start) "
                            + (lastThrottle > 0 ? "is throttling at " + lastThrottle + "%" : "throttles the vCPUs")
                            + (raise ? "; downtime limit raised to {maxDowntime} " + max + " ms" : ""), h -> {
                                if (raise) h.setMaxDowntime(max);
                            }));
                } else {
                    restartedForThrottle = true;
                    autoConverge = true;
                    throttleInitial = t.initialPercent();
                    throttleIncrement = t.incrementPercent();
                    out.add(Action.restart("restart with auto-converge", seen + step.reason() + "; auto-converge was left off at start"
                            + " because " + autoConvergeOffBecause + ", and QEMU cannot enable it mid-job: this attempt is cancelled (the VM"
                            + " keeps running on the source) and the migration starts again with auto-converge on, throttling from "
                            + throttleInitial + "% plus " + throttleIncrement + "% a pass up to " + ConvergenceModel.MAX_THROTTLE
                            + "%, and a downtime limit of " + limitMs + " ms"));
                }
            }
            case POST_COPY -> {
                stage = Stage.DONE;
                out.add(Action.postCopy(seen + step.reason()));
            }
            case ABORT -> {
                stage = Stage.DONE;
                out.add(Action.giveUp(seen + step.reason()));
            }
        }
    }

    /**
     * The stages, for a stall the model did not foresee (it predicted convergence, or had no rate): raise the limit,
     * throttle, last resort.
     */
    private void escalateDowntime(JobStats s, Duration elapsed, String stall, List<Action> out) {
        long needed = neededDowntimeMs(s);
        if (limitMs < maxDowntimeMs && needed <= maxDowntimeMs) {
            long next = Math.min(maxDowntimeMs, Math.max(limitMs * 2, needed + needed / 4));
            long from = limitMs;
            limitMs = next;
            out.add(new Action("raise downtime limit to " + next + " ms", "stalled (" + stall + "); " + mib(Math.max(watch.currentPeak(), s.memoryRemaining()))
                    + " per pass needs about " + needed + " ms, limit was " + from + " ms, {maxDowntime} " + maxDowntimeMs + " ms",
                    h -> h.setMaxDowntime(next)));
            restart(s, elapsed);
            return;
        }
        String downtimeNote = limitMs >= maxDowntimeMs ? "downtime limit already at {maxDowntime} " + maxDowntimeMs + " ms"
                : "raising the downtime limit cannot help: " + mib(Math.max(watch.currentPeak(), s.memoryRemaining())) + " per pass needs about " + needed
                        + " ms, above {maxDowntime} " + maxDowntimeMs + " ms";
        if (throttleAvoided != null && !autoConverge) {
            out.add(new Action("throttle skipped", throttleAvoided, h -> { }));
            lastResort(s, stall + "; " + downtimeNote, out);
            return;
        }
        if (dirtyLimit.available() && throttleAvoided == null) {
            ConvergenceModel.State st = ModelStep.state(s, watch, workingSetBytes, planLinkBps, measuredDirtyBps, measuredSaturated);
            ConvergenceModel.DirtyLimitStep d = st == null ? null : ConvergenceModel.dirtyLimit(st, dirtyLimit.ring(), maxDowntimeMs);
            if (d != null && d.possible()) {
                stage = Stage.THROTTLE;
                restart(s, elapsed);
                boolean raise = limitMs < maxDowntimeMs;
                limitMs = maxDowntimeMs;
                out.add(dirtyLimit.limit(d.perVcpuMiBps(), String.format(Locale.ROOT, "stalled (%s); %s; the dirty limit leaves %.2fx the"
                        + " link%s", stall, downtimeNote, d.limitedRatio(), raise ? "; downtime limit raised to {maxDowntime} " + limitMs + " ms" : ""),
                        raise ? limitMs : 0));
                return;
            }
        }
        stage = Stage.THROTTLE;
        restart(s, elapsed);
        if (autoConverge) {
            out.add(new Action("throttle the guest", "stalled (" + stall + "); " + downtimeNote + "; auto-converge (enabled at start) "
                    + (lastThrottle > 0 ? "is throttling at " + lastThrottle + "%" : "throttles the vCPUs") + ", watching "
                    + settings.throttlePasses() + " more pass(es)", h -> { }));
        } else if (!restartedForThrottle) {
            restartedForThrottle = true;
            autoConverge = true;
            boolean saturated = s.dirtyRateBps() >= settings.rateRatio() * s.memoryBps();
            // A guest that dirtied all a pass could carry has an unknown real rate (at least the link's): QEMU's 20% plus 10% a
            // pass would spend the throttle stage's two passes far below what it needs, so start high and climb fast.
            throttleInitial = saturated ? SATURATED_THROTTLE_INITIAL : 0;
            throttleIncrement = saturated ? SATURATED_THROTTLE_INCREMENT : 0;
            String throttle = saturated ? ", throttling from " + throttleInitial + "% plus " + throttleIncrement + "% a pass (the guest"
                    + " rewrote all each pass could carry, so its real rate is unknown: at least " + mibs(s.dirtyRateBps()) + ")" : "";
            out.add(Action.restart("restart with auto-converge", "stalled (" + stall + "); " + downtimeNote + "; auto-converge was left"
                    + " off at start because " + autoConvergeOffBecause + ", and QEMU cannot enable it mid-job: this attempt is cancelled"
                    + " (the VM keeps running on the source) and the migration starts again with auto-converge on" + throttle
                    + " and a downtime limit of " + limitMs + " ms, watching " + (settings.throttlePasses() + 1) + " pass(es) under throttle"));
        } else {
            lastResort(s, "stalled, nothing left to try in pre-copy", out);
        }
    }

    /** Throttle start and step of a job started again after a guest that dirtied all a pass could carry (rate unknown). */
    static final int SATURATED_THROTTLE_INITIAL = 50;
    static final int SATURATED_THROTTLE_INCREMENT = 20;

    private void lastResort(JobStats s, String stall, List<Action> out) {
        stage = Stage.DONE;
        String state = mib(s.memoryRemaining()) + " left, dirty " + mibs(s.dirtyRateBps()) + " vs sent " + mibs(s.memoryBps())
                + (lastThrottle > 0 ? ", throttle " + lastThrottle + "%" : "") + ", expected downtime " + expectedDowntimeMs(s)
                + " ms > limit " + limitMs + " ms";
        if (postCopy) {
            out.add(Action.postCopy((autoConverge ? "still stalled after throttling (" : "stalled, and no throttling to try (") + stall + "; " + state + "): the guest moves to the target now"
                    + " and pulls the remaining pages; downtime is one short pause"));
        } else {
            out.add(Action.giveUp("pre-copy cannot converge within {maxDowntime} " + maxDowntimeMs + " ms (" + stall + "; " + state
                    + ")" + (kind == PolicyKind.FINISH ? "; post-copy is not available on both hosts" : "")));
        }
    }

    /** Why the migration counts as stalled now, or null. */
    private String stalled(JobStats s, Duration elapsed) {
        if (s.iteration() < 2 || expectedDowntimeMs(s) <= limitMs) return null;
        if (stage == Stage.THROTTLE) {
            if (restartedForThrottle && lastThrottle == 0) {
                // QEMU throttles only after two passes in which the guest dirtied more than half of what was sent.
                Duration waited = elapsed.minus(watch.windowStart());
                return waited.compareTo(settings.throttleWindow().multipliedBy(2)) >= 0
                        ? "QEMU did not start throttling within " + waited.toSeconds() + " s of the new attempt" : null;
            }
            // The throttle stage gets its own budget, counted from QEMU's latest raise of the throttle (it raises it while the
            // guest outpaces half the link, up to 99 %): below the maximum a pass more. A job started again for it gets one
            // pass more too: its first throttled pass began before the throttle took hold.
            // At 99 % two passes more: it is the last thing safe has, and a throttled guest's passes are noisy (the lab's
            // went 230, 141, 220 MiB at 99 %).
            int budget = settings.throttlePasses() + (restartedForThrottle ? 1 : 0) + (dirtyLimit.active() ? DirtyLimiter.EXTRA_PASSES : 0)
                    + (lastThrottle > 0 && lastThrottle < ConvergenceModel.MAX_THROTTLE ? 1 : 0)
                    + (lastThrottle >= ConvergenceModel.MAX_THROTTLE ? 2 : 0);
            // Under the dirty limit passes get short (a second or less): the passes count once QEMU has had time to hold it.
            if (watch.passes() >= budget && dirtyLimit.settled(elapsed.minus(watch.windowStart()))) return budget + " pass(es) under "
                    + (dirtyLimit.active() ? "the dirty limit" : "throttle")
                    + " without converging";
            if (elapsed.minus(watch.windowStart()).compareTo(settings.throttleWindow()) >= 0) {
                return "no convergence after " + settings.throttleWindow().toSeconds() + " s of throttling";
            }
            return null;
        }
        return watch.preCopyStall(s, elapsed);
    }

    private void restart(JobStats s, Duration elapsed) {
        watch.restart(s, elapsed);
    }

    private static long expectedDowntimeMs(JobStats s) {
        if (s.downtimeMs() > 0) return s.downtimeMs();
        return s.memoryBps() > 0 ? s.memoryRemaining() * 1000 / s.memoryBps() : Long.MAX_VALUE;
    }

    /**
     * The downtime that would let the job switch over: what a pass starts with (the pages dirtied during the previous
     * pass, which is what is left after the next dirty-bitmap sync) over what is sent per second. Mid-pass the
     * remaining looks smaller only because the pages dirtied meanwhile are not counted yet.
     */
    private long neededDowntimeMs(JobStats s) {
        long left = Math.max(watch.currentPeak(), s.memoryRemaining());
        return s.memoryBps() > 0 ? left * 1000 / s.memoryBps() : expectedDowntimeMs(s);
    }

    private static String mib(long bytes) {
        return PassWatch.mib(bytes);
    }

    private static String mibs(long bps) {
        return PassWatch.mibs(bps);
    }
}
