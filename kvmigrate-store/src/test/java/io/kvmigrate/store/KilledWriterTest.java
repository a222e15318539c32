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
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} of a process while it writes leaves a store that reads back whole: the job, every event it had
 * reported as written, seqs without a gap, the VM lock still held (an orphan's lock must outlive it), and room for a
 * new writer to go on.
 */
class KilledWriterTest {
    @TempDir
    Path dir;

    @Test
    void sqlite_writerKilledMidAppend_storeReadsBackAndTakesNewEvents() throws Exception {
        killWriterAndCheck("jdbc:sqlite:" + dir.resolve("jobs.db"));
    }

    @Test
    void postgres_writerKilledMidAppend_storeReadsBackAndTakesNewEvents() throws Exception {
        killWriterAndCheck(PostgresServer.shared().newSchemaUrl());
    }

    private void killWriterAndCheck(String url) throws Exception {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        Path err = dir.resolve("writer.err");
        Process writer = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), StoreWriterMain.class.getName(), url, "j-killed")
                .redirectError(err.toFile()).start();
        long reported = 0;
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(writer.getInputStream(), StandardCharsets.UTF_8));
            for (String line; reported < 40 && (line = out.readLine()) != null; ) {
                if (line.startsWith("appended ")) reported = Long.parseLong(line.substring(9));
            }
            assertThat(reported).as("events the writer reported; its stderr: %s", errText(err)).isGreaterThanOrEqualTo(40);
            writer.destroyForcibly(); // SIGKILL, mid-write as likely as not: it appends as fast as it can
            assertThat(writer.waitFor(30, TimeUnit.SECONDS)).isTrue();
        } finally {
            writer.destroyForcibly();
            writer.waitFor(30, TimeUnit.SECONDS);
        }

        try (JobStore store = JobStores.open(url)) {
            Job job = store.job("j-killed").orElseThrow();
            assertThat(job.state()).isEqualTo(JobState.RUNNING);
            assertThat(job.owner()).isEqualTo("writer");
            List<JobEvent> events = store.events("j-killed", 0);
            assertThat(events.size()).as("every reported event is there").isGreaterThanOrEqualTo((int) reported);
            for (int i = 0; i < events.size(); i++) {
                assertThat(events.get(i).seq()).isEqualTo(i + 1L);
                assertThat(events.get(i).data()).containsEntry("i", i + 1L);
            }
            assertThat(store.vmLock("uuid:uuid-web01")).as("the dead writer's lock holds until its job is reconciled").isPresent();
            assertThat(store.orphans(Instant.now().plusSeconds(60), Duration.ofSeconds(30))).extracting(Job::id).containsExactly("j-killed");

            assertThat(store.adopt("j-killed", "writer", "rescuer", Instant.now().plusSeconds(60), Duration.ofSeconds(30))).isTrue();
            JobEvent next = store.append(JobEvent.of("j-killed", Instant.now(), JobEvent.DECISION, "reconcile", "adopted", Map.of()));
            assertThat(next.seq()).isEqualTo(events.size() + 1L);
        }
    }

    private static String errText(Path err) throws IOException {
        return Files.exists(err) ? Files.readString(err) : "";
    }
}
