package io.kvmigrate.core.api;

import io.kvmigrate.core.engine.ColdMigration;
import io.kvmigrate.core.engine.ColdMigrationReport;
import io.kvmigrate.core.engine.ConvergencePolicy;
import io.kvmigrate.core.engine.EventListener;
import io.kvmigrate.core.engine.ExecutorScheduler;
import io.kvmigrate.core.engine.LiveMigration;
import io.kvmigrate.core.engine.MigrationEvent;
import io.kvmigrate.core.engine.MigrationReport;
import io.kvmigrate.core.engine.Placement;
import io.kvmigrate.core.engine.PlannedPolicy;
import io.kvmigrate.core.engine.Scheduler;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobError;
import io.kvmigrate.core.job.JobEvents;
import io.kvmigrate.core.job.JobIds;
import io.kvmigrate.core.job.JobKind;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.core.job.JobStore;
import io.kvmigrate.core.job.JobUpdate;
import io.kvmigrate.core.job.VmLock;
import io.kvmigrate.core.plan.Plan;
import io.kvmigrate.core.plan.Planning;
import io.kvmigrate.core.plan.PolicyKind;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.MigrationHandle;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One job in this process: records it, holds its VM's lock, runs the engine on a thread of its own, writes every event
 * to the store before the front end sees it, proves its owner alive and picks up cancel requests made elsewhere, and
 * records how it ended (state, figures, placement, error). Live moves are planned while the engine checks.
 */
final class JobRun {
    private final Kvmigrate k;
    private final JobStore store;
    private final MoveRequest request;
    private final EventListener frontEnd;
    private final String id;
    private final String vmKey;
    private final CompletableFuture<JobHandle.Outcome> outcome = new CompletableFuture<>();
    private final AtomicReference<Runnable> cancelEngine = new AtomicReference<>();
    private volatile boolean cancelWanted;
    private final AtomicReference<LiveMigration> liveEngine = new AtomicReference<>();
    private volatile long bandwidthWanted;
    private volatile PlannedPolicy planned;
    private volatile Placement failedPlacement;
    private String step = "resolve";
    private volatile KvmigrateException storeError;
    private final RecordOutcome record;

    private JobRun(Kvmigrate k, MoveRequest request, EventListener frontEnd, String id, String vmKey) {
        this.k = k;
        this.store = k.store();
        this.request = request;
        this.frontEnd = frontEnd;
        this.id = id;
        this.vmKey = vmKey;
        this.record = new RecordOutcome(store, id, k.owner(), k.clock());
    }

    /** Records the job and takes the VM's lock (both before anything moves), then starts it. */
    static JobRun begin(Kvmigrate k, MoveRequest r, EventListener frontEnd) {
        String uuid;
        try (HostSession source = k.connector().open(r.from())) {
            uuid = source.findVm(r.vm()).map(v -> v.spec().uuid()).orElse(null);
        }
        Instant now = k.clock().instant();
        Job job = Job.queued(JobIds.newJobId(now), r.kind(), r.vm(), uuid, r.from().name(), r.to().name(), r.asMap(), k.owner(), now);
        k.store().create(job);
        String key = VmLock.keyOf(uuid, r.from().name(), r.vm());
        JobRun run = new JobRun(k, r, frontEnd, job.id(), key);
        if (!k.store().lockVm(key, job.id(), k.owner(), now)) {
            Optional<VmLock> holder = k.store().vmLock(key);
            KvmigrateException busy = new KvmigrateException(ErrorCode.VM_BUSY, "lock", r.from().name(), r.vm(),
                    "Another migration of this VM is in progress" + holder.map(h -> ": job " + h.jobId() + " (controller " + h.owner()
                            + ", since " + h.lockedAt() + ")").orElse("") + ". Job " + job.id() + " was not started.",
                    "Wait for that job to end, or cancel it" + holder.map(h -> " (job " + h.jobId() + ")").orElse("") + ".");
            k.store().update(job.id(), k.owner(), JobUpdate.state(JobState.FAILED, now).withError(JobError.of(busy)));
            throw busy;
        }
        k.store().update(job.id(), k.owner(), JobUpdate.state(JobState.RUNNING, now).withPhase("resolve"));
        Thread t = new Thread(run::run, "kvmigrate-job-" + job.id());
        t.setDaemon(true);
        t.start();
        return run;
    }

