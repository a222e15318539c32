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

    /** Completes when the hypervisor call returns; exceptionally with a KvmigrateException on failure. */
    CompletionStage<Void> completion();
}
