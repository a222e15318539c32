package io.kvmigrate.core.engine;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.MigrationRequest;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.MigrationHandle;
import io.kvmigrate.core.spi.MigrationOptions;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
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
        AtomicBoolean busy = new AtomicBoolean();
        AtomicReference<Scheduler.Cancellable> retry = new AtomicReference<>();
        AtomicReference<String> lastError = new AtomicReference<>(cause.getMessage());
        retry.set(scheduler.every(INTERVAL, () -> {
            if (result.isDone() || !busy.compareAndSet(false, true)) return;
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
                resumed.accept(h);
                h.completion().whenComplete((ok, err) -> {
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
                    busy.set(false);
                });
            } catch (KvmigrateException e) {
                lastError.set(e.getMessage());
                emit.accept(new MigrationEvent.Decision(clock.instant(), "recover post-copy failed", "attempt " + n + ": " + e.getMessage()));
                busy.set(false);
            }
        }));
    }

    private void fail(MigrationRequest request, CompletableFuture<MigrationReport> result, Throwable cause, String message, String hint) {
        KvmigrateException e = new KvmigrateException(ErrorCode.MIGRATION_FAILED, Phase.MIGRATE.label(), target.host().name(), request.vm(),
                message, hint, cause);
        emit.accept(new MigrationEvent.Failed(clock.instant(), e, placement.apply(request.vm())));
        result.completeExceptionally(e);
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
