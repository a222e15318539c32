package io.kvmigrate.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.core.job.JobStore;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} of processes while they write leaves a store that reads back whole: each job, every event its writer
 * had reported as written, seqs without a gap, the VM locks still held (an orphan's lock must outlive it), and room for
 * a new writer to go on. Three writers share the store at once (real contention between processes), and each kill is
 * one more chance to land between two statements of one write.
 */
class KilledWriterTest {
    private static final int WRITERS = 3;
    private static final long REPORTED = 20;

    @TempDir
    Path dir;

    @Test
    void sqlite_writersKilledMidAppend_storeReadsBackAndTakesNewEvents() throws Exception {
        killWritersAndCheck("jdbc:sqlite:" + dir.resolve("jobs.db"));
    }

    @Test
    void postgres_writersKilledMidAppend_storeReadsBackAndTakesNewEvents() throws Exception {
        killWritersAndCheck(PostgresServer.shared().newSchemaUrl());
    }

    private void killWritersAndCheck(String url) throws Exception {
        JobStores.open(url).close(); // migrate first, so the writers race on writes and not on creating the schema
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<Process> writers = new ArrayList<>();
        long[] reported = new long[WRITERS];
        try {
            for (int w = 0; w < WRITERS; w++) {
                writers.add(new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), StoreWriterMain.class.getName(), url, "j-" + w)
                        .redirectError(dir.resolve("writer-" + w + ".err").toFile()).start());
            }
            for (int w = 0; w < WRITERS; w++) {
                BufferedReader out = new BufferedReader(new InputStreamReader(writers.get(w).getInputStream(), StandardCharsets.UTF_8));
                for (String line; reported[w] < REPORTED && (line = out.readLine()) != null; ) {
                    if (line.startsWith("appended ")) reported[w] = Long.parseLong(line.substring(9));
                }
                assertThat(reported[w]).as("events writer %d reported; its stderr: %s", w, errText(w)).isGreaterThanOrEqualTo(REPORTED);
            }
            // SIGKILL while all three append as fast as they can: mid-write as likely as not.
            for (Process p : writers) p.destroyForcibly();
            for (Process p : writers) assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        } finally {
            for (Process p : writers) p.destroyForcibly();
            for (Process p : writers) p.waitFor(30, TimeUnit.SECONDS);
        }

        try (JobStore store = JobStores.open(url)) {
            Instant later = Instant.now().plusSeconds(60);
            assertThat(store.orphans(later, Duration.ofSeconds(30))).extracting(Job::id).containsExactlyInAnyOrder("j-0", "j-1", "j-2");
            for (int w = 0; w < WRITERS; w++) {
                String id = "j-" + w;
                Job job = store.job(id).orElseThrow();
                assertThat(job.state()).isEqualTo(JobState.RUNNING);
                assertThat(job.owner()).isEqualTo("writer");
                List<JobEvent> events = store.events(id, 0);
                assertThat(events.size()).as("%s: every reported event is there", id).isGreaterThanOrEqualTo((int) reported[w]);
                for (int i = 0; i < events.size(); i++) {
                    assertThat(events.get(i).seq()).as("%s seq", id).isEqualTo(i + 1L);
                    assertThat(events.get(i).data()).containsEntry("i", i + 1L);
                }
                assertThat(store.vmLock("uuid:uuid-" + id)).as("the dead writer's lock holds until its job is reconciled").isPresent();
                assertThat(store.adopt(id, "writer", "rescuer", later, Duration.ofSeconds(30))).isTrue();
                JobEvent next = store.append(JobEvent.of(id, Instant.now(), JobEvent.DECISION, "reconcile", "adopted", Map.of()));
                assertThat(next.seq()).as("%s: the next seq follows the last event read", id).isEqualTo(events.size() + 1L);
            }
        }
    }

    private String errText(int w) throws IOException {
        Path err = dir.resolve("writer-" + w + ".err");
        return Files.exists(err) ? Files.readString(err) : "";
    }
}
