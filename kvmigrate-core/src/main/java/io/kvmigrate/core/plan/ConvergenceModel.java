package io.kvmigrate.core.plan;

import java.util.Locale;

/**
 * What each step the policy may take would achieve, from a dirty rate and a link rate: plain pre-copy (at a downtime
 * limit), pre-copy under a throttle, post-copy from now. The policy picks the step from this assessment instead of
 * walking a fixed ladder; {@link Planner} uses it before the start with the measured rate, the policy while the
 * migration runs with the rate the hypervisor reports after its first dirty-bitmap sync.
 *
 * <p>The arithmetic is the pass recurrence of {@link PreCopyModel}: a pass that starts with {@code rest} bytes takes
 * {@code rest / link}, during which the guest dirties {@code rate x time} (at most its working set); pre-copy switches
 * over once the rest fits the downtime limit. A throttle of {@code p} leaves the guest {@code 1 - p} of its CPU time,
 * so roughly {@code 1 - p} of its dirty rate (QEMU's auto-converge; its maximum is 99 %). Post-copy sends each
 * remaining page about once. Pure arithmetic: the same inputs always give the same assessment.
 */
public final class ConvergenceModel {
    /** QEMU's highest CPU throttle (its {@code max-cpu-throttle} default). */
    public static final int MAX_THROTTLE = 99;
    /** A throttle is sized so the throttled guest dirties at most this share of the link: each pass about halves. */
    static final double THROTTLE_TARGET_RATIO = 0.5;
    /** Below this share of the link even a throttled guest's passes shrink too slowly to call it convergence. */
    public static final double CONVERGING_RATIO = 0.9;
    /** QEMU acts on the auto-converge rule at most once per second of dirty-bitmap syncs, and after two in a row. */
    static final long THROTTLE_REACTION_MS = 2000;
    /** The hypervisor re-syncs the dirty bitmap at least this often, so a pass is never shorter. */
    static final long MIN_PASS_MS = 100;
    /** Where a throttle starts for a guest whose dirty rate is only known from below (saturated). */
    static final int SATURATED_THROTTLE = 90;
    static final int MAX_PASSES = 200;
    /** The lowest per-vCPU dirty limit QEMU takes, MiB/s ({@code set-vcpu-dirty-limit} counts in MB of 2^20 bytes). */
    public static final long MIN_DIRTY_LIMIT_MIBPS = 1;
    /**
     * QEMU re-measures each vCPU's dirty rate once a second and moves the sleep it imposes on a vCPU toward the limit
     * step by step: a new limit holds within a few seconds.
     */
    static final long DIRTY_LIMIT_REACTION_MS = 3000;
    /**
     * QEMU leaves a vCPU's sleep as it is once the vCPU's dirty rate is within this of its limit (its
     * {@code DIRTYLIMIT_TOLERANCE_RANGE}, 25 MB/s in 7.1-9.x): the limit holds a vCPU to limit + this at best. Seen in the lab: a
     * 1 MiB/s limit left the test guest dirtying all a 16 MiB/s link carried.
     */
    public static final long DIRTY_LIMIT_TOLERANCE_MIBPS = 25;
    /** KVM's smallest dirty ring, in pages. */
    public static final int MIN_DIRTY_RING_PAGES = 1024;

    private ConvergenceModel() {
    }

    /** The current state of a migration as the model sees it. */
    public record State(long restBytes, long workingSetBytes, long dirtyBps, long linkBps, boolean rateSaturated) {
        public State {
            if (linkBps <= 0) throw new IllegalArgumentException("link rate must be > 0");
            restBytes = Math.max(0, restBytes);
            workingSetBytes = Math.max(workingSetBytes, 1);
            dirtyBps = Math.max(0, dirtyBps);
        }

        /** Dirty rate over link rate. */
        public double ratio() {
            return (double) dirtyBps / linkBps;
        }
    }

    /** Pre-copy from {@code rest}: whether and when it switches over. */
    public record PreCopy(boolean converges, int passes, long timeMs, long neededDowntimeMs) {
    }

    /** A throttle that makes pre-copy converge: the level, what it leaves, and when pre-copy ends under it. */
    public record Throttle(boolean possible, int percent, double throttledRatio, long timeMs, int initialPercent, int incrementPercent) {
    }

    /**
     * A per-vCPU dirty limit that makes pre-copy converge: the limit for each vCPU (MiB/s), the share of the link the
     * guest can still dirty under it (all vCPUs at the limit), when pre-copy ends under it, and the phrase that says so (or
     * why it cannot help).
     */
    public record DirtyLimitStep(boolean possible, long perVcpuMiBps, double limitedRatio, long timeMs, String why) {
    }

