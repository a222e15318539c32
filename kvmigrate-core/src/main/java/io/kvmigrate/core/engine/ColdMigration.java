package io.kvmigrate.core.engine;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.ColdMigrationRequest;
import io.kvmigrate.core.model.HostFacts;
import io.kvmigrate.core.model.NicSpec;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.preflight.Mode;
import io.kvmigrate.core.preflight.Preflight;
import io.kvmigrate.core.preflight.PreflightReport;
import io.kvmigrate.core.spi.DefinitionRewriter;
import io.kvmigrate.core.spi.HostSession;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A cold move: resolve, check, decide shared or copied storage, shut down (if asked), copy and verify every disk,
 * define on the target, then (unless {@code keepSource}) undefine on the source and delete the source disks.
 *
 * <p>Safety order, which the tests check call by call: the source is not touched (beyond a requested shutdown)
 * until the target holds verified copies (size and SHA-256 read back through each host) and a persistent definition;
 * only then is the source undefined, and only after that are its disks deleted. So at every moment the VM is
 * defined persistently on at least one host, and a source disk never goes before its verified copy exists.
 * A failure or {@link #cancel} before that point deletes exactly the volumes this run created on the target,
 * and starts the VM again on the source if this run shut it down; running the command again then starts afresh.
 *
 * <p>Runs on the calling thread; waits only through the {@link Scheduler}, time only from the {@link Clock}.
 */
public final class ColdMigration {
    private final HostSession source;
    private final HostSession target;
    private final Clock clock;
    private final Scheduler scheduler;
    private final EventListener listener;
    private final DefinitionRewriter rewriter;
    private final Duration pollInterval;
    private volatile boolean cancelled;
    /** Set once the target holds verified disks and a persistent definition: from then on the move only goes forward. */
    private volatile boolean committed;

    public ColdMigration(HostSession source, HostSession target, Clock clock, Scheduler scheduler, EventListener listener,
            DefinitionRewriter rewriter, Duration pollInterval) {
        this.source = source;
        this.target = target;
        this.clock = clock;
        this.scheduler = scheduler;
        this.listener = listener;
        this.rewriter = rewriter;
        this.pollInterval = pollInterval;
    }

    /**
     * Stops the move at the next step boundary (or mid-copy); the run then fails with CANCELLED after removing what it
     * created on the target and starting the VM again if it shut it down. Refused once the target holds verified disks
     * and a persistent definition (clean-up of the source, start on the target): the move then completes.
     */
    public synchronized void cancel() {
        if (committed) {
            emit(new MigrationEvent.Decision(clock.instant(), "cancel refused", "the target already holds verified disks and a persistent"
                    + " definition; the source copy is being removed, so the move completes"));
            return;
        }
        cancelled = true;
    }

    /** A cancel before anything changed: the move ends after the step it came in, nothing to undo. */
    private void stopIfCancelled(Phase step, String vm) {
        if (cancelled) {
            throw new KvmigrateException(ErrorCode.CANCELLED, step.label(), source.host().name(), vm, "Cold migration cancelled during step "
                    + step.label() + ", before anything changed: VM '" + vm + "' is as it was on '" + source.host().name() + "'.",
                    "Run the same command again when ready.");
        }
    }

    private KvmigrateException cancelledIn(Phase step, String vm) {
        return new KvmigrateException(ErrorCode.CANCELLED, step.label(), source.host().name(), vm, "cancelled by the user", null);
    }

    public ColdMigrationReport run(ColdMigrationRequest r) {
        return run(r, Set.of());
    }

    /**
     * As {@link #run(ColdMigrationRequest)}, letting preflight failures and warnings whose codes are in {@code accepted}
     * pass where allowed.
     */
    public ColdMigrationReport run(ColdMigrationRequest r, Set<String> accepted) {
        Instant startedAt = clock.instant();
        String vm = r.vm();
        String src = source.host().name();
        String dst = target.host().name();
        StepRunner steps = new StepRunner(clock, listener, src, vm);
        VmInfo resolved = steps.run(Phase.RESOLVE, "looking up " + vm, () -> ResolveVm.on(source, vm));
        VmInfo info = resolved;
        stopIfCancelled(Phase.RESOLVE, vm);
        if (!info.persistent()) {
            throw new KvmigrateException(ErrorCode.PREFLIGHT_FAILED, Phase.RESOLVE.label(), src, vm,
                    "VM '" + vm + "' is transient (not defined persistently), so there is no definition to move offline.",
                    "Define it persistently first ('virsh dumpxml " + vm + " > vm.xml; virsh define vm.xml'), or migrate it live.");
        }
        boolean running = info.state().isActive();
        if (running && !r.shutdown()) {
            throw new KvmigrateException(ErrorCode.PREFLIGHT_FAILED, Phase.RESOLVE.label(), src, vm,
                    "VM '" + vm + "' is " + info.state().name().toLowerCase() + "; {offline} moves a shut-off VM.",
                    "Add {shutdown} to shut it down gracefully first, or migrate it live ({copyStorage} if its disks are local).");
        }

        emit(new MigrationEvent.PhaseStarted(clock.instant(), Phase.CHECK, "host identity and name conflicts"));
        HostFacts sf = source.facts();
        HostFacts tf = target.facts();
        if (sf.hostUuid() != null && sf.hostUuid().equals(tf.hostUuid())) {
            throw new KvmigrateException(ErrorCode.SAME_HOST, Phase.CHECK.label(), dst, vm, "Source '" + src + "' and target '" + dst
                    + "' are the same host (host UUID " + sf.hostUuid() + ").", "Pick a different {to} host.");
        }
        target.findVm(vm).ifPresent(v -> {
            throw new KvmigrateException(ErrorCode.TARGET_CONFLICT, Phase.CHECK.label(), dst, vm, "A VM named '" + vm + "' is already "
                    + (v.state().isActive() ? "running" : "defined") + " on the target.", "Remove the stale copy on the target ('virsh undefine " + vm + "').");
        });
        String uuid = info.spec().uuid();
        target.findVmByUuid(uuid).ifPresent(v -> {
            throw new KvmigrateException(ErrorCode.TARGET_CONFLICT, Phase.CHECK.label(), dst, vm, "VM '" + v.name()
                    + "' on the target has the same UUID " + uuid + ".", "Remove the stale copy on the target.");
        });

        // The rest of preflight (CPU, architecture, machine type, emulator, networks after --map-network, devices, memory):
        // a VM defined on a target it cannot start on, with its source copy gone, would be a move that failed late.
        emit(new MigrationEvent.PhaseStarted(clock.instant(), Phase.CHECK, "preflight checks for an offline move"));
        PreflightReport preflight = Preflight.forOfflineMove().run(source, target, asChecked(info, r), Mode.OFFLINE);
        emit(new MigrationEvent.PreflightFinished(clock.instant(), preflight, Set.copyOf(accepted)));
        if (!preflight.passes(accepted)) throw preflight.refusal(Phase.CHECK.label(), Set.copyOf(accepted));
        stopIfCancelled(Phase.CHECK, vm);

        emit(new MigrationEvent.PhaseStarted(clock.instant(), Phase.VERIFY_STORAGE, info.spec().disks().size() + " disk(s): shared or copied?"));
        StoragePlan.refuseUnsupported(info.spec(), source);
        boolean shared = isShared(info);
        List<StoragePlan.DiskMove> moves = List.of();
        if (!shared) {
            emit(new MigrationEvent.PhaseStarted(clock.instant(), Phase.PLAN_STORAGE, "not shared: planning target volumes"));
            moves = StoragePlan.plan(info.spec(), source, target, r.poolMap());
        }
        stopIfCancelled(shared ? Phase.VERIFY_STORAGE : Phase.PLAN_STORAGE, vm);

        boolean weStopped = false;
        if (running) {
            weStopped = true;
            try {
                shutDown(r);
            } catch (RuntimeException e) {
                if (!cancelled) throw e;
                throw rollBack(vm, cancelledIn(Phase.SHUTDOWN, vm), List.of(), true);
            }
            info = source.findVm(vm).orElseThrow(); // the inactive definition, without runtime details
        }

        List<String> created = new ArrayList<>();
        List<ColdMigrationReport.DiskCopy> copies = new ArrayList<>();
        try {
            if (cancelled) throw cancelledIn(Phase.SHUTDOWN, vm);
            if (!shared) {
                VolumeCopier copier = new VolumeCopier(clock, () -> cancelled, Duration.ofMillis(500));
                for (StoragePlan.DiskMove m : moves) {
                    copies.add(copyOne(vm, m, copier, created));
                    if (cancelled) throw cancelledIn(Phase.VERIFY_COPY, vm); // came while this disk's copy was read back
                }
            }
            emit(new MigrationEvent.PhaseStarted(clock.instant(), Phase.DEFINE, "on " + dst));
            Map<String, String> paths = new LinkedHashMap<>();
            for (StoragePlan.DiskMove m : moves) paths.put(m.disk().target(), m.targetPath());
            String xml = rewriter.rewrite(info.spec().xml(), paths, r.networkMap());
            target.defineVm(xml);
            if (!target.findVm(vm).map(VmInfo::persistent).orElse(false)) {
                throw new KvmigrateException(ErrorCode.VERIFY_FAILED, Phase.DEFINE.label(), dst, vm,
                        "The target accepted the definition but does not list VM '" + vm + "' as persistent.", "See the target's libvirt log.");
            }
            synchronized (this) {
                // the last moment a cancel is taken: it undoes the define (the source still holds its definition)
                if (cancelled) throw cancelledIn(Phase.DEFINE, vm);
                committed = true;
            }
        } catch (RuntimeException e) {
            throw rollBack(vm, e, created, weStopped);
        }

        if (!r.keepSource()) {
            // From here on the target holds verified disks and a persistent definition: the source copy may go.
            emit(new MigrationEvent.PhaseStarted(clock.instant(), Phase.CLEANUP, "undefine on " + src
                    + (moves.isEmpty() ? "" : ", then delete its " + moves.size() + " copied disk(s)")));
            try {
                source.undefineVm(vm);
                for (StoragePlan.DiskMove m : moves) source.deleteVolume(m.source().path());
            } catch (KvmigrateException e) {
                throw new KvmigrateException(e.code(), Phase.CLEANUP.label(), src, vm, "The VM is defined on '" + dst + "' with verified disks, "
                        + "but tried to remove the source copy and failed because: " + e.getMessage(),
                        "Remove the source's definition and disks by hand ('virsh undefine " + vm + "', 'virsh vol-delete PATH'); do not start both.", e);
            }
        }
        boolean started = false;
        if (r.start()) {
            emit(new MigrationEvent.PhaseStarted(clock.instant(), Phase.START, "on " + dst));
            target.startVm(vm);
            started = true;
        }
        boolean kept = r.keepSource();
        boolean runs = started;
        Placement placement = steps.run(Phase.VERIFY, "defined on " + dst + (runs ? ", running there" : ""),
                () -> VerifyPlacement.offline(vm, source, target, kept, runs));
        Instant finishedAt = clock.instant();
        ColdMigrationReport report = new ColdMigrationReport(vm, src, dst, shared ? "shared" : "copied", copies, startedAt, finishedAt,
                Duration.between(startedAt, finishedAt).toMillis(), r.keepSource(), started, placement);
        emit(new MigrationEvent.Decision(finishedAt, "done", report.storage() + ", " + placement));
        return report;
    }

    /**
     * The VM as the checks should see it: shut off when this run will shut it down first, and its NICs on the target
     * networks {@code --map-network} names.
     */
    private static VmInfo asChecked(VmInfo info, ColdMigrationRequest r) {
        VmSpec s = info.spec();
        List<NicSpec> nics = new ArrayList<>();
        for (NicSpec n : s.nics()) {
            String mapped = "network".equals(n.type()) ? r.networkMap().get(n.source()) : null;
            nics.add(mapped == null ? n : new NicSpec(n.type(), mapped, n.mac(), n.model()));
        }
        return new VmInfo(s.withNics(nics), info.state().isActive() && r.shutdown() ? VmState.SHUTOFF : info.state(), info.persistent());
    }

    private boolean isShared(VmInfo info) {
        try {
            for (SharedStorageVerifier.Verified v : new SharedStorageVerifier().verify(info.spec(), source, target)) {
                emit(new MigrationEvent.StorageVerified(clock.instant(), v.disk(), v.path(), v.how()));
            }
            return true;
        } catch (KvmigrateException e) {
            if (e.code() != ErrorCode.STORAGE_NOT_SHARED) throw e;
            emit(new MigrationEvent.Decision(clock.instant(), "copy disks", e.getMessage()));
            return false;
        }
    }

    private ColdMigrationReport.DiskCopy copyOne(String vm, StoragePlan.DiskMove m, VolumeCopier copier, List<String> created) {
        String disk = m.disk().target();
        emit(new MigrationEvent.PhaseStarted(clock.instant(), Phase.COPY_STORAGE, "disk " + disk + " (" + m.source().allocation() / (1 << 20)
                + " MiB of data in " + m.source().capacity() / (1 << 20) + " MiB) to " + target.host().name()));
        target.createVolume(m.targetPool().name(), m.source().name(), m.source().format(), m.source().capacity());
        created.add(m.targetPath());
        // In the job's timeline before any data: a controller that adopts the job after a crash removes exactly these.
        emit(new MigrationEvent.Decision(clock.instant(), "created " + m.targetPath(), "target volume for the copy of disk " + disk
                + "; removed again if the move fails"));
        VolumeCopier.Copied c = copier.copy(disk, source, m.source().path(), target, m.targetPath(), true, m.source().physical(), this::emit);
        // the source's digest came with the stream: only the target is read back
        emit(new MigrationEvent.PhaseStarted(clock.instant(), Phase.VERIFY_COPY, "disk " + disk + ": reading the copy back on " + target.host().name()));
        VolumeCopier.Digest a = c.sourceDigest();
        VolumeCopier.Digest b = copier.digest(target, m.targetPath());
        long targetCapacity = target.volume(m.targetPath()).map(v -> v.capacity()).orElse(-1L);
        if (!a.equals(b) || targetCapacity != m.source().capacity()) {
            throw new KvmigrateException(ErrorCode.VERIFY_FAILED, Phase.COPY_STORAGE.label(), target.host().name(), vm,
                    "The copy of disk " + disk + " does not match: source " + a.length() + " bytes sha256 " + a.sha256() + ", target "
                            + b.length() + " bytes sha256 " + b.sha256() + ", virtual size " + m.source().capacity() + " vs " + targetCapacity + ".",
                    "Run the command again; if it repeats, check the target's storage for errors.");
        }
        emit(new MigrationEvent.DiskCopied(clock.instant(), disk, m.source().path(), m.targetPath(), c.bytesSent(), c.length(), c.millis(), a.sha256()));
        return new ColdMigrationReport.DiskCopy(disk, m.source().path(), m.targetPath(), m.source().format(), m.source().capacity(),
                c.bytesSent(), c.length(), c.millis(), a.sha256());
    }

    private KvmigrateException rollBack(String vm, RuntimeException cause, List<String> created, boolean weStopped) {
        emit(new MigrationEvent.PhaseStarted(clock.instant(), Phase.ROLLBACK_CHECK, "removing what was created on " + target.host().name()));
        String src = source.host().name();
        StringBuilder state = new StringBuilder();
        try {
            if (target.findVm(vm).map(VmInfo::persistent).orElse(false) && source.findVm(vm).map(VmInfo::persistent).orElse(false)) {
                target.undefineVm(vm); // only ever reached when the source still has its definition
            }
        } catch (KvmigrateException e) {
            state.append(" Could not undefine the partial definition on the target: ").append(e.getMessage()).append('.');
        }
        List<String> left = StoragePlan.removeCreated(target, created);
        state.append(StoragePlan.leftText(left));
        if (left.isEmpty()) state.append(" Nothing of it is left on '").append(target.host().name()).append("'.");
        if (weStopped && source.findVm(vm).map(v -> v.state().isActive()).orElse(false)) {
            // cancelled while the guest was still handling the shutdown request (or ignoring it)
            state.append(" It is still running on '").append(src).append("'.");
        } else if (weStopped) {
            try {
                source.startVm(vm);
                state.append(" It was started again on '").append(src).append("'.");
            } catch (KvmigrateException e) {
                state.append(" It stays shut off on '").append(src).append("' (restart failed: ").append(e.getMessage()).append(").");
            }
        }
        KvmigrateException ke = cause instanceof KvmigrateException k ? k : null;
        ErrorCode code = ke == null ? ErrorCode.INTERNAL : ke.code() == ErrorCode.CANCELLED || ke.code() == ErrorCode.VERIFY_FAILED
                || ke.code() == ErrorCode.TARGET_CONFLICT ? ke.code() : ErrorCode.MIGRATION_FAILED;
        String step = ke != null && ke.step() != null ? ke.step() : Phase.COPY_STORAGE.label();
        String host = ke != null && ke.host() != null ? ke.host() : target.host().name();
        String why = String.valueOf(cause.getMessage()).strip();
        String msg = code == ErrorCode.CANCELLED ? "Cold migration cancelled." : "Tried to move VM '" + vm + "' offline but failed because: "
                + why + (why.endsWith(".") ? "" : ".");
        return new KvmigrateException(code, step, host, vm, msg + " The source is untouched." + state,
                code == ErrorCode.CANCELLED ? "Run the same command again when ready."
                        : ke != null && ke.hint() != null ? ke.hint() : "Fix the cause and run the same command again.", cause);
    }

    private void shutDown(ColdMigrationRequest r) {
        String vm = r.vm();
        emit(new MigrationEvent.PhaseStarted(clock.instant(), Phase.SHUTDOWN, "graceful, up to " + r.shutdownTimeout().toSeconds() + " s"));
        source.shutdownVm(vm);
        Instant deadline = clock.instant().plus(r.shutdownTimeout());
        if (!isOff(vm)) {
            CompletableFuture<Boolean> off = new CompletableFuture<>();
            Scheduler.Cancellable poll = scheduler.every(pollInterval, () -> {
                try {
                    if (cancelled) off.completeExceptionally(cancelledIn(Phase.SHUTDOWN, vm));
                    else if (isOff(vm)) off.complete(true);
                    else if (!clock.instant().isBefore(deadline)) off.complete(false);
                } catch (RuntimeException e) {
                    off.completeExceptionally(e);
                }
            });
            boolean ok;
            try {
                ok = off.join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof KvmigrateException k ? k : e;
            } finally {
                poll.cancel();
            }
            if (!ok) {
                if (!r.forceOff()) {
                    throw new KvmigrateException(ErrorCode.TIMEOUT, Phase.SHUTDOWN.label(), source.host().name(), vm,
                            "The guest did not power off within " + r.shutdownTimeout().toSeconds() + " s of the shutdown request. "
                                    + "Nothing was copied or changed; the VM still runs on '" + source.host().name() + "'.",
                            "Shut the guest down from inside (does it handle ACPI?), give a longer {shutdownTimeout}, or add {forceOff} to power it off after the timeout.");
                }
                emit(new MigrationEvent.Decision(clock.instant(), "force off", "the guest ignored the shutdown request for "
                        + r.shutdownTimeout().toSeconds() + " s and {forceOff} was given"));
                source.destroyVm(vm);
            }
        }
    }

    private boolean isOff(String vm) {
        return source.findVm(vm).map(v -> !v.state().isActive()).orElse(true);
    }

    private void emit(MigrationEvent e) {
        try {
            listener.on(e);
        } catch (RuntimeException ignored) {
            // A broken front end must not break a migration.
        }
    }
}
