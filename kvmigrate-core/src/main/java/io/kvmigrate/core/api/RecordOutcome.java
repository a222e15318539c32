package io.kvmigrate.core.api;

import io.kvmigrate.core.engine.ColdMigrationReport;
import io.kvmigrate.core.engine.MigrationReport;
import io.kvmigrate.core.engine.Placement;
import io.kvmigrate.core.job.JobError;
import io.kvmigrate.core.job.JobFigures;
import io.kvmigrate.core.job.JobPlacement;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.core.job.JobStore;
import io.kvmigrate.core.job.JobUpdate;
import io.kvmigrate.core.plan.Plan;
import java.time.Clock;

/**
 * The record step every job ends with, live or offline, succeeded or not: its final state, figures (predicted next to
 * actual), placement and error, written to the store in one update.
 */
final class RecordOutcome {
    private final JobStore store;
    private final String jobId;
    private final String owner;
    private final Clock clock;

    RecordOutcome(JobStore store, String jobId, String owner, Clock clock) {
        this.store = store;
        this.jobId = jobId;
        this.owner = owner;
        this.clock = clock;
    }

    /** {@code plan}: what the live move was planned with, null if it was not planned. */
    void succeeded(JobHandle.Outcome o, Plan plan) {
        JobFigures figures;
        Placement p;
        if (o.live() != null) {
            MigrationReport r = o.live();
            figures = new JobFigures(r.totalMs(), r.downtimeMs(), r.dataSentBytes(), r.iterations(),
                    plan != null && plan.expectedTotalMs() > 0 ? plan.expectedTotalMs() : null);
            p = r.placement();
        } else {
            ColdMigrationReport r = o.offline();
            figures = new JobFigures(r.totalMs(), null, r.bytesSent(), null, null);
            p = r.placement();
        }
        store.update(jobId, owner, JobUpdate.state(JobState.SUCCEEDED, clock.instant()).withFigures(figures).withPlacement(placement(p)));
    }

    /** {@code placementOrNull}: where the failed move left the VM, when the engine could tell. */
    void failed(KvmigrateException e, Placement placementOrNull) {
        JobState state = e.code() == ErrorCode.CANCELLED ? JobState.CANCELLED : JobState.FAILED;
        JobUpdate u = JobUpdate.state(state, clock.instant()).withError(JobError.of(e));
        if (placementOrNull != null) u = u.withPlacement(placement(placementOrNull));
        store.update(jobId, owner, u);
    }

    static JobPlacement placement(Placement p) {
        if (p.known()) return JobPlacement.known(p.runningOn(), p.persistentOn());
        StringBuilder why = new StringBuilder();
        p.unreadable().forEach((h, reason) -> why.append(why.length() == 0 ? "" : "; ").append(h).append(" could not be read: ").append(reason));
        return JobPlacement.partial(p.runningOn(), p.persistentOn(), why.toString());
    }
}
