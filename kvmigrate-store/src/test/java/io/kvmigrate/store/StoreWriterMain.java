package io.kvmigrate.store;

import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.core.job.JobFigures;
import io.kvmigrate.core.job.JobKind;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.core.job.JobStore;
import io.kvmigrate.core.job.JobUpdate;
import java.time.Instant;
import java.util.Map;

/**
 * A writer for {@link KilledWriterTest}, run as its own JVM: creates a job, locks its VM and appends events until it is
 * killed, printing "appended N" after each append has returned (so is durable). Gives up after 2 minutes on its own, in
 * case its test died without killing it.
 */
public final class StoreWriterMain {
    public static void main(String[] args) {
        String url = args[0];
        String jobId = args[1];
        long deadline = System.nanoTime() + 120_000_000_000L;
        try (JobStore store = JobStores.open(url)) {
            Instant now = Instant.now();
            store.create(Job.queued(jobId, JobKind.LIVE, "vm-" + jobId, "uuid-" + jobId, "kvm1", "kvm2", Map.of("policy", "finish"), "writer", now));
            store.update(jobId, "writer", JobUpdate.state(JobState.RUNNING, now).withPhase("transfer"));
            if (!store.lockVm("uuid:uuid-" + jobId, jobId, "writer", now)) throw new IllegalStateException("lock refused");
            System.out.println("started");
            for (long i = 1; System.nanoTime() < deadline; i++) {
                long seq = store.append(JobEvent.of(jobId, Instant.now(), JobEvent.PROGRESS, "transfer", "pass " + i,
                        Map.of("i", i, "payload", "x".repeat(200)))).seq();
                System.out.println("appended " + seq);
                if (i % 5 == 0) {
                    store.update(jobId, "writer", JobUpdate.figures(new JobFigures(null, null, i * 1000, i, null)));
                    store.heartbeat(jobId, "writer", Instant.now());
                }
            }
        }
    }
}
