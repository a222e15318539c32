package io.kvmigrate.core.evacuate;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobError;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.core.job.JobFigures;
import io.kvmigrate.core.job.JobIds;
import io.kvmigrate.core.job.JobKind;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.core.job.JobStore;
import io.kvmigrate.core.job.JobUpdate;
import io.kvmigrate.core.model.HostRef;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A drain as a job of jobs in the store: a job of kind {@link JobKind#EVACUATION} (its "VM" the drained hosts' summary,
 * its source the drained hosts, its target the targets) whose moves name it as their parent. Its timeline has the plan
 * (and each VM that fits nowhere, with its reasons), each move's start with its job and each VM's outcome; it heartbeats
 * like a move, so a controller that dies mid-drain leaves an orphan that reconciliation marks interrupted (its running
 * moves are reconciled as every move is; its queued ones never started). A cancel of this job from anywhere
 * ({@code jobs cancel}, the API) is read on the heartbeat and cancels the drain.
 */
final class DrainJob {
    private final JobStore store;
    private final String owner;
    private final Clock clock;
    private final String id;

    private DrainJob(JobStore store, String owner, Clock clock, String id) {
        this.store = store;
        this.owner = owner;
        this.clock = clock;
        this.id = id;
    }

    String id() {
        return id;
    }

    /** Records the drain as started, with its plan; before any move starts. */
    static DrainJob begin(JobStore store, String owner, Clock clock, EvacuationPlan plan) {
        Instant now = clock.instant();
        String id = JobIds.newJobId(now);
        EvacuationRequest r = plan.request();
        Map<String, String> request = new LinkedHashMap<>();
        request.put("sources", names(r.sources()));
        request.put("targets", names(r.targets()));
        request.put("bandwidth", Long.toString(r.bandwidthMiBps()));
        request.put("maxParallel", Integer.toString(r.limits().maxParallel()));
        request.put("maxOutPerHost", Integer.toString(r.limits().maxOutPerHost()));
        request.put("maxInPerHost", Integer.toString(r.limits().maxInPerHost()));
        request.put("policy", r.policy().label());
        request.put("maxDowntime", Long.toString(r.maxDowntimeMs()));
        if (r.timeout() != null) request.put("timeout", Long.toString(r.timeout().toSeconds()));
        request.put("measure", Boolean.toString(r.measure()));
        String summary = names(r.sources()) + " (" + plan.vmCount() + " VMs)";
        store.create(Job.queued(id, JobKind.EVACUATION, summary, null, names(r.sources()), names(r.targets()), request, owner, now));
        store.update(id, owner, JobUpdate.state(JobState.RUNNING, now).withPhase("drain")
                .withFigures(new JobFigures(null, null, null, null, plan.schedule().makespanMs())));
        DrainJob job = new DrainJob(store, owner, clock, id);
        DrainSchedule s = plan.schedule();
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("placed", (long) plan.placement().moves().size());
        data.put("unplaced", (long) plan.placement().unplaced().size());
        data.put("concurrency", (long) s.concurrency());
        data.put("predictedMs", s.makespanMs());
        data.put("boundMs", s.boundMs());
        job.event(JobEvent.STEP, "plan", plan.placement().moves().size() + " of " + plan.vmCount() + " VM(s) placed, at most " + s.concurrency()
                + " at once; predicted " + s.makespanMs() + " ms (bound " + s.boundMs() + " ms)", data);
        for (PlacementPlan.Unplaced u : plan.placement().unplaced()) {
            job.event(JobEvent.FINDING, "plan", u.vm() + " fits on no target: " + String.join(", ", u.codes()), Map.of("vm", u.vm(), "codes", u.codes()));
        }
        return job;
    }

    /** A move of this drain started as job {@code childId} (one write: the dispatcher waits for it before the next start). */
    void started(PlannedMove m, String childId) {
        store.setParent(childId, id);
    }

    /** One VM's outcome. */
    void ended(VmOutcome o) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("vm", o.vm());
        data.put("status", o.status().name());
        if (o.jobId() != null) data.put("job", o.jobId());
        data.put("runningOn", o.runningOn());
        event(JobEvent.STATE, "move", o.vm() + ": " + o.status().label() + (o.reason() == null ? "" : " (" + o.reason() + ")"), data);
    }

    /** Proves this controller alive; true when a cancel of the drain was asked from anywhere. */
    boolean heartbeatAndCancelAsked() {
        store.heartbeat(id, owner, clock.instant());
        return store.cancelRequested(id);
    }

    /** The drain's end: cancelled, failed (some VM left behind: which, and why) or succeeded. */
    void finish(EvacuationResult r) {
        Instant now = clock.instant();
        JobFigures f = new JobFigures(r.elapsedMs(), null, null, null, r.plan().schedule().makespanMs());
        List<VmOutcome> left = r.leftBehind();
        JobState state = r.cancelled() ? JobState.CANCELLED : left.isEmpty() ? JobState.SUCCEEDED : JobState.FAILED;
        JobUpdate u = JobUpdate.state(state, now).withFigures(f);
        if (!left.isEmpty()) {
            StringBuilder b = new StringBuilder();
            for (VmOutcome o : left) b.append(b.length() == 0 ? "" : "; ").append(o.vm()).append(": ").append(o.status().label());
            String host = r.plan().request().sources().get(0).name();
            u = u.withError(new JobError(r.cancelled() ? ErrorCode.CANCELLED.name() : ErrorCode.VMS_LEFT_BEHIND.name(), "drain", host, null,
                    left.size() + " VM(s) left behind: " + b + ".", "See each VM's move job for its reason; run the drain again once fixed."));
        }
        store.update(id, owner, u);
    }

    private void event(String type, String step, String message, Map<String, ?> data) {
        store.append(JobEvent.of(id, clock.instant(), type, step, message, data));
    }

    private static String names(List<HostRef> hosts) {
        return String.join(",", hosts.stream().map(HostRef::name).toList());
    }
}
