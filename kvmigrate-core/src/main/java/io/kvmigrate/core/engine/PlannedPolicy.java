package io.kvmigrate.core.engine;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.model.MigrationRequest;
import io.kvmigrate.core.plan.Calibration;
import io.kvmigrate.core.plan.GuestProfile;
import io.kvmigrate.core.plan.Plan;
import io.kvmigrate.core.plan.Planner;
import io.kvmigrate.core.plan.Planning;
import io.kvmigrate.core.spi.MigrationOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;

/**
 * The policy of a plan that is still being measured: the guest's dirty rate is measured while the engine resolves,
 * checks and verifies storage, so the measurement costs the user little extra time. The engine asks for the start
 * options only after those steps; that is where this waits for the plan.
 */
public final class PlannedPolicy implements ConvergencePolicy {
    private final CompletableFuture<Plan> plan;
    private final Consumer<Plan> onPlan;
    private final boolean compress;
    private final int parallel;
    private volatile ConvergencePolicy delegate;
    private volatile Plan resolved;
    private volatile Plan live;

    public PlannedPolicy(CompletableFuture<Plan> plan, Consumer<Plan> onPlan, boolean compress, int parallel) {
        this.plan = plan;
        this.onPlan = onPlan;
        this.compress = compress;
        this.parallel = parallel;
    }

    @Override
    public MigrationOptions initialOptions(MigrationRequest request) {
        Plan p;
        try {
            p = plan.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof KvmigrateException k ? k.inContext("plan", request.source().name(), request.vm())
                    : new KvmigrateException(ErrorCode.INTERNAL, "plan", request.source().name(), request.vm(), String.valueOf(e.getCause()), null, e);
        }
        if (delegate == null) {
            resolved = p;
            onPlan.accept(p);
            delegate = StagedConvergencePolicy.forPlan(p, StagedConvergencePolicy.Settings.defaults(), compress, parallel);
        }
        return delegate.initialOptions(request);
    }

    @Override
    public List<Action> onStats(JobStats stats, Duration elapsed) {
        ConvergencePolicy d = delegate;
        if (d == null) return List.of();
        List<Action> actions = d.onStats(stats, elapsed);
        Plan p = resolved;
        if (p != null && p.lowerBoundOnly() && live == null && stats.iteration() >= 2 && stats.dirtyRateBps() > 0) {
            // Started unmeasured: the first dirty-bitmap sync gives the rate the measurement would have given. The plan is
            // for this migration as it runs: auto-converge off, post-copy as armed at start.
            GuestProfile g = p.guest();
            Planner planner = new Planner(Calibration.lab());
            live = planner.withDirtyLimit(planner.plan(new GuestProfile(g.memoryBytes(), g.nonZeroBytes(), stats.dirtyRateBps(), false,
                    g.sampledPages()), p.bandwidthBps(), p.bandwidthAssumed(), p.initialDowntimeMs(), p.maxDowntimeMs(), p.policy(),
                    p.postCopy(), false, p.throttleAvoided()), p.dirtyRing());
            List<Action> out = new ArrayList<>(actions);
            out.add(0, new Action("prediction from the first pass", String.format(Locale.ROOT, "dirty rate %.0f MiB/s as the hypervisor"
                    + " measured it: ", stats.dirtyRateBps() / 1048576.0) + Planning.expectation(live), h -> { }));
            return out;
        }
        return actions;
    }

    @Override
    public void actionFailed(Action action) {
        ConvergencePolicy d = delegate;
        if (d != null) d.actionFailed(action);
    }

    @Override
    public void restarted() {
        ConvergencePolicy d = delegate;
        if (d != null) d.restarted();
    }

    /** The plan, once measured; null before (or when the migration failed before the start options). */
    public Plan plan() {
        return resolved;
    }

    /** For a migration that started unmeasured: the plan made from the first pass's dirty rate, or null (not yet, or measured). */
    public Plan livePlan() {
        return live;
    }
}
