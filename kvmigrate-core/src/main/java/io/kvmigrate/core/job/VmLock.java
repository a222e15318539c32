package io.kvmigrate.core.job;

import java.time.Instant;
import java.util.Locale;

/**
 * A job's hold on a VM: while it exists no other job may move that VM. The lock belongs to the job, not to a
 * process: whoever owns the job holds it, so adopting an orphaned job takes its locks over, and a lock whose job has
 * ended holds nothing.
 *
 * @param owner the controller that owns the holding job now
 */
public record VmLock(String vmKey, String jobId, String owner, Instant lockedAt) {
    public VmLock {
        lockedAt = Job.millis(lockedAt);
    }

    /**
     * The lock key of a VM: {@code uuid:<uuid>} (lower case) when its UUID is known, which names the VM on every host
     * it moves between (a move back from the target collides with a move still running); else {@code
     * name:<host>/<name>}, which only collides with moves from the same host. Resolve the UUID before locking.
     */
    public static String keyOf(String vmUuid, String host, String vmName) {
        if (vmUuid != null && !vmUuid.isBlank()) return "uuid:" + vmUuid.trim().toLowerCase(Locale.ROOT);
        return "name:" + host + "/" + vmName;
    }
}
