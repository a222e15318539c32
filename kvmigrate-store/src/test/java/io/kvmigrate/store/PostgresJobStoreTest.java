package io.kvmigrate.store;

import io.kvmigrate.core.job.JobStore;
import org.junit.jupiter.api.BeforeEach;

/** The contract on a real PostgreSQL server ({@link PostgresServer}); each test has a schema of its own. */
class PostgresJobStoreTest extends JobStoreContract {
    private String url;

    @BeforeEach
    void schema() {
        url = PostgresServer.shared().newSchemaUrl();
    }

    @Override
    protected JobStore openInstance() {
        return JobStores.open(url);
    }
}
