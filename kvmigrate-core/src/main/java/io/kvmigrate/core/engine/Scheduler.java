package io.kvmigrate.core.engine;

import java.time.Duration;

/** Runs tasks later. The engine never sleeps: it asks a scheduler, so tests can drive time by hand. */
public interface Scheduler {
    /** Runs {@code task} every {@code period}, first after one period, until the returned handle is cancelled. */
    Cancellable every(Duration period, Runnable task);

    /** Cancels a scheduled task. */
    interface Cancellable {
        void cancel();
    }
}
