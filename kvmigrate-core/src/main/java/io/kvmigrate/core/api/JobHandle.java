package io.kvmigrate.core.api;

import io.kvmigrate.core.engine.ColdMigrationReport;
import io.kvmigrate.core.engine.MigrationReport;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.plan.Plan;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;

/**
 * A submitted move, running in this process: its id, the plan once known, cancel, and the outcome. The job's durable
 * state and timeline are in the store ({@link Kvmigrate#job}, {@link Kvmigrate#events}).
 */
public final class JobHandle {
    /** How a move ended: the live report or the offline one (the other is null). */
    public record Outcome(MigrationReport live, ColdMigrationReport offline) {
    }

    private final String id;
    private final CompletableFuture<Outcome> outcome;
    private final Runnable cancel;
    private final Supplier<Plan> plan;
    private final Supplier<Plan> livePlan;
    private final Supplier<Job> job;

    public JobHandle(String id, CompletableFuture<Outcome> outcome, Runnable cancel, Supplier<Plan> plan, Supplier<Plan> livePlan, Supplier<Job> job) {
        this.id = id;
        this.outcome = outcome;
        this.cancel = cancel;
        this.plan = plan;
        this.livePlan = livePlan;
        this.job = job;
    }

    public String id() {
        return id;
    }

    /** Aborts the move cleanly (the VM stays on the source), or is refused by it once post-copy runs. */
    public void cancel() {
        cancel.run();
    }

    /** Waits for the end; throws the move's {@link KvmigrateException} if it failed. */
    public Outcome await() {
        try {
            return outcome.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof KvmigrateException k) throw k;
            throw new KvmigrateException(ErrorCode.INTERNAL, "job", null, null, String.valueOf(e.getCause()), null, e.getCause());
        }
    }

    public CompletableFuture<Outcome> outcome() {
        return outcome;
    }

    /** The plan the live move started with; null before it is known, for offline moves and unplanned plain moves. */
    public Plan plan() {
        return plan.get();
    }

    /** For a live move started unmeasured: the plan made from its first pass, or null. */
    public Plan livePlan() {
        return livePlan.get();
    }

    /** The job as the store has it now. */
    public Job job() {
        return job.get();
    }
}
