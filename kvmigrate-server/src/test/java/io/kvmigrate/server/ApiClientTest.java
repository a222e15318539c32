package io.kvmigrate.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobError;
import io.kvmigrate.core.job.JobFigures;
import io.kvmigrate.core.job.JobKind;
import io.kvmigrate.core.job.JobPlacement;
import io.kvmigrate.core.job.JobState;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The client reads a job back from the API's JSON as the store has it (all but the heartbeat, which the API leaves out). */
class ApiClientTest {
    @Test
    void job_readBackFromItsJson_equalsTheStoredJobWithoutHeartbeat() {
        Instant t = Instant.parse("2026-12-01T10:00:00.123Z");
        for (Job j : List.of(
                new Job("j-20261201-100000-aa", JobKind.OFFLINE, "web", "uuid-web", "a", "b", Map.of("kind", "OFFLINE", "fromUri", "qemu:///a"),
                        JobState.FAILED, "copy-storage", "srv:1:aa", t, t.plusSeconds(1), t.plusSeconds(9), null, true,
                        new JobFigures(8000L, null, 1L << 33, 3L, 7000L), new JobPlacement(List.of("a"), List.of("a", "b"), null),
                        new JobError("VERIFY_FAILED", "copy-storage", "b", "web", "digest differs", "check the pool")),
                new Job("j-20261201-100000-bb", JobKind.LIVE, "db", null, "a", "b", Map.of(), JobState.INTERRUPTED, null, null, t, null, t,
                        null, false, JobFigures.NONE, JobPlacement.unknown("could not read b"), null),
                Job.queued("j-20261201-100000-cc", JobKind.LIVE_COPY_STORAGE, "x", "u", "a", "b", Map.of("policy", "safe"), null, t))) {
            assertThat(ApiClient.job(JsonViews.job(j, s -> s))).isEqualTo(j);
        }
    }
}
