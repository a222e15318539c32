package io.kvmigrate.store;

import io.kvmigrate.core.job.JobStore;
import io.kvmigrate.testkit.InMemoryJobStore;

/** The contract on the testkit's fake, so unit tests on it can trust it behaves like the real stores. */
class InMemoryJobStoreTest extends JobStoreContract {
    private final InMemoryJobStore store = new InMemoryJobStore();

    @Override
    protected JobStore openInstance() {
        return store; // one process's memory: every "instance" is the same store
    }
}
