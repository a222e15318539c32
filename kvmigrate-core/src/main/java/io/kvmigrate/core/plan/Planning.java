package io.kvmigrate.core.plan;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.engine.ExecutorScheduler;
import io.kvmigrate.core.model.HostFacts;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.HypervisorConnector;
import java.time.Clock;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/** Measures a guest and plans its migration: what {@code check}/{@code plan} show and what a live job runs with. */
public final class Planning {
    /** Usable bandwidth assumed when no cap is given: a 10 GbE link. */
    public static final long ASSUMED_LINK_MIBPS = 1180;
    /** libvirt's default downtime limit. */
    public static final long DEFAULT_DOWNTIME_MS = 300;
    /** Dirty-rate measurement period: QEMU 7.2's shortest (whole seconds only); the user waits for it before the start. */
    public static final int DIRTY_RATE_SECONDS = 1;
    /** QEMU gained post-copy in 2.6 (encoded as libvirt does). */
    public static final long POSTCOPY_QEMU = 2_006_000;

    private Planning() {
    }

    /** The downtime limit a migration starts with: libvirt's default, or the user's maximum when that is lower. */
    public static long initialDowntime(long maxDowntimeMs) {
        return maxDowntimeMs > 0 ? Math.min(DEFAULT_DOWNTIME_MS, maxDowntimeMs) : DEFAULT_DOWNTIME_MS;
    }

    /** Who plans: whether the dirty rate is measured, and whether the migration that follows will have measured it. */
    public enum Mode {
        /** migrate's default: measure only when it costs at most a tenth of the shortest time the migration can take. */
        MIGRATE,
        /** migrate --measure: always measure. */
        MIGRATE_MEASURED,
        /** kvmigrate plan: always measure, and plan what {@code migrate} (without --measure) will do. */
        PLAN_FOR_MIGRATE,
        /** kvmigrate plan --measure: always measure, plan for {@code migrate --measure}. */
        PLAN_FOR_MIGRATE_MEASURED
    }

    /** Measures (see {@link Mode}) and plans. */
    public static Plan plan(HypervisorConnector connector, String vm, HostRef from, HostRef to, long bandwidthMiBps, long maxDowntimeMs,
            PolicyKind policy, Mode mode) {
        try (HostSession source = connector.open(from); HostSession target = connector.open(to);
             ExecutorScheduler scheduler = new ExecutorScheduler()) {
            boolean assumed = bandwidthMiBps <= 0;
            long bps = (assumed ? ASSUMED_LINK_MIBPS : bandwidthMiBps) << 20;
            // Plain never raises the limit, so the user's value is the limit from the start (as before policies existed).
            long initial = policy == PolicyKind.PLAIN && maxDowntimeMs > 0 ? maxDowntimeMs : initialDowntime(maxDowntimeMs);
            long max = maxDowntimeMs > 0 ? maxDowntimeMs : initial;
            Planner planner = new Planner(Calibration.lab());
            // The target's version (for post-copy) is read on its own session while the guest is sampled and measured.
            CompletableFuture<HostFacts> targetFacts = CompletableFuture.supplyAsync(target::facts);
            java.util.concurrent.atomic.AtomicReference<GuestProfile.Rate> migrateWould = new java.util.concurrent.atomic.AtomicReference<>();
            HostFacts sf;
            HostFacts tf;
            GuestProfile g;
            try {
                var measuring = new GuestProbe(Clock.systemUTC(), scheduler, 64, DIRTY_RATE_SECONDS).measure(source, vm, nonZero -> {
                    GuestProfile.Rate auto = planner.measurementDecision(nonZero, bps, initial, DIRTY_RATE_SECONDS, policy);
                    migrateWould.set(auto);
                    if (mode == Mode.MIGRATE || auto == GuestProfile.Rate.IRRELEVANT) return auto;
                    return GuestProfile.Rate.MEASURED;
                }, policy == PolicyKind.FINISH);
                sf = source.facts();
                tf = targetFacts.join();
                g = measuring.join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof KvmigrateException k ? k
                        : new KvmigrateException(ErrorCode.INTERNAL, "plan", from.name(), vm, String.valueOf(e.getCause()), null, e);
            } finally {
                targetFacts.exceptionally(e -> null).join(); // never close the session under a running call
            }
            boolean postCopy = sf.hypervisorVersion() >= POSTCOPY_QEMU && tf.hypervisorVersion() >= POSTCOPY_QEMU;
            // kvmigrate plan measures, but migrate will not for a short migration: then it cannot arm auto-converge either.
            boolean armable = mode != Mode.PLAN_FOR_MIGRATE || migrateWould.get() != GuestProfile.Rate.SKIPPED_SHORT;
            var spec = source.findVm(vm).map(v -> v.spec());
            String domainType = spec.map(v -> v.domainType()).orElse(null);
            Plan p = planner.plan(g, bps, assumed, initial, max, policy, postCopy, armable,
                    KnownBugs.throttleHazard(domainType, sf.hypervisorVersion()));
            // A VM the per-vCPU dirty limit can slow is limited mid-job instead of throttled (or given up on).
            p = planner.withDirtyLimit(p, spec.map(v -> DirtyLimit.ring(v, sf.hypervisorVersion())).orElse(DirtyRing.NONE));
            // Where the plan throttles, say whether the gentler per-vCPU dirty limit could be had (and how).
            boolean throttles = p.autoConverge() || p.strategy() == Plan.Strategy.RESTART_AUTO_CONVERGE
                    || p.strategy() == Plan.Strategy.DIRTY_LIMIT || p.strategy() == Plan.Strategy.ABORT_NOT_CONVERGING;
            return throttles && spec.isPresent() ? p.withReason(DirtyLimit.status(spec.get(), sf.hypervisorVersion())) : p;
        }
    }

    /** One line: what plain pre-copy would do and what the strategy is expected to do. */
    public static String expectation(Plan p) {
        var o = p.plainPreCopy();
        return "plain pre-copy " + plainText(p, o.converges() ? String.format(Locale.ROOT, "converges in %d pass(es)", o.passes())
                : "does not converge") + "; expected: " + expectedText(p) + "; physical floor " + seconds(p.floorMs()) + "; auto-converge " + (p.autoConverge() ? "on" : "off")
                + ", post-copy " + (p.postCopy() ? "allowed" : "off");
    }

    private static String plainText(Plan p, String measured) {
        return p.lowerBoundOnly() ? "not predicted (dirty rate not measured)" : measured;
    }

    private static String expectedText(Plan p) {
        if (p.lowerBoundOnly()) return "at least " + seconds(p.expectedTotalMs());
        return p.expectedToComplete() ? "completes in about " + seconds(p.expectedTotalMs())
                + (p.expectedDowntimeMs() >= 0 ? ", downtime about " + p.expectedDowntimeMs() + " ms" : "") : "does not complete";
    }

    /** "+12%" style error of actual against predicted. */
    public static String error(long predicted, long actual) {
        if (predicted <= 0) return "n/a";
        return String.format(Locale.ROOT, "%+.0f%%", (actual - predicted) * 100.0 / predicted);
    }

    /** "12.3 s". */
    public static String seconds(long ms) {
        return String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
    }
}
