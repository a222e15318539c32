package io.kvmigrate.core.api;

import io.kvmigrate.core.engine.ConvergencePolicy;
import io.kvmigrate.core.engine.Placement;
import io.kvmigrate.core.engine.StagedConvergencePolicy;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobError;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.core.job.JobEvents;
import io.kvmigrate.core.job.JobFigures;
import io.kvmigrate.core.job.JobFilter;
import io.kvmigrate.core.job.JobKind;
import io.kvmigrate.core.job.JobPlacement;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.core.job.JobStore;
import io.kvmigrate.core.job.JobUpdate;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.plan.Planning;
import io.kvmigrate.core.plan.PolicyKind;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.MigrationHandle;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Crash recovery: finds the jobs whose controller died and takes them over. A controller is dead when it has been
 * silent longer than the lease, or at once when it was a process on this machine that no longer exists. For each such
 * job it reads the hypervisor: a migration job still running on the source is adopted (supervised to its end with the
 * job's policy, timeout and cancel, so a non-converging pre-copy never spins unwatched); one that has ended is recorded
 * with the VM's real placement. Two reconcilers racing for one job: the store's adopt lets exactly one win.
 */
public final class Reconciler {
    /** What reconciliation did with one job. */
    public record Outcome(String jobId, String vm, String action, String detail) {
    }

    private final Kvmigrate k;
    private final JobStore store;

    Reconciler(Kvmigrate k) {
        this.k = k;
        this.store = k.store();
    }

    List<Outcome> run() {
        Instant now = k.clock().instant();
        Map<String, Duration> orphans = new LinkedHashMap<>();
        for (Job j : store.orphans(now, Kvmigrate.LEASE)) orphans.put(j.id(), Kvmigrate.LEASE);
        for (JobState s : List.of(JobState.RUNNING, JobState.QUEUED)) {
            for (Job j : store.jobs(new JobFilter(null, null, s, 0))) {
                if (j.owner() != null && !j.owner().equals(k.owner()) && deadOnThisMachine(j.owner())) orphans.putIfAbsent(j.id(), Duration.ZERO);
            }
        }
        List<Outcome> out = new ArrayList<>();
        for (Map.Entry<String, Duration> e : orphans.entrySet()) {
            Optional<Job> job = store.job(e.getKey());
            if (job.isEmpty() || job.get().state().isTerminal()) continue;
            Job j = job.get();
            if (!store.adopt(j.id(), j.owner(), k.owner(), k.clock().instant(), e.getValue())) {
                out.add(new Outcome(j.id(), j.vmName(), "skipped", "another controller took it over first, or its owner came back"));
                continue;
            }
            note(j, "adopted", "controller " + j.owner() + " stopped (" + (e.getValue().isZero() ? "its process is gone" : "silent for more than "
                    + Kvmigrate.LEASE.toSeconds() + " s") + "); " + k.owner() + " takes the job over");
            out.add(reconcile(j));
        }
        return out;
    }

    /** The owner was a process of this machine (host:pid:random) that is no longer alive. */
    private boolean deadOnThisMachine(String owner) {
        String[] parts = owner.split(":");
        String here = k.owner().split(":")[0];
        if (parts.length < 3 || !parts[0].equals(here)) return false;
        try {
            return ProcessHandle.of(Long.parseLong(parts[1])).map(p -> !p.isAlive()).orElse(true);
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private Outcome reconcile(Job j) {
        if (j.kind() == JobKind.EVACUATION) return interruptDrain(j);
        HostRef from = new HostRef(j.sourceHost(), j.request().getOrDefault("fromUri", ""));
        HostRef to = new HostRef(j.targetHost(), j.request().getOrDefault("toUri", ""));
        MoveRequest request = MoveRequest.fromMap(j.vmName(), from, to, j.request());
        HostSession source = null;
        HostSession target = null;
        try {
            source = k.connector().open(from);
            target = k.connector().open(to);
            Optional<MigrationHandle> running = j.kind() == JobKind.OFFLINE ? Optional.empty() : source.activeMigration(j.vmName());
            if (running.isPresent()) {
                JobRun.adopted(k, j, request, policyOf(j, request), source, target, running.get());
                source = null; // the adopted run owns and closes both sessions
                target = null;
                return new Outcome(j.id(), j.vmName(), "adopted", "its migration is still running on " + from.name()
                        + ": supervised from now on with policy " + request.policy().label());
            }
            if (j.kind() == JobKind.OFFLINE) return new OfflineRecovery(k, j, request, source, target).run();
            Placement p = Placement.ofMove(j.vmName(), source, target);
            if (p.known() && p.runsOnlyOn(j.sourceHost()) && !p.presentOn().contains(j.targetHost())) {
                // it did not move: storage-copy volumes made for it on the target go, as the engine's own rollback does
                OfflineRecovery.removeCreated(k, j, target);
            }
            return recordEnded(j, p, target);
        } catch (KvmigrateException e) {
            // A host that cannot be read: the placement is unknown, and said so, never guessed.
            String reason = "could not read " + (source == null ? from.name() : to.name()) + ": " + e.getMessage();
            finish(j, JobState.INTERRUPTED, JobPlacement.unknown(reason), null, "the controller died and " + reason);
            return new Outcome(j.id(), j.vmName(), "interrupted", reason);
        } finally {
            if (source != null) source.close();
            if (target != null) target.close();
        }
    }

    /**
     * A drain whose controller died: its plan is not resumed (the fleet may have changed since); it is marked interrupted,
     * with how its moves stand. Each of its moves is a job of its own and is reconciled as every move is.
     */
    private Outcome interruptDrain(Job j) {
        List<Job> moves = store.children(j.id());
        long live = moves.stream().filter(m -> !m.state().isTerminal()).count();
        long moved = moves.stream().filter(m -> m.state() == JobState.SUCCEEDED).count();
        String why = "the controller died mid-drain: " + moves.size() + " move(s) had started (" + moved + " succeeded, " + live
                + " still open, reconciled on their own); the moves not yet started never will";
        note(j, "reconciled", why);
        KvmigrateException e = new KvmigrateException(ErrorCode.MIGRATION_FAILED, "drain", j.sourceHost(), null, "Drain " + j.id()
                + " was interrupted: " + why + ".", "Run the evacuation again: the VMs already moved stay where they are.");
        store.update(j.id(), k.owner(), JobUpdate.state(JobState.INTERRUPTED, k.clock().instant()).withError(JobError.of(e)));
        return new Outcome(j.id(), j.vmName(), "interrupted", why);
    }

    /** The hypervisor job ended while nobody watched: the real outcome is where the VM is. */
    private Outcome recordEnded(Job j, Placement p, HostSession target) {
        JobPlacement placement = RecordOutcome.placement(p);
        if (p.known() && p.runsOnlyOn(j.targetHost()) && !p.persistentOn().contains(j.sourceHost()) && p.persistentOn().contains(j.targetHost())) {
            JobFigures figures = target.completedJobStats(j.vmName()).map(Reconciler::figures).orElse(JobFigures.NONE);
            note(j, "reconciled", "the migration completed while no controller watched it: " + placement);
            store.update(j.id(), k.owner(), JobUpdate.state(JobState.SUCCEEDED, k.clock().instant()).withFigures(figures).withPlacement(placement));
            return new Outcome(j.id(), j.vmName(), "succeeded", "completed unsupervised; " + placement);
        }
        String where = p.runsOnlyOn(j.sourceHost()) ? "it did not move: the VM still runs on " + j.sourceHost() : placement.toString();
        finish(j, JobState.INTERRUPTED, placement, p, "the controller died and the migration ended without it; " + where);
        return new Outcome(j.id(), j.vmName(), "interrupted", where);
    }

    private void finish(Job j, JobState state, JobPlacement placement, Placement seen, String why) {
        note(j, "reconciled", why);
        KvmigrateException e = new KvmigrateException(ErrorCode.MIGRATION_FAILED, j.phase(), j.sourceHost(), j.vmName(),
                "Job " + j.id() + " was interrupted: " + why + ".", seen != null && seen.runsOnlyOn(j.sourceHost())
                ? "Nothing is left to clean up on the VM; start the move again if it should move." : "Check both hosts and the target's pools.");
        store.update(j.id(), k.owner(), JobUpdate.state(state, k.clock().instant()).withPlacement(placement).withError(JobError.of(e)));
    }

    private void note(Job j, String action, String reason) {
        store.append(JobEvent.of(j.id(), k.clock().instant(), JobEvent.DECISION, j.phase(), action + ": " + reason,
                Map.of("action", action, "reason", reason)));
    }

    /**
     * The policy to supervise an adopted migration with: the job's, with the options its first controller started it
     * with (read from the plan in its timeline: post-copy armed or not, auto-converge, a throttle to avoid).
     */
    private ConvergencePolicy policyOf(Job j, MoveRequest r) {
        if (r.policy() == PolicyKind.PLAIN) return ConvergencePolicy.PLAIN;
        Map<String, Object> plan = Map.of();
        for (JobEvent e : store.events(j.id(), 0)) if (JobEvents.PLAN.equals(e.type())) plan = e.data();
        boolean postCopy = Boolean.TRUE.equals(plan.get("postCopy"));
        boolean autoConverge = Boolean.TRUE.equals(plan.get("autoConverge"));
        long initial = Planning.initialDowntime(r.maxDowntimeMs());
        long max = r.maxDowntimeMs() > 0 ? r.maxDowntimeMs() : initial;
        StagedConvergencePolicy p = new StagedConvergencePolicy(r.policy(), StagedConvergencePolicy.Settings.defaults(), autoConverge,
                postCopy, initial, max, r.compress(), r.parallel());
        Object avoided = plan.get("throttleAvoided");
        return avoided instanceof String s ? p.avoidingThrottle(s) : p;
    }

    private static JobFigures figures(JobStats s) {
        return new JobFigures(s.elapsedMs(), s.downtimeMs(), s.dataProcessed(), s.iteration(), null);
    }
}
