package io.kvmigrate.core.spi;

import io.kvmigrate.core.model.JobStats;
import java.util.concurrent.CompletionStage;

/** A running migration job on the source host. */
public interface MigrationHandle {
    /** Current statistics; {@link JobStats#NONE} when the job has not started or just ended. */
    JobStats stats();

    /** Asks the hypervisor to abort and returns at once; completion then fails with the abort's error. May be repeated. */
    void abort();

    void setMaxDowntime(long millis);

    void setBandwidth(long mibPerSecond);

    void startPostCopy();

    /**
     * Holds each of the VM's vCPUs to at most {@code mibPerSecondPerVcpu} of dirtied memory (QEMU's per-vCPU dirty limit;
     * needs KVM and the guest's dirty ring). The limit is the source's: the hypervisor adapter lifts it again when the
     * migration ends without moving the VM, so the guest never keeps running slowed where it was.
     */
    default void setDirtyLimit(long mibPerSecondPerVcpu) {
        throw new io.kvmigrate.core.api.KvmigrateException(io.kvmigrate.core.api.ErrorCode.MIGRATION_FAILED, "migrate", null, null,
                "This hypervisor connection has no per-vCPU dirty limit.", null);
    }

    /** Completes when the hypervisor call returns; exceptionally with a KvmigrateException on failure. */
    CompletionStage<Void> completion();
}