    /** What the three steps would achieve from this state. */
    public record Assessment(State state, long limitMs, long maxDowntimeMs, PreCopy atLimit, PreCopy atMax, Throttle throttle,
            long postCopyMs) {
        /** Pre-copy converges without a throttle, at the current limit or a raised one. */
        public boolean preCopyConverges() {
            return atMax.converges();
        }

        /** One short phrase: the rates, as the reasons quote them. */
        public String rates() {
            return String.format(Locale.ROOT, "the guest dirties %s%s vs %s sent (%.1fx the link)", mibs(state.dirtyBps()),
                    state.rateSaturated() ? " or more" : "", mibs(state.linkBps()), state.ratio());
        }

        /** Why no throttle can make pre-copy converge ("even a 99 % throttle leaves 1.3x the link"). */
        public String throttleHopeless() {
            return rates() + "; " + throttleLeaves();
        }

        /** "even a 99 % throttle leaves 1.26x" (the link), without the rates. */
        public String throttleLeaves() {
            return String.format(Locale.ROOT, "even a %d %% throttle leaves %.2fx%s", MAX_THROTTLE,
                    state.ratio() * (100 - MAX_THROTTLE) / 100.0, state.rateSaturated() ? " or more" : "");
        }
    }

    /** Assesses all three steps from {@code s} at the current downtime limit and the most it may be raised to. */
    public static Assessment assess(State s, long limitMs, long maxDowntimeMs) {
        long max = Math.max(limitMs, maxDowntimeMs);
        PreCopy atLimit = preCopy(s, s.dirtyBps(), limitMs);
        PreCopy atMax = limitMs == max ? atLimit : preCopy(s, s.dirtyBps(), max);
        return new Assessment(s, limitMs, max, atLimit, atMax, throttle(s, max), postCopyMs(s));
    }

    /** Pass recurrence from the state's rest at dirty rate {@code dirtyBps}. */
    static PreCopy preCopy(State s, double dirtyBps, long limitMs) {
        double b = s.linkBps();
        double rest = s.restBytes();
        double t = 0;
        double previous = Double.MAX_VALUE;
        int flat = 0;
        for (int passes = 1; passes <= MAX_PASSES; passes++) {
            double restMs = rest / b * 1000;
            if (restMs <= limitMs) return new PreCopy(true, passes, Math.round(t * 1000 + restMs), Math.round(restMs));
            flat = rest >= previous * 0.98 ? flat + 1 : 0;
            if (flat >= 2) break;
            double pass = Math.max(rest / b, MIN_PASS_MS / 1000.0);
            previous = rest;
            t += pass;
            rest = Math.min(s.workingSetBytes(), dirtyBps * pass);
        }
        return new PreCopy(false, -1, -1, Math.round(rest / b * 1000) + PreCopyModel.SWITCHOVER_MS);
    }

    /**
     * The smallest throttle (whole percent, at most 99) under which the guest dirties at most {@link #THROTTLE_TARGET_RATIO}
     * of the link, or 99 when that leaves it under {@link #CONVERGING_RATIO}; impossible above that. The steps for QEMU:
     * start at that level (it applies the first step after two syncs in which the guest outpaced half the link), then
     * climb to 99 in two more steps in case the guest is busier than measured.
     */
    static Throttle throttle(State s, long maxDowntimeMs) {
        double ratio = s.ratio();
        int p = (int) Math.ceil((1 - THROTTLE_TARGET_RATIO / Math.max(ratio, 1e-9)) * 100);
        p = Math.max(1, p);
        if (p > MAX_THROTTLE) {
            if (ratio * (100 - MAX_THROTTLE) / 100.0 >= CONVERGING_RATIO) return new Throttle(false, MAX_THROTTLE, ratio * 0.01, -1, 0, 0);
            p = MAX_THROTTLE;
        }
        if (s.rateSaturated()) {
            // The rate is a lower bound (the guest dirtied all it has in the period counted): start high, reach 99 % in one step.
            p = Math.max(p, SATURATED_THROTTLE);
        }
        double throttledBps = s.dirtyBps() * (100 - p) / 100.0;
        PreCopy under = preCopy(s, throttledBps, maxDowntimeMs);
        long reaction = Math.max(THROTTLE_REACTION_MS, 2 * Math.round(Math.min(s.restBytes(), s.workingSetBytes()) * 1000.0 / s.linkBps()));
        long time = under.converges() ? reaction + under.timeMs() : -1;
        int increment = Math.max(1, (int) Math.ceil((MAX_THROTTLE - p) / (s.rateSaturated() ? 1.0 : 2.0)));
        return new Throttle(under.converges(), p, ratio * (100 - p) / 100.0, time, p, Math.min(increment, 99));
    }

