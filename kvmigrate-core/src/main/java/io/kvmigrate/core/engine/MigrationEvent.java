package io.kvmigrate.core.engine;

import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.JobStats;
import java.time.Instant;

/** What happens during a migration, for front ends to draw and stores to keep. */
public sealed interface MigrationEvent {
    Instant at();

    record PhaseStarted(Instant at, Phase phase, String detail) implements MigrationEvent {
    }

    record StorageVerified(Instant at, String disk, String path, String how) implements MigrationEvent {
    }

    record Progress(Instant at, JobStats stats) implements MigrationEvent {
    }

    /** The plan a live move starts with (measured while the checks ran), once it is known. */
    record Planned(Instant at, io.kvmigrate.core.plan.Plan plan) implements MigrationEvent {
    }

    /** An intervention (or refusal to intervene) with its reason. */
    record Decision(Instant at, String action, String reason) implements MigrationEvent {
    }

    record Completed(Instant at, MigrationReport report) implements MigrationEvent {
    }

    record Failed(Instant at, KvmigrateException error, Placement placement) implements MigrationEvent {
    }

    /**
     * Progress of one disk's copy: {@code position} of {@code total} bytes of the file covered (holes included),
     * {@code bytesSent} of data actually sent, rate of coverage and estimated time left.
     */
    record DiskProgress(Instant at, String disk, String path, long position, long total, long bytesSent, long rateBps, long etaMs)
            implements MigrationEvent {
    }

    /** One disk copied and verified: bytes sent (holes skipped), file length, SHA-256 equal on both hosts. */
    record DiskCopied(Instant at, String disk, String from, String to, long bytesSent, long length, long millis, String sha256)
            implements MigrationEvent {
    }

    /** The preflight report, with the codes the user accepted; emitted before the migration is allowed or refused. */
    record PreflightFinished(Instant at, io.kvmigrate.core.preflight.PreflightReport report, java.util.Set<String> accepted)
            implements MigrationEvent {
    }
}
