package io.kvmigrate.store;

import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobKind;
import io.kvmigrate.core.job.JobStore;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;

/**
 * An opener for {@link JobStoresTest}, run as its own JVM next to another: opens {@code count} new SQLite files in
 * {@code dir} one after another, file i at {@code startMillis + i * SLOT_MS} on the wall clock so the other process
 * opens it at the same millisecond, writes a job to each and prints "opened N". Exits non-zero, with the error on
 * stderr, at the first failure.
 */
public final class StoreOpenerMain {
    static final long SLOT_MS = 100;

    public static void main(String[] args) throws InterruptedException {
        Path dir = Path.of(args[0]);
        String who = args[1];
        int count = Integer.parseInt(args[2]);
        long startMillis = Long.parseLong(args[3]);
        for (int i = 0; i < count; i++) {
            long slot = startMillis + i * SLOT_MS;
            long wait = slot - System.currentTimeMillis() - 5;
            if (wait > 0) Thread.sleep(wait);
            while (System.currentTimeMillis() < slot) Thread.onSpinWait(); // sleep wakes a millisecond or two late, unevenly
            try (JobStore store = JobStores.open("jdbc:sqlite:" + dir.resolve("race-" + i).resolve("jobs.db"))) {
                store.create(Job.queued("j-" + who, JobKind.LIVE, "vm", "uuid-" + who + "-" + i, "kvm1", "kvm2", Map.of(), who, Instant.now()));
            }
            System.out.println("opened " + (i + 1));
        }
    }
}
