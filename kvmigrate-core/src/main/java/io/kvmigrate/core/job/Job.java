package io.kvmigrate.core.job;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One move as history keeps it: what was asked, who runs it, where it is, what it measured and how it ended. Its
 * decisions and progress are {@link JobEvent}s. Times are kept to the millisecond, the precision every store holds,
 * so a job reads back equal to what was written.
 *
 * @param id          see {@link JobIds#newJobId}
 * @param vmUuid      the VM's libvirt UUID, null until resolved
 * @param request     the move's options, flat ({@code "policy" -> "finish"}); sorted, unmodifiable
 * @param phase       the step it is in (or ended in), null before the first
 * @param owner       the controller running it ({@link JobIds#newOwnerId}), null for a queued job nobody claimed
 * @param heartbeatAt the owner's last sign of life; a non-terminal job whose owner fell silent longer than the lease is
 *                    an orphan
 * @param figures     never null: {@link JobFigures#NONE} until measured
 * @param placement   null until read
 * @param error       null unless it failed
 */
public record Job(String id, JobKind kind, String vmName, String vmUuid, String sourceHost, String targetHost,
        Map<String, String> request, JobState state, String phase, String owner, Instant createdAt, Instant startedAt,
        Instant endedAt, Instant heartbeatAt, boolean cancelRequested, JobFigures figures, JobPlacement placement,
        JobError error) {
    public Job {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(vmName, "vmName");
        Objects.requireNonNull(sourceHost, "sourceHost");
        Objects.requireNonNull(targetHost, "targetHost");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(createdAt, "createdAt");
        request = Collections.unmodifiableMap(new TreeMap<>(request == null ? Map.of() : request));
        if (request.containsValue(null)) throw new IllegalArgumentException("request has an option without a value: " + request);
        createdAt = millis(createdAt);
        startedAt = millis(startedAt);
        endedAt = millis(endedAt);
        heartbeatAt = millis(heartbeatAt);
        figures = figures == null ? JobFigures.NONE : figures;
    }

    /**
     * A new job, not started. With an owner (the process that will run it at once), its heartbeat starts now; without
     * one it waits for a controller to {@link JobStore#claimQueued claim} it.
     */
    public static Job queued(String id, JobKind kind, String vmName, String vmUuid, String sourceHost, String targetHost,
            Map<String, String> request, String owner, Instant now) {
        return new Job(id, kind, vmName, vmUuid, sourceHost, targetHost, request, JobState.QUEUED, null, owner, now, null, null,
                owner == null ? null : now, false, JobFigures.NONE, null, null);
    }

    /** True if the job has not ended and {@code owner} owns it: the condition for every change its owner makes. */
    public boolean ownedBy(String owner) {
        return !state.isTerminal() && owner != null && owner.equals(this.owner);
    }

    /**
     * True if its owner's last sign of life (the heartbeat, else the creation) is older than {@code cutoff}, compared to
     * the millisecond as stores compare it.
     */
    public boolean silentBefore(Instant cutoff) {
        return (heartbeatAt != null ? heartbeatAt : createdAt).isBefore(millis(cutoff));
    }

    /** This job owned by {@code owner}, whose heartbeat is {@code heartbeatAt}. */
    public Job withOwner(String owner, Instant heartbeatAt) {
        return new Job(id, kind, vmName, vmUuid, sourceHost, targetHost, request, state, phase, owner, createdAt, startedAt, endedAt,
                heartbeatAt, cancelRequested, figures, placement, error);
    }

    /**
     * This job after a cancel request at {@code at}: a queued job is cancelled at once (nothing ran for it), a running
     * one is flagged for its owner to act on, an ended one stays as it is.
     */
    public Job cancelRequestedAt(Instant at) {
        if (state.isTerminal()) return this;
        Job flagged = new Job(id, kind, vmName, vmUuid, sourceHost, targetHost, request, state, phase, owner, createdAt, startedAt,
                endedAt, heartbeatAt, true, figures, placement, error);
        return state == JobState.QUEUED ? JobUpdate.state(JobState.CANCELLED, at).applyTo(flagged) : flagged;
    }

    /** The key {@link JobStore#lockVm} takes for this job's VM. */
    public String vmKey() {
        return VmLock.keyOf(vmUuid, sourceHost, vmName);
    }

    static Instant millis(Instant t) {
        return t == null ? null : t.truncatedTo(ChronoUnit.MILLIS);
    }
}
