package io.kvmigrate.core.api;

import io.kvmigrate.core.engine.Phase;
import io.kvmigrate.core.engine.Placement;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobError;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.core.job.JobFigures;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.core.job.JobUpdate;
import io.kvmigrate.core.spi.HostSession;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Crash recovery of an offline move whose controller died: reads where the move got to and finishes what its own
 * rollback would have done. The target's definition is written only after every disk copy was verified, so a VM defined
 * on the target has verified disks: the move is recorded as done (or, when the source's definition is still there
 * without being kept, as interrupted before its cleanup, both copies intact). A VM not defined on the target never
 * moved: the volumes the job created on the target (listed in its timeline before any data was written) are removed, and
 * if the job had shut the VM down it is started again on the source, so the VM runs where it was.
 */
final class OfflineRecovery {
    private final Kvmigrate k;
    private final Job job;
    private final MoveRequest request;
    private final HostSession source;
    private final HostSession target;

    OfflineRecovery(Kvmigrate k, Job job, MoveRequest request, HostSession source, HostSession target) {
        this.k = k;
        this.job = job;
        this.request = request;
        this.source = source;
        this.target = target;
    }

    Reconciler.Outcome run() {
        String vm = job.vmName();
        String src = job.sourceHost();
        String dst = job.targetHost();
        Placement p = Placement.of(vm, List.of(source, target));
        if (!p.known()) return interrupted(p, "the controller died and a host could not be read; " + p);
        if (p.persistentOn().contains(dst)) {
            if (!p.persistentOn().contains(src) || request.keepSource()) {
                note("reconciled", "the offline move completed while no controller watched it (the target's disks were verified before it"
                        + " was defined): " + p);
                k.store().update(job.id(), k.owner(), JobUpdate.state(JobState.SUCCEEDED, k.clock().instant()).withFigures(JobFigures.NONE)
                        .withPlacement(RecordOutcome.placement(p)));
                return new Reconciler.Outcome(job.id(), vm, "succeeded", "completed unsupervised; " + p);
            }
            return interrupted(p, "the controller died after defining the VM on " + dst + " (its disks verified) and before removing it from "
                    + src + ": both copies are intact, neither was started by the move; remove the one you do not want");
        }
        List<String> removed = removeCreated(k, job, target);
        String restarted = "";
        if (shutDownByTheJob() && p.persistentOn().contains(src) && p.runningOn().isEmpty()) {
            try {
                source.startVm(vm);
                restarted = ", and started it again on " + src + " (the move had shut it down)";
            } catch (KvmigrateException e) {
                restarted = "; starting it again on " + src + " failed: " + e.getMessage();
            }
        }
        Placement after = Placement.of(vm, List.of(source, target));
        return interrupted(after, "the controller died before the VM was defined on " + dst + "; rolled back: removed " + removed.size()
                + " volume(s) it had created there" + restarted);
    }

    /** Deletes the target volumes the job's timeline says it created and that still exist; returns their paths. */
    static List<String> removeCreated(Kvmigrate k, Job job, HostSession target) {
        List<String> removed = new ArrayList<>();
        for (JobEvent e : k.store().events(job.id(), 0)) {
            Object action = e.data().get("action");
            if (!JobEvent.DECISION.equals(e.type()) || !(action instanceof String a) || !a.startsWith("created ")) continue;
            String path = a.substring("created ".length());
            try {
                if (target.volume(path).isPresent()) {
                    target.deleteVolume(path);
                    removed.add(path);
                }
            } catch (KvmigrateException ex) {
                // left for the operator; the job's error names the host
            }
        }
        return removed;
    }

    private boolean shutDownByTheJob() {
        for (JobEvent e : k.store().events(job.id(), 0)) {
            if (JobEvent.STEP.equals(e.type()) && Phase.SHUTDOWN.label().equals(e.step())) return true;
        }
        return false;
    }

    private Reconciler.Outcome interrupted(Placement p, String why) {
        note("reconciled", why);
        KvmigrateException e = new KvmigrateException(ErrorCode.MIGRATION_FAILED, job.phase(), job.sourceHost(), job.vmName(),
                "Job " + job.id() + " was interrupted: " + why + ".", "Check the VM on both hosts; start the move again if it should move.");
        k.store().update(job.id(), k.owner(), JobUpdate.state(JobState.INTERRUPTED, k.clock().instant()).withPlacement(RecordOutcome.placement(p))
                .withError(JobError.of(e)));
        return new Reconciler.Outcome(job.id(), job.vmName(), "interrupted", why);
    }

    private void note(String action, String reason) {
        k.store().append(JobEvent.of(job.id(), k.clock().instant(), JobEvent.DECISION, job.phase(), action + ": " + reason,
                Map.of("action", action, "reason", reason)));
    }
}
