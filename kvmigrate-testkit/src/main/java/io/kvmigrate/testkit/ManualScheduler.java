package io.kvmigrate.testkit;

import io.kvmigrate.core.engine.Scheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A scheduler driven by the test: {@link #advance} moves the clock and runs every task that falls due, in order. */
public final class ManualScheduler implements Scheduler {
    private final MutableClock clock;
    private final List<Task> tasks = new ArrayList<>();

    public ManualScheduler(MutableClock clock) {
        this.clock = clock;
    }

    private final class Task implements Cancellable {
        final Duration period;
        final Runnable run;
        java.time.Instant due;
        boolean cancelled;

        Task(Duration period, Runnable run) {
            this.period = period;
            this.run = run;
            this.due = clock.instant().plus(period);
        }

        @Override
        public void cancel() {
            synchronized (ManualScheduler.this) {
                cancelled = true;
            }
        }
    }

    @Override
    public synchronized Cancellable every(Duration period, Runnable task) {
        Task t = new Task(period, task);
        tasks.add(t);
        return t;
    }

    /** Advances time in steps of at most {@code step}, running due tasks after each step. */
    public void advance(Duration total, Duration step) {
        Duration left = total;
        while (!left.isZero() && !left.isNegative()) {
            Duration d = left.compareTo(step) < 0 ? left : step;
            clock.advance(d);
            left = left.minus(d);
            runDue();
        }
    }

    public void runDue() {
        List<Task> due = new ArrayList<>();
        synchronized (this) {
            for (Task t : tasks) {
                if (!t.cancelled && !t.due.isAfter(clock.instant())) due.add(t);
            }
        }
        for (Task t : due) {
            boolean run;
            synchronized (this) {
                run = !t.cancelled;
                t.due = clock.instant().plus(t.period);
            }
            if (run) t.run.run();
        }
    }

    public synchronized int activeTasks() {
        return (int) tasks.stream().filter(t -> !t.cancelled).count();
    }
}
