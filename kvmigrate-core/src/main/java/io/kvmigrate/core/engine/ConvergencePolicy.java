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

    /** One intervention and why. */
    record Action(String describe, String reason, Consumer<MigrationHandle> effect) {
        public void apply(MigrationHandle h) {
            effect.accept(h);
        }
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
