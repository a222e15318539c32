package io.kvmigrate.core.evacuate;

import io.kvmigrate.core.engine.MigrationEvent;
import java.time.Instant;

/** What a drain tells its front end: the plan, each move's start, events and end, and the drain's total. */
public sealed interface EvacuationEvent {
    /** Listener of a drain; must not throw and should return quickly (called from the moves' threads). */
    @FunctionalInterface
    interface Listener {
        void on(EvacuationEvent e);

        Listener NONE = e -> { };
    }

    /** The drain is recorded as job {@code jobId} (its moves are its children): {@code jobs cancel} of it stops the drain. */
    record DrainRecorded(Instant at, String jobId) implements EvacuationEvent {
    }

    record MoveStarted(Instant at, PlannedMove move, String jobId, long shareMiBps) implements EvacuationEvent {
    }

    /** An event of one running move (after its job's store has it). */
    record MoveEvent(Instant at, PlannedMove move, String jobId, MigrationEvent event) implements EvacuationEvent {
    }

    record MoveEnded(Instant at, PlannedMove move, VmOutcome outcome) implements EvacuationEvent {
    }

    /**
     * The drain as a whole: moves ended of all placed, non-zero memory not yet sent (queued moves in full, running ones as
     * their last statistics say), and the time left as the schedule predicts it.
     */
    record Total(Instant at, int ended, int total, int running, long bytesLeft, long etaMs) implements EvacuationEvent {
    }

    /** The total bandwidth re-divided among the running live moves: each one's cap now, by VM (MiB/s). */
    record Shares(Instant at, long totalMiBps, java.util.Map<String, Long> capsMiBps) implements EvacuationEvent {
        public Shares {
            capsMiBps = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(capsMiBps));
        }
    }

    /** The drain was asked to stop: queued moves will not start, running ones are being aborted. */
    record Cancelling(Instant at, String reason) implements EvacuationEvent {
    }
}
