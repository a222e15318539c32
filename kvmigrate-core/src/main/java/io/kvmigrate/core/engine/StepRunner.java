package io.kvmigrate.core.engine;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Runs a move's named steps in order (resolve, check, storage, transfer, verify, ...), the way each engine reads top to
 * bottom: announces each step to the listener before it runs, keeps how long each took, and turns an unexpected
 * exception into an error that names the step, host and VM (a {@link KvmigrateException} gets those it lacks).
 */
public final class StepRunner {
    /** One step that ran: its phase, what it was about, and how long it took (to its end or its failure). */
    public record StepTime(Phase phase, String detail, long millis, boolean failed) {
    }

    private final Clock clock;
    private final EventListener listener;
    private final String host;
    private final String vm;
    private final List<StepTime> times = new ArrayList<>();

    /** {@code host} and {@code vm} are named in errors the steps themselves did not explain. */
    public StepRunner(Clock clock, EventListener listener, String host, String vm) {
        this.clock = clock;
        this.listener = listener;
        this.host = host;
        this.vm = vm;
    }

    public <T> T run(Phase phase, String detail, Supplier<T> step) {
        Instant start = clock.instant();
        announce(new MigrationEvent.PhaseStarted(start, phase, detail));
        boolean failed = true;
        try {
            T result = step.get();
            failed = false;
            return result;
        } catch (KvmigrateException e) {
            // an adapter's error knows its host and what it tried, not the step it served or always the VM
            throw e.inContext(phase.label(), host, vm);
        } catch (RuntimeException e) {
            throw new KvmigrateException(ErrorCode.INTERNAL, phase.label(), host, vm, "Step " + phase.label() + " failed unexpectedly: " + e,
                    "This is a bug; please report it with this message.", e);
        } finally {
            synchronized (times) {
                times.add(new StepTime(phase, detail, Duration.between(start, clock.instant()).toMillis(), failed));
            }
        }
    }

    public void run(Phase phase, String detail, Runnable step) {
        run(phase, detail, () -> {
            step.run();
            return null;
        });
    }

    /** The steps run so far, in order. */
    public List<StepTime> times() {
        synchronized (times) {
            return List.copyOf(times);
        }
    }

    private void announce(MigrationEvent e) {
        try {
            listener.on(e);
        } catch (RuntimeException ignored) {
            // A broken front end must not break a migration.
        }
    }
}
