package io.kvmigrate.core.job;

import java.time.Instant;
import java.util.Objects;

/**
 * A change an owner makes to its job in one durable write; a null field leaves that part as it is. Moving to
 * {@link JobState#RUNNING} sets the start time (once), moving to a terminal state sets the end time. Figures are
 * merged: a known figure replaces the stored one, an unknown one keeps it.
 *
 * <p>Why a change and not a whole {@link Job}: other writers touch the same row meanwhile (a second terminal's cancel
 * request, the owner's heartbeat), and writing back a whole job read earlier would undo them.
 */
public record JobUpdate(JobState state, Instant at, String phase, JobFigures figures, JobPlacement placement, JobError error) {
    public JobUpdate {
        if (state != null) Objects.requireNonNull(at, "at (the time of the state change)");
        at = Job.millis(at);
    }

    /** Moves the job to {@code state} at {@code at}. */
    public static JobUpdate state(JobState state, Instant at) {
        return new JobUpdate(Objects.requireNonNull(state, "state"), at, null, null, null, null);
    }

    /** Records that the job entered step {@code phase}. */
    public static JobUpdate phase(String phase) {
        return new JobUpdate(null, null, Objects.requireNonNull(phase, "phase"), null, null, null);
    }

    /** Records figures measured so far. */
    public static JobUpdate figures(JobFigures figures) {
        return new JobUpdate(null, null, null, Objects.requireNonNull(figures, "figures"), null, null);
    }

    public JobUpdate withPhase(String phase) {
        return new JobUpdate(state, at, phase, figures, placement, error);
    }

    public JobUpdate withFigures(JobFigures figures) {
        return new JobUpdate(state, at, phase, figures, placement, error);
    }

    public JobUpdate withPlacement(JobPlacement placement) {
        return new JobUpdate(state, at, phase, figures, placement, error);
    }

    public JobUpdate withError(JobError error) {
        return new JobUpdate(state, at, phase, figures, placement, error);
    }

    /** {@code job} with this change applied, as every store applies it. */
    public Job applyTo(Job job) {
        JobState newState = state != null ? state : job.state();
        Instant started = job.startedAt() == null && newState == JobState.RUNNING ? at : job.startedAt();
        Instant ended = state != null && state.isTerminal() ? at : job.endedAt();
        return new Job(job.id(), job.kind(), job.vmName(), job.vmUuid(), job.sourceHost(), job.targetHost(), job.request(),
                newState, phase != null ? phase : job.phase(), job.owner(), job.createdAt(), started, ended, job.heartbeatAt(),
                job.cancelRequested(), job.figures().mergedWith(figures), placement != null ? placement : job.placement(),
                error != null ? error : job.error());
    }
}
