package io.kvmigrate.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.engine.ExecutorScheduler;
import io.kvmigrate.core.model.HostFacts;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.plan.Calibration;
import io.kvmigrate.core.plan.GuestProbe;
import io.kvmigrate.core.plan.GuestProfile;
import io.kvmigrate.core.plan.KnownBugs;
import io.kvmigrate.core.plan.Plan;
import io.kvmigrate.core.plan.Planner;
import io.kvmigrate.core.plan.PolicyKind;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.HypervisorConnector;
import java.io.PrintWriter;
import java.time.Clock;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/** Measures a guest and plans its migration, for {@code plan}, {@code migrate} and {@code bench}. */
final class Planning {
    /** Usable bandwidth assumed when no cap is given: a 10 GbE link. */
    static final long ASSUMED_LINK_MIBPS = 1180;
    /** libvirt's default downtime limit. */
    static final long DEFAULT_DOWNTIME_MS = 300;
    /** Dirty-rate measurement period: QEMU 7.2's shortest (whole seconds only); the user waits for it before the start. */
    static final int DIRTY_RATE_SECONDS = 1;
    /** QEMU gained post-copy in 2.6 (encoded as libvirt does). */
    static final long POSTCOPY_QEMU = 2_006_000;

    private Planning() {
    }

    /** The downtime limit a migration starts with: libvirt's default, or the user's maximum when that is lower. */
    static long initialDowntime(long maxDowntimeMs) {
        return maxDowntimeMs > 0 ? Math.min(DEFAULT_DOWNTIME_MS, maxDowntimeMs) : DEFAULT_DOWNTIME_MS;
    }

    /** Who plans: whether the dirty rate is measured, and whether the migration that follows will have measured it. */
    enum Mode {
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
    static Plan plan(HypervisorConnector connector, String vm, HostRef from, HostRef to, long bandwidthMiBps, long maxDowntimeMs,
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
                    GuestProfile.Rate auto = planner.measurementDecision(nonZero, bps, initial, DIRTY_RATE_SECONDS);
                    migrateWould.set(auto);
                    if (mode == Mode.MIGRATE || auto == GuestProfile.Rate.IRRELEVANT) return auto;
                    return GuestProfile.Rate.MEASURED;
                });
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
            String domainType = source.findVm(vm).map(v -> v.spec().domainType()).orElse(null);
            return planner.plan(g, bps, assumed, initial, max, policy, postCopy, armable,
                    KnownBugs.throttleHazard(domainType, sf.hypervisorVersion()));
        }
    }

    static void print(PrintWriter out, Plan p) {
        var o = p.plainPreCopy();
        out.println("Plan (policy " + p.policy().label() + "): " + p.strategy().label());
        for (String r : p.reasons()) out.println("  - " + r);
        out.println("  plain pre-copy: " + plainText(p, o.converges() ? String.format(Locale.ROOT, "converges in %d pass(es), %s, downtime %d ms",
                o.passes(), Output.seconds(o.totalMs()), o.downtimeMs()) : "does not converge"));
        out.println("  expected: " + expectedText(p) + "; physical floor " + Output.seconds(p.floorMs()) + "; auto-converge "
                + (p.autoConverge() ? "on" : "off") + ", post-copy " + (p.postCopy() ? "allowed" : "off"));
        out.flush();
    }

    /** One line: what plain pre-copy would do and what the strategy is expected to do. */
    static String expectation(Plan p) {
        var o = p.plainPreCopy();
        return "plain pre-copy " + plainText(p, o.converges() ? String.format(Locale.ROOT, "converges in %d pass(es)", o.passes())
                : "does not converge") + "; expected: " + expectedText(p) + "; physical floor " + Output.seconds(p.floorMs()) + "; auto-converge " + (p.autoConverge() ? "on" : "off")
                + ", post-copy " + (p.postCopy() ? "allowed" : "off");
    }

    private static String plainText(Plan p, String measured) {
        return p.lowerBoundOnly() ? "not predicted (dirty rate not measured)" : measured;
    }

    private static String expectedText(Plan p) {
        if (p.lowerBoundOnly()) return "at least " + Output.seconds(p.expectedTotalMs());
        return p.expectedToComplete() ? "completes in about " + Output.seconds(p.expectedTotalMs())
                + (p.expectedDowntimeMs() >= 0 ? ", downtime about " + p.expectedDowntimeMs() + " ms" : "") : "does not complete";
    }

    static ObjectNode json(Plan p) {
        ObjectNode n = Output.json().createObjectNode();
        n.put("policy", p.policy().label());
        n.put("strategy", p.strategy().name());
        n.put("strategyText", p.strategy().label());
        n.put("memoryBytes", p.guest().memoryBytes());
        n.put("nonZeroBytes", p.guest().nonZeroBytes());
        n.put("dirtyRateBps", p.guest().dirtyRateBps());
        n.put("dirtyRateSaturated", p.guest().dirtyRateSaturated());
        n.put("dirtyRate", p.guest().rate().name());
        n.put("lowerBoundOnly", p.lowerBoundOnly());
        n.put("bandwidthBps", p.bandwidthBps());
        n.put("bandwidthAssumed", p.bandwidthAssumed());
        n.put("initialDowntimeMs", p.initialDowntimeMs());
        n.put("maxDowntimeMs", p.maxDowntimeMs());
        if (p.lowerBoundOnly()) n.putNull("plainPreCopyConverges");
        else n.put("plainPreCopyConverges", p.plainPreCopy().converges());
        n.put("plainPreCopyTotalMs", p.plainPreCopy().totalMs());
        n.put("plainPreCopyDowntimeMs", p.plainPreCopy().downtimeMs());
        n.put("plainPreCopyPasses", p.plainPreCopy().passes());
        n.put("expectedToComplete", p.expectedToComplete());
        n.put("expectedTotalMs", p.expectedTotalMs());
        n.put("expectedDowntimeMs", p.expectedDowntimeMs());
        n.put("floorMs", p.floorMs());
        n.put("autoConverge", p.autoConverge());
        n.put("postCopy", p.postCopy());
        if (p.throttleAvoided() != null) n.put("throttleAvoided", p.throttleAvoided());
        var r = n.putArray("reasons");
        p.reasons().forEach(r::add);
        return n;
    }

    /** "+12%" style error of actual against predicted. */
    static String error(long predicted, long actual) {
        if (predicted <= 0) return "n/a";
        return String.format(Locale.ROOT, "%+.0f%%", (actual - predicted) * 100.0 / predicted);
    }
}
