package io.kvmigrate.core.engine;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.model.MigrationRequest;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.preflight.Mode;
import io.kvmigrate.core.preflight.Preflight;
import io.kvmigrate.core.preflight.PreflightReport;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.MigrationHandle;
import io.kvmigrate.core.spi.MigrationOptions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One live migration on shared storage: resolve, check (all of {@link Preflight}), verify storage, migrate (polling statistics on
 * the scheduler), verify placement. Peer-to-peer, persistent on the target, undefined on the source.
 *
 * <p>The caller owns both sessions. {@link #start} does the synchronous steps on the calling thread and
 * returns a future of the report; the migration itself runs in the hypervisor, polled every
 * {@code pollInterval}. Timeout and {@link #cancel} abort the hypervisor job; the VM then stays on the
 * source, which is verified before the future fails. Time comes only from the injected clock.
 */
public final class LiveMigration {
    private final HostSession source;
    private final HostSession target;
    private final Clock clock;
    private final Scheduler scheduler;
    private final EventListener listener;
    private final Duration pollInterval;
    private final ConvergencePolicy policy;
    private final AtomicReference<ErrorCode> abortReason = new AtomicReference<>();
    private volatile MigrationHandle handle;
    /** The bandwidth cap set while the job runs (MiB/s; 0: the one it started with). */
    private volatile long bandwidthNow;
    private volatile Instant lastAbortAt;
    /** An abort the hypervisor has not acted on within this time is sent again. */
    static final Duration ABORT_RETRY = Duration.ofSeconds(5);
    private java.util.Map<String, String> copyPoolMap; // null: shared storage, verified
    private volatile String vmName;

    public LiveMigration(HostSession source, HostSession target, Clock clock, Scheduler scheduler, EventListener listener,
            Duration pollInterval, ConvergencePolicy policy) {
        this.source = source;
        this.target = target;
        this.clock = clock;
        this.scheduler = scheduler;
        this.listener = listener;
        this.pollInterval = pollInterval;
        this.policy = policy;
    }

    /** Runs the synchronous steps and starts the migration. Throws for anything found before the VM moves. */
    public CompletableFuture<MigrationReport> start(MigrationRequest request) {
        return start(request, Set.of());
    }

    /** As {@link #start(MigrationRequest)}, letting preflight failures and warnings whose codes are in {@code accepted} pass where allowed. */
    public CompletableFuture<MigrationReport> start(MigrationRequest request, Set<String> accepted) {
        Instant startedAt = clock.instant();
        String vm = request.vm();
        vmName = vm;
        StepRunner steps = new StepRunner(clock, listener, source.host().name(), vm);
        // A VM that is not running is refused by preflight (VM_STATE, code VM_NOT_RUNNING) with every other problem it has.
        VmInfo info = steps.run(Phase.RESOLVE, "looking up " + vm, () -> {
            VmInfo found = ResolveVm.on(source, vm);
            // Another migration of it (another controller, virsh): the hypervisor would refuse ours only mid-way, with an
            // error that names nothing; say so now, before anything starts.
            if (source.jobInProgress(vm)) {
                throw new KvmigrateException(ErrorCode.VM_BUSY, Phase.RESOLVE.label(), source.host().name(), vm, "Another migration of this VM"
                        + " (or another hypervisor job: a save, a dump) is in progress on '" + source.host().name() + "'; nothing was started.",
                        "Wait for it to end, or abort it where it was started (a job of another controller can be cancelled by its id).");
            }
            return found;
        });
        stopIfCancelled(Phase.RESOLVE, null);

        // every check on facts gathered once per host; refuses on any failure not accepted
        PreflightReport preflight = steps.run(Phase.CHECK, "preflight checks", () -> {
            PreflightReport report = Preflight.standard().run(source, target, info, copyPoolMap == null ? Mode.LIVE : Mode.LIVE_COPY_STORAGE, tls);
            emit(new MigrationEvent.PreflightFinished(clock.instant(), report, Set.copyOf(accepted)));
            if (!report.passes(accepted)) throw report.refusal(Phase.CHECK.label(), Set.copyOf(accepted));
            return report;
        });
        stopIfCancelled(Phase.CHECK, null);

        // storage: proved shared, or (with copyingStorage) copied by the hypervisor into volumes pre-created here
        StoragePlan.LiveCopy copy;
        if (copyPoolMap == null) {
            copy = steps.run(Phase.VERIFY_STORAGE, info.spec().disks().size() + " disk(s)", () -> {
                for (SharedStorageVerifier.Verified v : preflight.verifiedDisks()) emit(new MigrationEvent.StorageVerified(clock.instant(), v.disk(), v.path(), v.how()));
                return null;
            });
        } else {
            copy = steps.run(Phase.PLAN_STORAGE, "pre-creating target volumes for the storage copy", () -> {
                StoragePlan.LiveCopy c = StoragePlan.prepareLiveCopy(info.spec(), source, target, copyPoolMap);
                for (String path : c.created()) emit(new MigrationEvent.Decision(clock.instant(), "created " + path, "target volume for the storage copy"));
                return c;
            });
        }
        stopIfCancelled(copyPoolMap == null ? Phase.VERIFY_STORAGE : Phase.PLAN_STORAGE, copy);

        emit(new MigrationEvent.PhaseStarted(clock.instant(), Phase.MIGRATE, source.host().name() + " -> " + target.host().name()));
        Instant migrateStart = clock.instant();
        CompletableFuture<MigrationReport> result = new CompletableFuture<>();
        try {
            launch(request, copy, startedAt, migrateStart, result);
        } catch (KvmigrateException e) {
            StoragePlan.removeCreated(target, created(copy));
            throw e;
        }
        return result;
    }

    /**
     * A cancel that came during a step before the transfer ends the move after that step, before any migration starts
     * (it used to start the migration and abort it at once): the VM runs where it was, the volumes this run pre-created
     * for a storage copy are removed.
     */
    private void stopIfCancelled(Phase step, StoragePlan.LiveCopy copy) {
        if (abortReason.get() != ErrorCode.CANCELLED) return;
        List<String> left = copy == null ? List.of() : StoragePlan.removeCreated(target, created(copy));
        throw new KvmigrateException(ErrorCode.CANCELLED, step.label(), source.host().name(), vmName, "Migration cancelled during step "
                + step.label() + ", before the transfer: nothing was started; VM '" + vmName + "' is still running on '"
                + source.host().name() + "'." + StoragePlan.leftText(left), "Run the same command again when ready.");
    }

    /** Starts one job with the policy's options as they are now, polls it, and completes {@code result} when it ends. */
    private void launch(MigrationRequest request, StoragePlan.LiveCopy copy, Instant startedAt, Instant migrateStart,
            CompletableFuture<MigrationReport> result) {
        String vm = request.vm();
        MigrationOptions planned = policy.initialOptions(request).withTls(tls).withMigrationAddress(migrationAddress);
        long b = bandwidthNow;
        // a cap set before the start (a drain's share now) is the one it starts with: never a moment above it
        if (b > 0) planned = planned.withBandwidth(b);
        final MigrationOptions options = copy != null ? planned.withStorageCopy(copy.disks()) : planned;
        MigrationHandle h = source.startLiveMigration(vm, target.host(), options);
        supervise(request, copy, options, h, startedAt, migrateStart, result);
    }

    /**
     * Supervises a migration that another controller started and left behind (it died): from now on this one's policy,
     * timeout and cancel apply to it, and its end is verified and reported as if this one had started it. The policy's
     * options must be those the job was started with (post-copy armed or not); {@code migrateStart} is when it started.
     */
    public CompletableFuture<MigrationReport> adopt(MigrationRequest request, MigrationHandle h, Instant migrateStart) {
        vmName = request.vm();
        emit(new MigrationEvent.PhaseStarted(clock.instant(), Phase.MIGRATE, "adopted: " + source.host().name() + " -> " + target.host().name()));
        CompletableFuture<MigrationReport> result = new CompletableFuture<>();
        supervise(request, null, policy.initialOptions(request).withTls(tls).withMigrationAddress(migrationAddress), h, migrateStart,
                migrateStart, result);
        return result;
    }

    /** Polls {@code h} with the policy until it ends, then completes {@code result} (or starts again, or recovers post-copy). */
    private void supervise(MigrationRequest request, StoragePlan.LiveCopy copy, MigrationOptions options, MigrationHandle h,
            Instant startedAt, Instant migrateStart, CompletableFuture<MigrationReport> result) {
        List<String> createdOnTarget = created(copy);
        handle = h;
        long b = bandwidthNow;
        if (b > 0 && b != options.bandwidthMiBps()) applyBandwidth(h, b);
        AtomicReference<JobStats> last = new AtomicReference<>(JobStats.NONE);
        lastBytesMoved = -1;
        lastMovedAt = clock.instant();
        Scheduler.Cancellable poll = scheduler.every(pollInterval, () -> tick(request, h, migrateStart, last));
        if (abortReason.get() != null) h.abort();
        h.completion().whenComplete((ok, err) -> {
            poll.cancel();
            if (err != null && restartRequested && abortReason.get() == null && !postCopyStarted) {
                startAgain(request, copy, startedAt, migrateStart, result, unwrap(err), last.get());
                return;
            }
            if (err != null && postCopyStarted && abortReason.get() == null) {
                if (PostCopyRecovery.switchTookEffect(source, request.vm())) {
                    new PostCopyRecovery(source, target, clock, scheduler, this::emit, this::placement).recover(request, options, unwrap(err),
                            result, () -> finish(request, startedAt, migrateStart, last.get()), resumed -> handle = resumed);
                    return;
                }
                // Asked for, but the job failed before the switch: the source still holds the whole VM and runs it again.
                postCopyStarted = false;
                emit(new MigrationEvent.Decision(clock.instant(), "post-copy never began", "the job failed before the switch took"
                        + " effect, so the source still holds the whole VM: nothing to resume forward"));
            }
            try {
                if (err == null) {
                    result.complete(finish(request, startedAt, migrateStart, last.get()));
                } else {
                    dropCreatedVolumes(createdOnTarget);
                    result.completeExceptionally(failed(request, unwrap(err), last.get()));
                }
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
    }

    /**
     * The job cancelled for a policy restart has ended: only when the VM runs on the source alone and nothing of it is
     * on the target does a new job start; otherwise this is a failure that says where the VM is.
     */
    private void startAgain(MigrationRequest request, StoragePlan.LiveCopy copy, Instant startedAt, Instant migrateStart,
            CompletableFuture<MigrationReport> result, Throwable err, JobStats lastSeen) {
        restartRequested = false;
        lastAbortAt = null;
        try {
            Placement p = placement(request.vm());
            if (!p.runsOnlyOn(source.host().name()) || p.presentOn().contains(target.host().name())) {
                result.completeExceptionally(failed(request, err, lastSeen));
                return;
            }
            emit(new MigrationEvent.Decision(clock.instant(), "started again", "the cancelled attempt left the VM running on "
                    + source.host().name() + " only; new attempt with auto-converge on"));
            policy.restarted();
            launch(request, copy, startedAt, migrateStart, result);
        } catch (RuntimeException e) {
            dropCreatedVolumes(created(copy));
            result.completeExceptionally(failed(request, e, lastSeen));
        }
    }

    private static List<String> created(StoragePlan.LiveCopy copy) {
        return copy == null ? List.of() : copy.created();
    }

    /** Storage copy: removes the target volumes this migration pre-created, saying which it could not. */
    private void dropCreatedVolumes(List<String> created) {
        List<String> left = StoragePlan.removeCreated(target, created);
        if (!left.isEmpty()) emit(new MigrationEvent.Decision(clock.instant(), "cleanup", StoragePlan.leftText(left)));
    }

    /**
     * Copies local disks during the migration (the hypervisor's NBD copy) instead of requiring shared storage: target
     * volumes of the same format and size are pre-created in the mapped pools ({@code poolMap}: source pool to target
     * pool, default same name) and removed again if the migration fails. Returns this.
     */
    public LiveMigration copyingStorage(java.util.Map<String, String> poolMap) {
        this.copyPoolMap = java.util.Map.copyOf(poolMap);
        return this;
    }

    /**
     * Changes the bandwidth cap (MiB/s, &gt; 0) of the running migration now, or of the one about to start: a drain
     * divides its total among the moves that run, and re-divides it as they start and end.
     */
    public void setBandwidth(long mibPerSecond) {
        if (mibPerSecond <= 0) throw new IllegalArgumentException("bandwidth must be > 0");
        bandwidthNow = mibPerSecond;
        MigrationHandle h = handle;
        if (h != null) {
            applyBandwidth(h, mibPerSecond);
        } else {
            emit(new MigrationEvent.Decision(clock.instant(), "bandwidth " + mibPerSecond + " MiB/s", "the share of the drain's total this move"
                    + " gets; the migration starts with it"));
        }
    }

    private void applyBandwidth(MigrationHandle h, long mibPerSecond) {
        if (h.completion().toCompletableFuture().isDone()) {
            emit(new MigrationEvent.Decision(clock.instant(), "bandwidth " + mibPerSecond + " MiB/s", "the migration has ended: it sends"
                    + " nothing more"));
            return;
        }
        try {
            h.setBandwidth(mibPerSecond);
            emit(new MigrationEvent.Decision(clock.instant(), "bandwidth " + mibPerSecond + " MiB/s", "the share of the drain's total this move gets now"));
        } catch (KvmigrateException e) {
            // the job ended meanwhile, or the hypervisor refused: the cap it had stays, which the drain counted already
            emit(new MigrationEvent.Decision(clock.instant(), "bandwidth unchanged", "setting " + mibPerSecond + " MiB/s failed: " + e.getMessage()));
        }
    }

    /** Aborts the running migration; the future then fails with CANCELLED once the VM is verified on the source. */
    public void cancel() {
        synchronized (switchLock) {
            if (!postCopyStarted) {
                abort(ErrorCode.CANCELLED, "cancelled by the user");
                return;
            }
        }
        // The target runs the guest and the source holds only part of its memory: aborting would lose the VM.
        emit(new MigrationEvent.Decision(clock.instant(), "cancel refused", "post-copy is running: the VM already runs on "
                + target.host().name() + " and can only move forward"));
    }

    private void abort(ErrorCode reason, String why) {
        if (abortReason.compareAndSet(null, reason)) {
            emit(new MigrationEvent.Decision(clock.instant(), "abort", why));
            lastAbortAt = clock.instant();
            MigrationHandle h = handle;
            if (h != null) h.abort();
        }
    }

    private void tick(MigrationRequest request, MigrationHandle h, Instant migrateStart, AtomicReference<JobStats> last) {
        try {
            JobStats stats = h.stats();
            // A job that just ended (aborted, failed) answers with all-zero figures: keep the last real ones.
            if (stats != JobStats.NONE && stats.memoryTotal() > 0) {
                last.set(stats);
                emit(new MigrationEvent.Progress(clock.instant(), stats));
                // every counter of data sent (libvirt's total, memory, disks): a cut link freezes them all
                long moved = stats.dataProcessed() + stats.memoryProcessed() + stats.diskProcessed();
                if (moved != lastBytesMoved) {
                    if (postCopyStallSaid) {
                        postCopyStallSaid = false;
                        emit(new MigrationEvent.Decision(clock.instant(), "link back", "data moves again after "
                                + Duration.between(lastMovedAt, clock.instant()).toSeconds() + " s; post-copy goes on"));
                    }
                    lastBytesMoved = moved;
                    lastMovedAt = clock.instant();
                }
            }
            Duration elapsed = Duration.between(migrateStart, clock.instant());
            Instant aborted = lastAbortAt;
            if (aborted != null) {
                if (Duration.between(aborted, clock.instant()).compareTo(ABORT_RETRY) >= 0) {
                    lastAbortAt = clock.instant();
                    emit(new MigrationEvent.Decision(clock.instant(), "abort again", "the job is still running "
                            + Duration.between(aborted, clock.instant()).toSeconds() + " s after the abort"));
                    h.abort();
                }
                return;
            }
            if (!postCopyStarted && request.timeout() != null && elapsed.compareTo(request.timeout()) >= 0) {
                abort(ErrorCode.TIMEOUT, "timeout of " + request.timeout().toSeconds() + " s reached after "
                        + elapsed.toMillis() + " ms with " + stats.memoryRemaining() / (1 << 20) + " MiB still to send");
                return;
            }
            Duration still = Duration.between(lastMovedAt, clock.instant());
            if (!postCopyStarted && abortReason.get() == null && still.compareTo(noProgressTimeout) >= 0) {
                // A cut migration stream (a firewall, a dead link) stalls QEMU's sender without an error; the control
                // connections still answer, so without this a pre-copy waits for as long as the cut lasts. Post-copy is
                // never aborted: the target holds the running VM, so it waits and recovers forward.
                linkDownBecause = "no data moved for " + still.toSeconds() + " s (" + Math.max(last.get().dataProcessed(), last.get().memoryProcessed()) / (1 << 20)
                        + " MiB sent so far): the migration stream to '" + target.host().name() + "' looks cut";
                abort(ErrorCode.MIGRATION_FAILED, linkDownBecause);
                return;
            }
            if (postCopyStarted && !postCopyStallSaid && still.compareTo(noProgressTimeout) >= 0) {
                // Said once per stall, so the operator knows why nothing moves; the job itself waits (see above).
                postCopyStallSaid = true;
                emit(new MigrationEvent.Decision(clock.instant(), "wait for the link", "no data moved for " + still.toSeconds()
                        + " s in post-copy: the migration stream to '" + target.host().name() + "' looks cut; the VM runs on '"
                        + target.host().name() + "' and can only move forward, so the migration waits for the link (and resumes"
                        + " forward if the connection breaks)"));
            }
            if (abortReason.get() == null && stats != JobStats.NONE) {
                for (ConvergencePolicy.Action a : policy.onStats(stats, elapsed)) {
                    act(a, h);
                }
            }
        } catch (KvmigrateException e) {
            // Statistics are unavailable in the instant the job ends; completion reports the outcome.
        }
    }

    /** Default of {@link #noProgressTimeout(Duration)}. */
    public static final Duration DEFAULT_NO_PROGRESS_TIMEOUT = Duration.ofSeconds(30);
    private volatile Duration noProgressTimeout = DEFAULT_NO_PROGRESS_TIMEOUT;
    private volatile long lastBytesMoved = -1;
    private volatile Instant lastMovedAt;
    private volatile String linkDownBecause;
    private volatile boolean postCopyStallSaid;

    private volatile boolean tls;

    /** Encrypt the migration stream itself (the hypervisor's native TLS; both hosts need its certificates). */
    public LiveMigration tls(boolean on) {
        this.tls = on;
        return this;
    }

    private volatile io.kvmigrate.core.model.MigrationAddress migrationAddress;

    /** Send the migration stream to this address (a separate migration network); null = where the target's hypervisor says. */
    public LiveMigration migrationAddress(io.kvmigrate.core.model.MigrationAddress a) {
        this.migrationAddress = a;
        return this;
    }

    /** A pre-copy that moves no data for this long is aborted cleanly (VM on the source) as a cut link. */
    public LiveMigration noProgressTimeout(Duration d) {
        if (d == null || d.isNegative() || d.isZero()) throw new IllegalArgumentException("noProgressTimeout must be positive");
        this.noProgressTimeout = d;
        return this;
    }

    // ---- convergence actions (issue 5) ----
    private volatile String gaveUpBecause;
    private volatile boolean postCopyStarted;
    /** Makes "cancel or switch to post-copy" one decision: whichever comes first wins, the other is refused. */
    private final Object switchLock = new Object();
    private volatile boolean restartRequested;

    /** Applies one policy action; a failing action is reported as a decision and the migration goes on. */
    private void act(ConvergencePolicy.Action a, MigrationHandle h) {
        if (a.kind() == ConvergencePolicy.Kind.ABORT) {
            gaveUpBecause = a.reason();
            abort(ErrorCode.NOT_CONVERGING, a.reason());
            return;
        }
        if (a.kind() == ConvergencePolicy.Kind.RESTART) {
            // Cancel this job (resent if ignored, as any abort); its end starts the next one (see startAgain).
            emit(new MigrationEvent.Decision(clock.instant(), a.describe(), a.reason()));
            restartRequested = true;
            lastAbortAt = clock.instant();
            h.abort();
            return;
        }
        boolean toPostCopy = a.kind() == ConvergencePolicy.Kind.POST_COPY;
        if (toPostCopy) {
            // From the switch request on, a cancel is refused: taken here, between the decision and the switch, it would
            // abort a job that is switching to post-copy and then keep the recovery from resuming it forward.
            synchronized (switchLock) {
                if (abortReason.get() != null) return; // being aborted (cancel, timeout): no switch
                postCopyStarted = true;
            }
        }
        emit(new MigrationEvent.Decision(clock.instant(), a.describe(), a.reason()));
        try {
            Instant switchAt = clock.instant();
            a.apply(h);
            if (toPostCopy) watchPostCopyResume(h, switchAt);
        } catch (KvmigrateException e) {
            if (toPostCopy) postCopyStarted = false;
            emit(new MigrationEvent.Decision(clock.instant(), a.describe() + " failed", e.getMessage()));
            policy.actionFailed(a);
        }
    }

    private volatile long postCopyDowntimeMs = -1;

    /**
     * libvirt keeps no completed-job statistics for a post-copy migration, so the downtime is measured here: from the
     * switch request (the source's vCPUs stop) until the target reports the VM running. An upper bound by up to one
     * watch interval plus one round trip.
     */
    private void watchPostCopyResume(MigrationHandle h, Instant switchAt) {
        AtomicReference<Scheduler.Cancellable> watch = new AtomicReference<>();
        watch.set(scheduler.every(Duration.ofMillis(10), () -> {
            try {
                boolean running = target.findVm(vmName).map(v -> v.state() == VmState.RUNNING).orElse(false);
                Duration waited = Duration.between(switchAt, clock.instant());
                if (running || h.completion().toCompletableFuture().isDone() || waited.toSeconds() > 60) {
                    if (running) postCopyDowntimeMs = waited.toMillis();
                    Scheduler.Cancellable c = watch.get();
                    if (c != null) c.cancel();
                }
            } catch (KvmigrateException e) {
                // the target is busy with the incoming job; look again
            }
        }));
    }

    /** True once the policy switched the job to post-copy: the source copy is no longer complete. */
    public boolean postCopyStarted() {
        return postCopyStarted;
    }

    private MigrationReport finish(MigrationRequest request, Instant startedAt, Instant migrateStart, JobStats lastSeen) {
        Instant migrateEnd = clock.instant();
        emit(new MigrationEvent.PhaseStarted(clock.instant(), Phase.VERIFY, "one running copy, on " + target.host().name()));
        Placement placement = VerifyPlacement.live(request.vm(), source, target);
        Optional<JobStats> completed = target.completedJobStats(request.vm());
        JobStats done = completed.orElse(lastSeen);
        long downtime = completed.isEmpty() && postCopyStarted ? postCopyDowntimeMs : done.downtimeMs();
        long migrationMs = done.elapsedMs() > 0 ? done.elapsedMs() : Duration.between(migrateStart, migrateEnd).toMillis();
        Instant finishedAt = clock.instant();
        MigrationReport report = new MigrationReport(request.vm(), source.host().name(), target.host().name(), startedAt, finishedAt,
                Duration.between(startedAt, finishedAt).toMillis(), migrationMs, downtime,
                done.dataProcessed() > 0 ? done.dataProcessed() : lastSeen.dataProcessed(),
                done.memoryTotal() > 0 ? done.memoryTotal() : lastSeen.memoryTotal(),
                Math.max(done.iteration(), lastSeen.iteration()), done, placement);
        emit(new MigrationEvent.Completed(finishedAt, report));
        return report;
    }

    private KvmigrateException failed(MigrationRequest request, Throwable err, JobStats lastSeen) {
        emit(new MigrationEvent.PhaseStarted(clock.instant(), Phase.ROLLBACK_CHECK, "VM must still run on " + source.host().name()));
        Placement placement = placement(request.vm());
        KvmigrateException e = new MigrationFailure(source.host().name(), target.host().name(), request.vm(), request.timeout(),
                abortReason.get(), gaveUpBecause, linkDownBecause, migrationAddress, postCopyStarted).describe(err, lastSeen, placement);
        emit(new MigrationEvent.Failed(clock.instant(), e, placement));
        return e;
    }

    /** Where the VM runs and is defined, as seen through both sessions now (the target's incoming copy is not running). */
    public Placement placement(String vm) {
        return Placement.ofMove(vm, source, target);
    }

    private static Throwable unwrap(Throwable t) {
        while ((t instanceof java.util.concurrent.CompletionException || t instanceof java.util.concurrent.ExecutionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private void emit(MigrationEvent e) {
        try {
            listener.on(e);
        } catch (RuntimeException ignored) {
            // A broken front end must not break a migration.
        }
    }
}
