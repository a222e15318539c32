package io.kvmigrate.core.api;

import io.kvmigrate.core.engine.ExecutorScheduler;
import io.kvmigrate.core.engine.Scheduler;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

/**
 * Runs queued moves in this process, at most {@code slots} at once: claims them through the facade ({@link
 * Kvmigrate#claimNext}), where the store gives each job to exactly one controller of all that share it. It claims when
 * woken (this facade queued a move, or one of its moves ended and freed a slot) and every {@code poll} (moves queued by
 * other controllers). Claiming happens under one lock, so however many wakes come at once it never runs more than
 * {@code slots}; a store that fails is reported and tried again at the next wake or poll.
 *
 * <p>A server makes one with {@link #start}; tests drive one with a manual scheduler and a direct executor.
 */
public final class ClaimLoop implements AutoCloseable {
    /** How often the store is asked for moves other controllers queued. */
    public static final Duration DEFAULT_POLL = Duration.ofSeconds(2);

    private final Kvmigrate k;
    private final int slots;
    private final Executor wakes;
    private final Scheduler.Cancellable polling;
    private final Runnable unsubscribe;
    private final AutoCloseable owned;
    private volatile Consumer<JobHandle> onClaimed = h -> { };
    private volatile Consumer<RuntimeException> onError = e -> { };
    private int running;
    private long claimed;
    private volatile boolean closed;

    /**
     * A loop that polls on {@code scheduler} every {@code poll} and claims on {@code wakes} when woken. {@code slots} 0 claims
     * nothing (a server that only serves the API).
     */
    public ClaimLoop(Kvmigrate k, int slots, Scheduler scheduler, Duration poll, Executor wakes) {
        this(k, slots, scheduler, poll, wakes, null);
    }

    private ClaimLoop(Kvmigrate k, int slots, Scheduler scheduler, Duration poll, Executor wakes, AutoCloseable owned) {
        if (slots < 0) throw new IllegalArgumentException("slots must be >= 0, got " + slots);
        this.k = Objects.requireNonNull(k, "k");
        this.slots = slots;
        this.wakes = Objects.requireNonNull(wakes, "wakes");
        this.owned = owned;
        this.polling = scheduler.every(poll, this::claimWhileFree);
        this.unsubscribe = k.onEnqueue(this::wake);
    }

    /** A loop on threads of its own (one that polls, one that claims when woken), claiming at once. */
    public static ClaimLoop start(Kvmigrate k, int slots, Duration poll) {
        ExecutorScheduler scheduler = new ExecutorScheduler();
        ExecutorService wakes = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "kvmigrate-claim");
            t.setDaemon(true);
            return t;
        });
        ClaimLoop loop = new ClaimLoop(k, slots, scheduler, poll, wakes, () -> {
            scheduler.close();
            wakes.shutdownNow();
        });
        loop.wake();
        return loop;
    }

    /** Called with every job this loop claimed, as it starts. */
    public ClaimLoop onClaimed(Consumer<JobHandle> c) {
        this.onClaimed = Objects.requireNonNull(c);
        return this;
    }

    /** Called when claiming failed (the store could not be reached); the loop goes on. */
    public ClaimLoop onError(Consumer<RuntimeException> c) {
        this.onError = Objects.requireNonNull(c);
        return this;
    }

    /** Claims as soon as the executor runs it (a move was queued here, or a slot freed). */
    public void wake() {
        if (closed) return;
        try {
            wakes.execute(this::claimWhileFree);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing: nothing more is claimed
        }
    }

    /** The moves this loop runs now. */
    public synchronized int running() {
        return running;
    }

    /** The moves this loop has claimed since it started. */
    public synchronized long claimed() {
        return claimed;
    }

    public int slots() {
        return slots;
    }

    /** Never throws: a periodic task that threw would never run again. */
    private synchronized void claimWhileFree() {
        try {
            while (!closed && running < slots) {
                Optional<JobHandle> next = k.claimNext(null);
                if (next.isEmpty()) return;
                running++;
                claimed++;
                JobHandle h = next.get();
                h.outcome().whenComplete((ok, err) -> ended());
                onClaimed.accept(h);
            }
        } catch (RuntimeException e) {
            onError.accept(e);
        }
    }

    private void ended() {
        synchronized (this) {
            running--;
        }
        wake();
    }

    /** Claims no more; the moves it runs go on (see {@link Kvmigrate#awaitRunning()}). */
    @Override
    public void close() {
        closed = true;
        polling.cancel();
        unsubscribe.run();
        if (owned != null) {
            try {
                owned.close();
            } catch (Exception e) {
                // threads of our own; nothing to report
            }
        }
    }
}