    String id() {
        return id;
    }

    CompletableFuture<JobHandle.Outcome> outcome() {
        return outcome;
    }

    JobHandle handle() {
        return new JobHandle(id, outcome, this::cancel, () -> planned == null ? null : planned.plan(),
                () -> planned == null ? null : planned.livePlan(), () -> store.job(id).orElse(null));
    }

    /** Changes a live move's bandwidth cap now (or when its engine starts); offline moves have none. */
    synchronized void setBandwidth(long mibPerSecond) {
        bandwidthWanted = mibPerSecond;
        LiveMigration m = liveEngine.get();
        if (m != null) {
            m.setBandwidth(mibPerSecond);
        } else if (request.kind() != JobKind.OFFLINE) {
            emit(new MigrationEvent.Decision(k.clock().instant(), "bandwidth " + mibPerSecond + " MiB/s", "the share of the drain's total this"
                    + " move gets; its migration starts with it"));
        }
    }

    void cancel() {
        cancelWanted = true;
        Runnable c = cancelEngine.get();
        if (c != null) c.run();
    }

    private void run() {
        try (ExecutorScheduler scheduler = new ExecutorScheduler()) {
            Scheduler.Cancellable beat = scheduler.every(Kvmigrate.HEARTBEAT, this::heartbeat);
            try {
                end(() -> request.kind() == JobKind.OFFLINE ? new JobHandle.Outcome(null, runOffline(scheduler))
                        : new JobHandle.Outcome(runLive(scheduler), null));
            } finally {
                beat.cancel();
            }
        }
    }

    /** Runs the move and records how it ended, succeeded or not; completes the outcome last. */
    private void end(java.util.function.Supplier<JobHandle.Outcome> move) {
        try {
            JobHandle.Outcome o = move.get();
            Plan plan = planned == null ? null : planned.plan();
            write(() -> record.succeeded(o, plan));
            outcome.complete(o);
        } catch (RuntimeException e) {
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            // every failure names the job's step and VM, even one raised between the engine's steps
            KvmigrateException ke = cause instanceof KvmigrateException k ? k.inContext(step, request.from().name(), request.vm())
                    : new KvmigrateException(ErrorCode.INTERNAL, step, request.from().name(), request.vm(), String.valueOf(cause),
                            "This is a bug; please report it with the job id " + id + ".", cause);
            Placement p = failedPlacement;
            write(() -> record.failed(ke, p));
            outcome.completeExceptionally(ke);
        }
    }

    private MigrationReport runLive(Scheduler scheduler) {
        try (HostSession source = k.connector().open(request.from()); HostSession target = k.connector().open(request.to())) {
            ConvergencePolicy policy = ConvergencePolicy.PLAIN;
            if (!request.noPlan() || request.policy() != PolicyKind.PLAIN) {
                // Measure while the engine resolves, checks and verifies storage; it waits for the plan before starting.
                CompletableFuture<Plan> measuring = CompletableFuture.supplyAsync(() -> Planning.plan(k.connector(), request.vm(),
                        request.from(), request.to(), request.bandwidthMiBps(), request.maxDowntimeMs(), request.policy(),
                        request.measure() ? Planning.Mode.MIGRATE_MEASURED : Planning.Mode.MIGRATE));
                planned = new PlannedPolicy(measuring, p -> emit(new MigrationEvent.Planned(k.clock().instant(), p)), request.compress(),
                        request.parallel());
                policy = planned;
            }
            LiveMigration m = new LiveMigration(source, target, k.clock(), scheduler, this::emit, k.pollInterval(), policy)
                    .noProgressTimeout(k.noProgressTimeout()).tls(request.tls())
                    .migrationAddress(request.migrationAddress());
            if (request.kind() == JobKind.LIVE_COPY_STORAGE) m.copyingStorage(request.poolMap() == null ? Map.of() : request.poolMap());
            cancelEngine.set(m::cancel);
            if (cancelWanted) m.cancel();
            synchronized (this) {
                liveEngine.set(m);
                if (bandwidthWanted > 0 && bandwidthWanted != request.bandwidthMiBps()) m.setBandwidth(bandwidthWanted);
            }
            return m.start(request.migrationRequest(), request.accepted()).join();
        }
    }

