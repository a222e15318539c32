package io.kvmigrate.core.engine;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.model.MigrationRequest;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.MigrationHandle;
import io.kvmigrate.core.spi.MigrationOptions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Post-copy was interrupted (link or target hiccup): the guest's memory is split between the hosts and libvirt has
 * paused it on both. The only safe way is forward: resume the migration (VIR_MIGRATE_POSTCOPY_RESUME), retrying on the
 * scheduler; never resume the source, whose copy is stale. One instance per interruption, started by
 * {@link LiveMigration} when its job fails after the switch took effect.
 */
final class PostCopyRecovery {
    /** Attempts to resume an interrupted post-copy forward before giving up, and how far apart. */
    static final int ATTEMPTS = 12;
    static final Duration INTERVAL = Duration.ofSeconds(5);
    /**
     * How long one attempt may go without moving a byte before it counts as stuck. A resume that starts sends within a
     * second or two; one that does not within this has no answer from the target (seen: a software-emulated guest's vCPU
     * waits for a page still on the source while holding QEMU's main lock, so the target can never take the resume, and
     * libvirt holds the VM's job until it does: no other attempt can start).
     */
    static final Duration STALL = Duration.ofSeconds(30);
    /** How long the placement read after a stuck attempt may take before the source's part is given up. */
    static final Duration PLACEMENT_READ = Duration.ofSeconds(10);

    private final HostSession source;
    private final HostSession target;
    private final Clock clock;
    private final Scheduler scheduler;
    private final Consumer<MigrationEvent> emit;
    private final Function<String, Placement> placement;

    PostCopyRecovery(HostSession source, HostSession target, Clock clock, Scheduler scheduler, Consumer<MigrationEvent> emit,
            Function<String, Placement> placement) {
        this.source = source;
        this.target = target;
        this.clock = clock;
        this.scheduler = scheduler;
        this.emit = emit;
        this.placement = placement;
    }

    /**
     * Whether the switch to post-copy really happened: the source has the VM paused for post-copy. When the state cannot
     * be read the answer is yes, the safe side: resuming forward fails harmlessly if there is nothing to resume, while
     * treating a real post-copy as over would leave the guest split between the hosts.
     */
    static boolean switchTookEffect(HostSession source, String vm) {
        try {
            return source.pausedInPostCopy(vm);
        } catch (KvmigrateException e) {
            return true;
        }
    }

    /**
     * Resumes forward until it works ({@code result} completed with {@code finish}), the target has lost the VM, or
     * {@link #ATTEMPTS} attempts failed (then {@code result} fails saying where the halves of the VM are).
     * {@code resumed} is told each new hypervisor job, so a cancel or bandwidth change reaches the current one.
     */
    void recover(MigrationRequest request, MigrationOptions options, Throwable cause, CompletableFuture<MigrationReport> result,
            Supplier<MigrationReport> finish, Consumer<MigrationHandle> resumed) {
        emit.accept(new MigrationEvent.Decision(clock.instant(), "recover post-copy", "post-copy was interrupted (" + cause.getMessage()
                + "); the source no longer holds a complete copy, so the migration is resumed forward, never the source: up to "
                + ATTEMPTS + " attempts, " + INTERVAL.toSeconds() + " s apart"));
        AtomicInteger attempts = new AtomicInteger();
        AtomicReference<Scheduler.Cancellable> retry = new AtomicReference<>();
        AtomicReference<String> lastError = new AtomicReference<>(cause.getMessage());
        AttemptWatch watch = new AttemptWatch();
        retry.set(scheduler.every(INTERVAL, () -> {
            if (result.isDone()) {
                retry.get().cancel();
                return;
            }
            if (watch.inFlight()) {
                if (watch.stalledFor(clock.instant()).compareTo(STALL) >= 0) {
                    retry.get().cancel();
                    failStuck(request, result, cause, attempts.get());
                }
                return;
            }
            int n = attempts.incrementAndGet();
            if (targetLost(request.vm())) {
                // The target's QEMU ended (e.g. the stream broke while it was still loading the switch-over state): the part
                // of the guest's memory it held is gone, and no resume can bring it back. Say so at once, truthfully.
                retry.get().cancel();
                fail(request, result, cause, "Post-copy was interrupted (" + lastError.get() + ") and the VM no longer exists on '"
                        + target.host().name() + "': its QEMU ended during post-copy, so the guest's running state is lost. '"
                        + source.host().name() + "' keeps it paused and defined, with memory that is incomplete and stale.",
                        "Do not resume it on '" + source.host().name() + "'. Its disks are intact: power it off there ('virsh destroy "
                                + request.vm() + "') and start it again, as after a crash.");
                return;
            }
            if (n > ATTEMPTS) {
                retry.get().cancel();
                fail(request, result, cause, "Post-copy was interrupted and " + ATTEMPTS + " attempts to resume it forward failed (last: "
                        + lastError.get() + "). The VM is paused; its memory is split between '" + source.host().name() + "' and '"
                        + target.host().name() + "'.", "Restore the link between the hosts, then resume it forward on the source:"
                        + " 'virsh migrate --live --p2p --postcopy --postcopy-resume " + request.vm() + " " + target.host().uri()
                        + "'. Never resume the VM on the source: its memory there is stale.");
                return;
            }
            try {
                MigrationHandle h = source.resumePostCopy(request.vm(), target.host(), options);
                watch.started(h, clock.instant());
                resumed.accept(h);
                h.completion().whenComplete((ok, err) -> {
                    if (result.isDone()) return; // given up on as stuck: the VM's placement was reported then
                    if (err == null) {
                        retry.get().cancel();
                        try {
                            result.complete(finish.get());
                        } catch (RuntimeException e) {
                            result.completeExceptionally(e);
                        }
                    } else {
                        lastError.set(unwrap(err).getMessage());
                        emit.accept(new MigrationEvent.Decision(clock.instant(), "recover post-copy failed", "attempt " + n + ": " + lastError.get()));
                    }
                    watch.ended();
                });
            } catch (KvmigrateException e) {
                lastError.set(e.getMessage());
                emit.accept(new MigrationEvent.Decision(clock.instant(), "recover post-copy failed", "attempt " + n + ": " + e.getMessage()));
            }
        }));
    }

