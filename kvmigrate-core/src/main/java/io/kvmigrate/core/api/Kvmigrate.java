package io.kvmigrate.core.api;

import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.core.job.JobFilter;
import io.kvmigrate.core.job.JobIds;
import io.kvmigrate.core.job.JobStore;
import io.kvmigrate.core.engine.EventListener;
import io.kvmigrate.core.engine.ResolveVm;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmNames;
import io.kvmigrate.core.plan.Plan;
import io.kvmigrate.core.plan.Planning;
import io.kvmigrate.core.preflight.Mode;
import io.kvmigrate.core.preflight.Preflight;
import io.kvmigrate.core.preflight.PreflightReport;
import io.kvmigrate.core.spi.SessionPair;
import io.kvmigrate.core.spi.DefinitionRewriter;
import io.kvmigrate.core.spi.HypervisorConnector;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The one class a front end (the CLI, the server) or a library user calls: every move is a durable job run by the core.
 * Configured once and validated up front ({@link #configure()}), like Flyway's facade:
 * <pre>{@code
 * Kvmigrate k = Kvmigrate.configure().connector(new LibvirtConnector()).store(JobStores.open(null)).load();
 * JobHandle h = k.submit(MoveRequest.live("web01", kvm1, kvm2).validate(), listener);
 * h.await();
 * }</pre>
 * A job's row and each of its events are written to the store before the listener sees them, so a crash of this
 * process loses nothing that was shown. A job holds a lock on its VM in the store for as long as it runs: a second move
 * of the same VM, from this process or another, is refused ({@link ErrorCode#VM_BUSY}). {@link #reconcile()} finds the
 * jobs of controllers that died and adopts or closes them.
 */
public final class Kvmigrate implements AutoCloseable {
    /** How often a running job proves its owner alive and looks for a cancel request from elsewhere. */
    static final Duration HEARTBEAT = Duration.ofSeconds(1);
    /** A job whose owner has been silent this long is an orphan (a dead owner on this machine is one at once). */
    static final Duration LEASE = Duration.ofSeconds(10);

    private final HypervisorConnector connector;
    private final DefinitionRewriter rewriter;
    private final java.util.function.Supplier<JobStore> storeOpener;
    private JobStore store; // opened at first use: a check or a plan needs none
    private final Clock clock;
    private final String owner;
    private final Duration pollInterval;
    private final Duration noProgressTimeout;
    private final Map<String, JobRun> running = new ConcurrentHashMap<>();

    private Kvmigrate(Builder b) {
        this.connector = b.connector;
        this.rewriter = b.rewriter;
        this.storeOpener = b.storeOpener;
        this.clock = b.clock;
        this.owner = b.owner;
        this.pollInterval = b.pollInterval;
        this.noProgressTimeout = b.noProgressTimeout;
    }

    public static Builder configure() {
        return new Builder();
    }

    /** The facade's configuration; {@link #load()} validates it as a whole and names the missing part. */
    public static final class Builder {
        private HypervisorConnector connector;
        private DefinitionRewriter rewriter;
        private java.util.function.Supplier<JobStore> storeOpener;
        private Clock clock = Clock.systemUTC();
        private String owner = JobIds.newOwnerId();
        private Duration pollInterval = Duration.ofMillis(500);
        private Duration noProgressTimeout = io.kvmigrate.core.engine.LiveMigration.DEFAULT_NO_PROGRESS_TIMEOUT;

        public Builder connector(HypervisorConnector c) {
            this.connector = c;
            return this;
        }

        /** Rewrites a VM's definition for its target in offline moves (pools, networks): the adapter's. */
        public Builder rewriter(DefinitionRewriter r) {
            this.rewriter = r;
            return this;
        }

        public Builder store(JobStore s) {
            Objects.requireNonNull(s, "store");
            this.storeOpener = () -> s;
            return this;
        }

        /**
         * The store, opened when the facade first needs it (a job, the history, reconciliation; not a check or a plan),
         * so a front end that only checks pays nothing for it.
         */
        public Builder store(java.util.function.Supplier<JobStore> opener) {
            this.storeOpener = opener;
            return this;
        }

        public Builder clock(Clock c) {
            this.clock = c;
            return this;
        }

        /** This controller's id in the store (default: host name, process id, random). */
        public Builder owner(String id) {
            this.owner = id;
            return this;
        }

        /** How often a live migration's statistics are read (default 500 ms). */
        public Builder pollInterval(Duration d) {
            this.pollInterval = d;
            return this;
        }

        /**
         * A live pre-copy that moves no data for this long is aborted cleanly, the VM left on its source, as a cut
         * migration link (default 30 s); post-copy is never aborted for it.
         */
        public Builder noProgressTimeout(Duration d) {
            this.noProgressTimeout = d;
            return this;
        }

        public Kvmigrate load() {
            if (connector == null) throw new IllegalStateException("Kvmigrate.configure(): connector is missing");
            if (storeOpener == null) throw new IllegalStateException("Kvmigrate.configure(): store is missing");
            if (rewriter == null) throw new IllegalStateException("Kvmigrate.configure(): rewriter is missing");
            Objects.requireNonNull(clock, "clock");
            if (owner == null || owner.isBlank()) throw new IllegalStateException("Kvmigrate.configure(): owner is blank");
            if (pollInterval == null || pollInterval.isNegative() || pollInterval.isZero()) {
                throw new IllegalStateException("Kvmigrate.configure(): pollInterval must be positive");
            }
            if (noProgressTimeout == null || noProgressTimeout.isNegative() || noProgressTimeout.isZero()) {
                throw new IllegalStateException("Kvmigrate.configure(): noProgressTimeout must be positive");
            }
            return new Kvmigrate(this);
        }
    }

    /**
     * Every preflight check of moving {@code vm} from {@code from} to {@code to}, nothing moved: the same checks a move
     * runs first. {@code mode} null: live when the VM runs, offline when it is shut off.
     */
    public PreflightReport check(String vm, HostRef from, HostRef to, Mode mode) {
        VmNames.validate(vm);
        try (SessionPair hosts = SessionPair.open(connector, from, to)) {
            VmInfo info = ResolveVm.on(hosts.source(), vm);
            Mode m = mode != null ? mode : info.state().isActive() ? Mode.LIVE : Mode.OFFLINE;
            return Preflight.standard().run(hosts.source(), hosts.target(), info, m);
        }
    }

    /**
     * Measures the running VM and predicts its live move under the request's bandwidth, downtime limit and policy: what
     * {@link #submit} of the same request would plan (it measures short moves only when {@code measure} is set).
     */
    public Plan plan(MoveRequest request) {
        request.validate();
        return Planning.plan(connector, request.vm(), request.from(), request.to(), request.bandwidthMiBps(), request.maxDowntimeMs(),
                request.policy(), request.measure() ? Planning.Mode.PLAN_FOR_MIGRATE_MEASURED : Planning.Mode.PLAN_FOR_MIGRATE);
    }

    /**
     * Starts a move as a job: validates the request, records the job, takes the VM's lock and runs it on a thread of its
     * own; {@code listener} sees every event after the store has it. Throws at once what is found before anything
     * runs: bad input, or the VM held by another job ({@link ErrorCode#VM_BUSY}, naming that job).
     */
    public JobHandle submit(MoveRequest request, EventListener listener) {
        request.validate();
        JobRun run = JobRun.begin(this, request, listener == null ? EventListener.NONE : listener);
        running.put(run.id(), run);
        run.outcome().whenComplete((ok, err) -> running.remove(run.id()));
        return run.handle();
    }

    public Optional<Job> job(String id) {
        return store().job(id);
    }

    public List<Job> jobs(JobFilter filter) {
        return store().jobs(filter);
    }

    /** A job's timeline after {@code afterSeq} (0: all of it). */
    public List<JobEvent> events(String id, long afterSeq) {
        return store().events(id, afterSeq);
    }

    /**
     * Asks a job to stop: at once when this process runs it, else through the store, where its owner (another process
     * or machine) reads the request within about a second and aborts cleanly. Returns the job as it is now.
     */
    public Optional<Job> cancel(String id) {
        JobRun local = running.get(id);
        if (local != null) local.cancel();
        return store().requestCancel(id, clock.instant());
    }

    /**
     * Finds the jobs whose controller died (silent past the lease, or a dead process on this machine) and takes them
     * over: a hypervisor migration still running is adopted and supervised to its end with the job's policy, timeout
     * and cancel; one that ended is recorded with the VM's real placement. Returns what it did, one entry per job.
     */
    public List<Reconciler.Outcome> reconcile() {
        return new Reconciler(this).run();
    }

    /**
     * Changes the bandwidth cap (MiB/s, &gt; 0) of a live move this process runs, at once if it is migrating, else when it
     * starts; false if the job does not run here (ended, or run by another process). A drain re-divides its total with it.
     */
    public boolean setBandwidth(String id, long mibPerSecond) {
        if (mibPerSecond <= 0 || mibPerSecond > MoveRequest.MAX_BANDWIDTH_MIBPS) {
            throw KvmigrateException.invalidInput("{bandwidth} must be 1.." + MoveRequest.MAX_BANDWIDTH_MIBPS + " MiB/s, got " + mibPerSecond + ".",
                    "Give MiB/s.");
        }
        JobRun r = running.get(id);
        if (r == null) return false;
        r.setBandwidth(mibPerSecond);
        return true;
    }

    /**
     * A drain of one or more hosts (issue 14): {@link io.kvmigrate.core.evacuate.Evacuation#plan()} places and orders every
     * VM without changing anything, {@code run} moves them as jobs of this facade. Hosts in maintenance are never targets.
     */
    public io.kvmigrate.core.evacuate.Evacuation evacuation(io.kvmigrate.core.evacuate.EvacuationRequest request) {
        java.util.Set<String> off = new java.util.HashSet<>();
        for (io.kvmigrate.core.job.HostMaintenance m : store().maintenance()) {
            off.add(m.host());
            off.add(m.uri());
        }
        return new io.kvmigrate.core.evacuate.Evacuation(this, connector, clock, request, off, store(), owner);
    }

    // ---- evacuation (issue 14): a drain is a job of jobs ----

    /** The jobs of a drain (its moves), oldest first; empty for a job that has none. */
    public List<Job> children(String jobId) {
        return store().children(jobId);
    }

    /** The drain a move belongs to, if it is one of a drain's. */
    public Optional<String> parentOf(String jobId) {
        return store().parentOf(jobId);
    }

    // ---- end of evacuation

    /** Puts a host in maintenance (never a drain's target) or takes it out, in the store; true if that changed anything. */
    public boolean maintenance(io.kvmigrate.core.model.HostRef host, boolean on) {
        return store().setMaintenance(host.name(), host.uri(), on, clock.instant());
    }

    /** The hosts in maintenance. */
    public List<io.kvmigrate.core.job.HostMaintenance> maintenanceHosts() {
        return store().maintenance();
    }

    // ---- queued moves, claimed through the store (issue 13: several servers on one store) ----

    private final List<Runnable> enqueueWakes = new java.util.concurrent.CopyOnWriteArrayList<>();

    /**
     * Queues a move for whichever controller claims it first ({@link #claimNext}; each server runs a {@link ClaimLoop}):
     * validates the request, resolves the VM's UUID on its source and records an unowned QUEUED job together with the
     * VM's lock, then wakes this process's claim loops. What is found first is thrown at once and nothing is queued: bad
     * input, a source that cannot be reached, or the VM held by a job that has not ended ({@link ErrorCode#VM_BUSY}
     * naming that job; the refused request is kept as a failed job, as {@link #submit} keeps it). Returns the queued job.
     */
    public Job enqueue(MoveRequest request) {
        request.validate();
        QueuedMoves.checkStorable(request);
        String uuid;
        try (io.kvmigrate.core.spi.HostSession source = connector.open(request.from())) {
            uuid = source.findVm(request.vm()).map(v -> v.spec().uuid()).orElse(null);
        }
        java.time.Instant now = clock.instant();
        Job job = Job.queued(JobIds.newJobId(now), request.kind(), request.vm(), uuid, request.from().name(), request.to().name(),
                request.asMap(), null, now);
        if (!store().enqueue(job, job.vmKey())) {
            KvmigrateException busy = QueuedMoves.busy(request, store().vmLock(job.vmKey()), job.id(), "queued");
            store().create(io.kvmigrate.core.job.JobUpdate.state(io.kvmigrate.core.job.JobState.FAILED, now)
                    .withError(io.kvmigrate.core.job.JobError.of(busy)).applyTo(job));
            throw busy;
        }
        enqueueWakes.forEach(Runnable::run);
        return job;
    }

    /**
     * Claims the oldest queued move in the store (queued by any controller) and runs it in this process as {@link
     * #submit} runs a move; the store gives each job to exactly one claimer, and its timeline records who claimed it.
     * Empty when nothing is queued. A queued job whose request cannot be read back is ended as failed, and the next one
     * is claimed.
     */
    public Optional<JobHandle> claimNext(EventListener listener) {
        while (true) {
            Optional<Job> claimed = store().claimQueued(owner, clock.instant(), LEASE);
            if (claimed.isEmpty()) return Optional.empty();
            Optional<JobRun> run = QueuedMoves.start(this, claimed.get(), listener == null ? EventListener.NONE : listener);
            if (run.isPresent()) return Optional.of(run.get().handle());
        }
    }

    /** Runs {@code wake} after every move this facade queues, so a claim loop claims it at once; the returned handle stops that. */
    public Runnable onEnqueue(Runnable wake) {
        enqueueWakes.add(Objects.requireNonNull(wake, "wake"));
        return () -> enqueueWakes.remove(wake);
    }

    /** This controller's id in the store: the owner of the jobs it runs. */
    public String ownerId() {
        return owner;
    }

    // ---- end of queued moves ----

    /** Waits for the jobs this process runs (adopted ones included) to end. */
    public void awaitRunning() {
        for (JobRun r : List.copyOf(running.values())) r.outcome().handle((ok, err) -> null).join();
    }

    void track(JobRun run) {
        running.put(run.id(), run);
        run.outcome().whenComplete((ok, err) -> running.remove(run.id()));
    }

    HypervisorConnector connector() {
        return connector;
    }

    DefinitionRewriter rewriter() {
        return rewriter;
    }

    synchronized JobStore store() {
        if (store == null) store = Objects.requireNonNull(storeOpener.get(), "the store opener returned null");
        return store;
    }

    Clock clock() {
        return clock;
    }

    String owner() {
        return owner;
    }

    Duration pollInterval() {
        return pollInterval;
    }

    Duration noProgressTimeout() {
        return noProgressTimeout;
    }

    /** Closes the store if it was opened; jobs still running here are not waited for (see {@link #awaitRunning()}). */
    @Override
    public synchronized void close() {
        if (store != null) store.close();
    }
}