    private ColdMigrationReport runOffline(Scheduler scheduler) {
        try (HostSession source = k.connector().open(request.from()); HostSession target = k.connector().open(request.to())) {
            ColdMigration m = new ColdMigration(source, target, k.clock(), scheduler, this::emit, k.rewriter(), k.pollInterval());
            cancelEngine.set(m::cancel);
            if (cancelWanted) m.cancel();
            return m.run(request.coldRequest(), request.accepted());
        }
    }

    /** Supervises a hypervisor job a dead controller left (see {@link Reconciler}); the job is this process's now. */
    static JobRun adopted(Kvmigrate k, Job job, MoveRequest request, ConvergencePolicy policy, HostSession source, HostSession target,
            MigrationHandle h) {
        JobRun run = new JobRun(k, request, EventListener.NONE, job.id(), job.vmKey());
        run.step = "migrate";
        Thread t = new Thread(() -> {
            try (ExecutorScheduler scheduler = new ExecutorScheduler(); source; target) {
                Scheduler.Cancellable beat = scheduler.every(Kvmigrate.HEARTBEAT, run::heartbeat);
                try {
                    run.end(() -> {
                        LiveMigration m = new LiveMigration(source, target, k.clock(), scheduler, run::emit, k.pollInterval(), policy)
                                .noProgressTimeout(k.noProgressTimeout()).tls(request.tls())
                                .migrationAddress(request.migrationAddress());
                        run.cancelEngine.set(m::cancel);
                        if (run.cancelWanted) m.cancel(); // asked before the engine existed: the adopted job aborts at once
                        Instant started = job.startedAt() != null ? job.startedAt() : k.clock().instant();
                        return new JobHandle.Outcome(m.adopt(request.migrationRequest(), h, started).join(), null);
                    });
                } finally {
                    beat.cancel();
                }
            }
        }, "kvmigrate-adopted-" + job.id());
        t.setDaemon(true);
        k.track(run);
        t.start();
        return run;
    }

    // ---- queued jobs (issue 13) ----

    /**
     * Runs a job this process has just claimed from the queue ({@link Kvmigrate#claimNext}): it is RUNNING and this
     * process's already, and holds its VM's lock since it was queued, so it starts at once.
     */
    static JobRun claimed(Kvmigrate k, Job job, MoveRequest r, EventListener frontEnd) {
        JobRun run = new JobRun(k, r, frontEnd, job.id(), job.vmKey());
        Thread t = new Thread(run::run, "kvmigrate-job-" + job.id());
        t.setDaemon(true);
        k.track(run);
        t.start();
        return run;
    }

    // ---- end of queued jobs ----

    /** Store first, then the front end: whatever was shown survives a crash of this process. */
    synchronized void emit(MigrationEvent e) {
        if (e instanceof MigrationEvent.PhaseStarted p) {
            step = p.phase().label();
            write(() -> store.update(id, k.owner(), JobUpdate.phase(step)));
        }
        if (e instanceof MigrationEvent.Failed f) failedPlacement = f.placement();
        String s = step;
        write(() -> store.append(JobEvents.of(id, s, e)));
        frontEnd.on(e);
    }

    /** A store that fails mid-job must not break the migration itself: the first failure is kept and reported at the end. */
    private void write(Runnable w) {
        try {
            w.run();
        } catch (KvmigrateException e) {
            if (storeError == null) storeError = e;
        }
    }

    private void heartbeat() {
        try {
            store.heartbeat(id, k.owner(), k.clock().instant());
            if (!cancelWanted && store.cancelRequested(id)) {
                emit(new MigrationEvent.Decision(k.clock().instant(), "cancel requested", "a cancel request for job " + id
                        + " was found in the job store"));
                cancel();
            }
        } catch (KvmigrateException e) {
            if (storeError == null) storeError = e;
        }
    }

}
