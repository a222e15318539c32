package io.kvmigrate.lab;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Waits for a condition on the real clock, checking it at an interval; the lab's only waiting primitive. */
public final class Poll {
    private Poll() {
    }

    /** True as soon as {@code condition} holds, false if it still does not after {@code timeout}. */
    public static boolean until(Duration timeout, Duration interval, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (condition.getAsBoolean()) return true;
            if (System.nanoTime() >= deadline) return false;
            LockSupport.parkNanos(interval.toNanos());
        }
    }
}
