package io.kvmigrate.store;

import io.kvmigrate.core.job.JobStore;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The contract on the embedded store: each instance is its own connection pool on one SQLite file. */
class SqliteJobStoreTest extends JobStoreContract {
    @TempDir
    Path dir;

    @Override
    protected JobStore openInstance() {
        return JobStores.open("jdbc:sqlite:" + dir.resolve("jobs.db"));
    }
}
