package io.kvmigrate.core.api;

import io.kvmigrate.core.engine.EventListener;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobError;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.core.job.JobUpdate;
import io.kvmigrate.core.job.VmLock;
import io.kvmigrate.core.model.HostRef;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The facade's queued moves ({@link Kvmigrate#enqueue}, {@link Kvmigrate#claimNext}): a queued job keeps nothing but its
 * store row, so the request is read back from the row's options ({@link MoveRequest#asMap()}) by whoever claims it, in
 * another process or on another machine. A request whose maps or accepted codes would not read back the same is refused
 * before it is queued.
 */
final class QueuedMoves {
    private QueuedMoves() {
    }

    /** The request as a claimer reads it back from the job's row. */
    static MoveRequest request(Job j) {
        HostRef from = new HostRef(j.sourceHost(), j.request().getOrDefault("fromUri", ""));
        HostRef to = new HostRef(j.targetHost(), j.request().getOrDefault("toUri", ""));
        MoveRequest r = MoveRequest.fromMap(j.vmName(), from, to, j.request());
        // fromMap leaves the maps out (crash recovery needs none); a queued move needs them to run
        return new MoveRequest(r.vm(), from, to, r.kind(), r.policy(), r.bandwidthMiBps(), r.maxDowntimeMs(), r.timeout(), r.parallel(),
                r.compress(), map(j.request().get("mapPool")), map(j.request().get("mapNetwork")), r.accepted(), r.shutdown(),
                r.shutdownTimeout(), r.forceOff(), r.start(), r.keepSource(), r.measure(), r.noPlan(), r.tls());
    }

    /** Throws INVALID_INPUT naming the field if {@code r}'s maps or accepted codes would not read back the same from a job's row. */
    static void checkStorable(MoveRequest r) {
        Job row = Job.queued("j-check", r.kind(), r.vm(), null, r.from().name(), r.to().name(), r.asMap(), null, Instant.EPOCH);
        String field;
        if (!readsBack(row, "mapPool", r.poolMap())) {
            field = "mapPool";
        } else if (!readsBack(row, "mapNetwork", r.networkMap())) {
            field = "mapNetwork";
        } else if (!request(row).accepted().equals(r.accepted())) {
            field = "accept";
        } else {
            return; // every other option is a number, a flag or a name kept as it is (times in whole seconds, as the history keeps them)
        }
        throw KvmigrateException.invalidInput("{" + field + "} cannot be kept in the job queue as given (names with '=', ', ' or braces do"
                + " not read back the same).", "Give plain names in {" + field + "}.");
    }

    /** The refusal of a queued move whose VM a job that has not ended holds, naming that job. */
    static KvmigrateException busy(MoveRequest r, Optional<VmLock> holder, String refusedId, String notDone) {
        String who = holder.map(h -> ": job " + h.jobId() + " (" + (h.owner() == null ? "queued, not claimed yet" : "controller " + h.owner())
                + ", since " + h.lockedAt() + ")").orElse("");
        return new KvmigrateException(ErrorCode.VM_BUSY, "lock", r.from().name(), r.vm(), "Another migration of this VM is in progress or queued"
                + who + ". Job " + refusedId + " was not " + notDone + ".", "Wait for that job to end, or cancel it" + holder.map(h -> " (job " + h.jobId()
                + ")").orElse("") + ".");
    }

    /**
     * Starts a job this controller has just claimed: notes the claim in its timeline and runs it here; empty (and the job
     * ended as failed) if its request cannot be read back or another job holds its VM.
     */
    static Optional<JobRun> start(Kvmigrate k, Job claimed, EventListener listener) {
        Instant now = k.clock().instant();
        long waitedMs = Duration.between(claimed.createdAt(), now).toMillis();
        String reason = "controller " + k.owner() + " claimed the queued job (" + waitedMs + " ms after it was queued) and runs it";
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("action", "claimed");
        data.put("reason", reason);
        data.put("owner", k.owner());
        data.put("queuedMs", waitedMs);
        k.store().append(JobEvent.of(claimed.id(), now, JobEvent.DECISION, "queue", "claimed: " + reason, data));
        MoveRequest r;
        try {
            r = request(claimed).validate();
        } catch (RuntimeException e) {
            KvmigrateException ke = new KvmigrateException(ErrorCode.INTERNAL, "queue", claimed.sourceHost(), claimed.vmName(),
                    "Job " + claimed.id() + " was queued with options that do not read back as a move: " + e.getMessage(),
                    "Queue the move again; this is a bug if it was queued by this version of kvmigrate.", e);
            k.store().update(claimed.id(), k.owner(), JobUpdate.state(JobState.FAILED, now).withError(JobError.of(ke)));
            return Optional.empty();
        }
        // A job queued by enqueue holds its VM's lock since then; one whose submitter died before it locked the VM (a stale
        // owner's, which claimQueued also hands out) does not: lock it now, or end it if another job holds the VM.
        if (!k.store().lockVm(claimed.vmKey(), claimed.id(), k.owner(), now)) {
            KvmigrateException busy = busy(r, k.store().vmLock(claimed.vmKey()), claimed.id(), "started");
            k.store().update(claimed.id(), k.owner(), JobUpdate.state(JobState.FAILED, now).withError(JobError.of(busy)));
            return Optional.empty();
        }
        k.store().update(claimed.id(), k.owner(), JobUpdate.phase("resolve"));
        return Optional.of(JobRun.claimed(k, claimed, r, listener));
    }

    private static boolean readsBack(Job row, String option, Map<String, String> given) {
        try {
            return Objects.equals(map(row.request().get(option)), given);
        } catch (KvmigrateException e) {
            return false;
        }
    }

    /** A map option as {@link MoveRequest#asMap()} writes it ({@code {a=b, c=d}}), or null. */
    private static Map<String, String> map(String text) {
        if (text == null) return null;
        String body = text.startsWith("{") && text.endsWith("}") ? text.substring(1, text.length() - 1) : text;
        Map<String, String> m = new LinkedHashMap<>();
        if (body.isEmpty()) return m;
        for (String pair : body.split(", ")) {
            int eq = pair.indexOf('=');
            if (eq < 0) throw KvmigrateException.invalidInput("A map option reads back as '" + text + "'.", "Give NAME=NAME pairs.");
            m.put(pair.substring(0, eq), pair.substring(eq + 1));
        }
        return m;
    }
}
