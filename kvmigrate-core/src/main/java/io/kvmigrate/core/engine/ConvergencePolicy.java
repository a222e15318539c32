package io.kvmigrate.core.engine;

import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.model.MigrationRequest;
import io.kvmigrate.core.spi.MigrationHandle;
import io.kvmigrate.core.spi.MigrationOptions;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/** Decides the options a migration starts with and what to change while it runs, from live statistics. */
public interface ConvergencePolicy {
    MigrationOptions initialOptions(MigrationRequest request);

    /** Called on every statistics poll; returns the interventions to make now (usually none). */
    List<Action> onStats(JobStats stats, Duration elapsed);

    /**
     * After a {@link Kind#RESTART}: the first job was cancelled with the VM verified on the source, and a new one is
     * about to start with {@link #initialOptions} asked again; its statistics start over at pass 1.
     */
    default void restarted() {
    }

    /** The hypervisor refused {@code action} (reported as a decision); the migration goes on, and the policy may try again. */
    default void actionFailed(Action action) {
    }

    /** One intervention and why; {@code kind} tells the engine what it means for the outcome. */
    record Action(String describe, String reason, Consumer<MigrationHandle> effect, Kind kind) {
        /** A tuning action (downtime, bandwidth, or a note with no effect). */
        public Action(String describe, String reason, Consumer<MigrationHandle> effect) {
            this(describe, reason, effect, Kind.TUNE);
        }

        public void apply(MigrationHandle h) {
            effect.accept(h);
        }

        /** Gives up: the engine aborts the job and reports {@code reason}; the VM stays on the source. */
        public static Action giveUp(String reason) {
            return new Action("abort", reason, h -> { }, Kind.ABORT);
        }

        /**
         * Cancels the job and starts it again with {@link #initialOptions} as they are now: the way to enable what QEMU
         * accepts only at the start (auto-converge). The VM stays on the source in between.
         */
        public static Action restart(String describe, String reason) {
            return new Action(describe, reason, h -> { }, Kind.RESTART);
        }

        /** Switches to post-copy: from now on the only way is forward (recover, never resume the source). */
        public static Action postCopy(String reason) {
            return new Action("switch to post-copy", reason, MigrationHandle::startPostCopy, Kind.POST_COPY);
        }
    }

    /** What an action means for the engine. */
    enum Kind {
        TUNE, POST_COPY, ABORT, RESTART
    }

    /** No intervention: the request's bandwidth and downtime, nothing else. */
    ConvergencePolicy PLAIN = new ConvergencePolicy() {
        @Override
        public MigrationOptions initialOptions(MigrationRequest r) {
            return MigrationOptions.basic(r.bandwidthMiBps(), r.maxDowntimeMs(), true);
        }

        @Override
        public List<Action> onStats(JobStats stats, Duration elapsed) {
            return List.of();
        }
    };
}