    /**
     * The dirty limit for a guest with {@code ring}. QEMU stops adjusting a vCPU once its rate is within
     * {@link #DIRTY_LIMIT_TOLERANCE_MIBPS} of the limit, so a vCPU is held only to limit + tolerance: the limit is chosen so
     * that all vCPUs together, each at that bound, dirty at most {@link #THROTTLE_TARGET_RATIO} of the link (whatever vCPU
     * does the writing), never below QEMU's 1 MiB/s. It cannot help when even that bound leaves the guest at
     * {@link #CONVERGING_RATIO} of the link or more (a thin link: the lab's 16 MiB/s against 26 MiB/s a vCPU), nor when a
     * burst (a limited vCPU runs at full speed until its ring is full, then sleeps) of every vCPU takes half of what the
     * downtime limit carries or more: pre-copy then ends each pass with a burst or two still to send (seen in the lab: a
     * ring of 4096 pages, 16 MiB, against 500 ms at 64 MiB/s stalled at 28-45 MiB left; 1024 pages converged). Unlike a CPU
     * throttle it caps the rate itself, so a rate known only from below (saturated) needs no margin.
     */
    public static DirtyLimitStep dirtyLimit(State s, DirtyRing ring, long maxDowntimeMs) {
        if (!ring.usable()) return new DirtyLimitStep(false, 0, s.ratio(), -1, "the VM has no KVM dirty ring");
        int vcpus = ring.vcpus();
        double mib = 1048576.0;
        long perVcpu = Math.max(MIN_DIRTY_LIMIT_MIBPS, (long) Math.floor(THROTTLE_TARGET_RATIO * s.linkBps() / vcpus / mib) - DIRTY_LIMIT_TOLERANCE_MIBPS);
        double bound = (perVcpu + DIRTY_LIMIT_TOLERANCE_MIBPS) * mib * vcpus;
        double limitedBps = s.rateSaturated() ? bound : Math.min(s.dirtyBps(), bound);
        double ratio = limitedBps / s.linkBps();
        String limit = String.format(Locale.ROOT, "a dirty limit of %d MiB/s per vCPU (%d vCPU(s), each held to within %d MiB/s of it) leaves"
                + " %.2fx the link", perVcpu, vcpus, DIRTY_LIMIT_TOLERANCE_MIBPS, ratio);
        if (ratio >= CONVERGING_RATIO) return new DirtyLimitStep(false, perVcpu, ratio, -1, limit + ", too much to converge");
        double carried = s.linkBps() * maxDowntimeMs / 1000.0;
        if (4.0 * ring.burstBytes() >= carried) {
            int fits = 0;
            for (int pages = 65536; pages >= MIN_DIRTY_RING_PAGES; pages /= 2) {
                if (4.0 * vcpus * pages * DirtyRing.PAGE_BYTES < carried) {
                    fits = pages;
                    break;
                }
            }
            return new DirtyLimitStep(false, perVcpu, ratio, -1, String.format(Locale.ROOT, "a limited vCPU dirties in bursts of its dirty"
                    + " ring (%d pages: %s for %d vCPU(s)), too coarse for the %s that %d ms of downtime carries at %s; %s", ring.pages(),
                    Planner.mib(ring.burstBytes()), vcpus, Planner.mib(Math.round(carried)), maxDowntimeMs, mibs(s.linkBps()), fits > 0
                    ? "a ring of " + fits + " pages would do" : "even the smallest ring (" + MIN_DIRTY_RING_PAGES + " pages) is too coarse"));
        }
        PreCopy under = preCopy(s, limitedBps, maxDowntimeMs);
        if (!under.converges()) return new DirtyLimitStep(false, perVcpu, ratio, -1, limit + ", and pre-copy still does not converge");
        return new DirtyLimitStep(true, perVcpu, ratio, DIRTY_LIMIT_REACTION_MS + under.timeMs(), limit);
    }

    /** Post-copy from now: what is left (plus what the guest dirties until the switch's final sync) sent once. */
    static long postCopyMs(State s) {
        double left = Math.min(s.workingSetBytes(), s.restBytes() + s.dirtyBps() * 0.5);
        return Math.round(left * 1000 / s.linkBps()) + PreCopyModel.SWITCHOVER_MS;
    }

    static String mibs(long bps) {
        return String.format(Locale.ROOT, "%.0f MiB/s", bps / 1048576.0);
    }
}