    /**
     * The attempt in flight, if any (the next starts only when it has ended): when it last moved memory or disk, judged
     * from its statistics at each retry tick.
     */
    private static final class AttemptWatch {
        private MigrationHandle handle;
        private List<Long> figures = List.of();
        private Instant movedAt;

        synchronized void started(MigrationHandle h, Instant now) {
            handle = h;
            figures = List.of();
            movedAt = now;
        }

        synchronized void ended() {
            handle = null;
        }

        synchronized boolean inFlight() {
            return handle != null;
        }

        /** How long the attempt has moved nothing; zero while its figures change (or cannot be read: no verdict then). */
        synchronized Duration stalledFor(Instant now) {
            if (handle == null) return Duration.ZERO;
            JobStats s;
            try {
                s = handle.stats();
            } catch (RuntimeException e) {
                movedAt = now;
                return Duration.ZERO;
            }
            List<Long> f = List.of(s.memoryProcessed(), s.memoryRemaining(), s.diskProcessed(), s.dataProcessed());
            // the first figures read are where the attempt starts from, not a movement
            if (!figures.isEmpty() && !f.equals(figures)) movedAt = now;
            figures = f;
            return Duration.between(movedAt, now);
        }
    }

    /** Attempt {@code n} has moved nothing for {@link #STALL}: the target does not take the resume (class comment of STALL). */
    private void failStuck(MigrationRequest request, CompletableFuture<MigrationReport> result, Throwable cause, int n) {
        String from = source.host().name();
        String to = target.host().name();
        String vm = request.vm();
        failWith(request, result, cause, "Post-copy was interrupted (" + cause.getMessage() + ") and attempt " + n
                + " to resume it forward has moved nothing in " + STALL.toSeconds() + " s: '" + to + "' does not take the resume (its"
                + " QEMU does not answer; a software-emulated guest's vCPU waiting for a page still on '" + from + "' blocks it this"
                + " way). The VM is paused on '" + from + "' and stalled on '" + to + "'; its memory is split between them.",
                "Never resume the VM on '" + from + "': its memory there is stale. If '" + to + "' answers again the move may still end"
                        + " there ('virsh domjobinfo " + vm + "' on '" + from + "' shows bytes moving). If it stays stalled the guest's"
                        + " running state is lost; its disks are intact: power it off on '" + to + "' first, then on '" + from
                        + "' ('virsh destroy " + vm + "'), and start it again on one, as after a crash. If libvirt on '" + from
                        + "' still holds the VM's job ('cannot acquire state change lock'), restart libvirtd there.",
                placementBesideAHungCall(vm));
    }

    private void fail(MigrationRequest request, CompletableFuture<MigrationReport> result, Throwable cause, String message, String hint) {
        failWith(request, result, cause, message, hint, placement.apply(request.vm()));
    }

    private void failWith(MigrationRequest request, CompletableFuture<MigrationReport> result, Throwable cause, String message,
            String hint, Placement where) {
        KvmigrateException e = new KvmigrateException(ErrorCode.MIGRATION_FAILED, Phase.MIGRATE.label(), target.host().name(), request.vm(),
                message, hint, cause);
        emit.accept(new MigrationEvent.Failed(clock.instant(), e, where));
        result.completeExceptionally(e);
    }

    /**
     * Where the VM is, read while a resume call hangs on the source's session: there libvirt answers the VM's state but
     * not its definition until the call returns (seen: the read waited as long as the resume), so the whole read gets
     * {@link #PLACEMENT_READ}, then the target is read alone and the source reported unread.
     */
    private Placement placementBesideAHungCall(String vm) {
        // a thread of its own, a daemon: it may stay blocked for as long as the hung call
        CompletableFuture<Placement> read = CompletableFuture.supplyAsync(() -> placement.apply(vm), r -> {
            Thread t = new Thread(r, "placement-" + vm);
            t.setDaemon(true);
            t.start();
        });
        try {
            return read.get(PLACEMENT_READ.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            return Placement.ofMoveTargetOnly(vm, source, target, "not read: its connection is held by the resume call that does not"
                    + " return (the VM was paused there for post-copy)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Placement.ofMoveTargetOnly(vm, source, target, "not read: interrupted");
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        }
    }

    /** True when the target answers and has no VM of that name (a target that does not answer may come back). */
    private boolean targetLost(String vm) {
        try {
            return target.findVm(vm).isEmpty();
        } catch (KvmigrateException e) {
            return false;
        }
    }

    private static Throwable unwrap(Throwable t) {
        while ((t instanceof java.util.concurrent.CompletionException || t instanceof java.util.concurrent.ExecutionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
