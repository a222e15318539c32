package io.kvmigrate.core.preflight;

import io.kvmigrate.core.model.HostInventory.GuestView;
import java.util.ArrayList;
import java.util.List;

/**
 * Snapshots (their metadata stays on the source host) and running block jobs (copy, commit, pull) stop a live
 * migration; libvirt refuses both, so kvmigrate says so before anything moves.
 */
public final class SnapshotsAndJobsCheck implements Check {
    @Override
    public String name() {
        return "SNAPSHOTS_JOBS";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        GuestView g = ctx.source().guest();
        List<Finding> out = new ArrayList<>();
        if (g == null || g.snapshots() < 0) {
            out.add(Finding.warn("SNAPSHOTS_UNKNOWN", name(), null, null, "The source did not report the VM's snapshots.",
                    "Check 'virsh snapshot-list " + ctx.vm().name() + "' on the source."));
        } else if (g.snapshots() > 0) {
            String msg = "The VM has " + g.snapshots() + " snapshot(s); their metadata lives on the source host.";
            String hint = "Delete or externalise the snapshots first (virsh snapshot-delete " + ctx.vm().name() + " NAME), then migrate.";
            out.add(ctx.live() ? Finding.fail("SNAPSHOTS_PRESENT", name(), String.valueOf(g.snapshots()), null, msg, hint)
                    : Finding.warn("SNAPSHOTS_PRESENT", name(), String.valueOf(g.snapshots()), null, msg, hint));
        }
        if (g != null && !g.blockJobs().isEmpty()) {
            out.add(Finding.fail("BLOCK_JOB_ACTIVE", name(), String.join(", ", g.blockJobs()), null, "Block job(s) are running on disk(s) "
                    + String.join(", ", g.blockJobs()) + ".", "Wait for them or abort them (virsh blockjob " + ctx.vm().name()
                    + " DISK --abort), then migrate."));
        }
        if (out.isEmpty()) out.add(Finding.pass(name(), "0", null, "No snapshots, no block jobs."));
        return out;
    }
}
