package io.kvmigrate.core.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JobModelTest {
    private static final Instant T0 = Instant.parse("2026-12-01T10:35:12.987654Z");

    @Test
    void isTerminal_onlyTheFourEndStates() {
        assertThat(JobState.values()).filteredOn(JobState::isTerminal)
                .containsExactly(JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.INTERRUPTED);
    }

    @Test
    void newJobId_sortsByTimeAndSaysWhen() {
        String a = JobIds.newJobId(T0);
        String b = JobIds.newJobId(T0.plusSeconds(1));
        assertThat(a).matches("j-20261201-103512-[0-9a-f]{6}");
        assertThat(a.compareTo(b)).isNegative();
        assertThat(JobIds.newOwnerId()).matches(".+:" + ProcessHandle.current().pid() + ":[0-9a-f]{4}");
    }

    @Test
    void job_keepsMillisecondsAndSortedUnmodifiableRequest() {
        Job j = Job.queued("j-1", JobKind.LIVE, "web01", null, "kvm1", "kvm2", Map.of("z", "1", "a", "2"), "o", T0);
        assertThat(j.createdAt()).isEqualTo(Instant.parse("2026-12-01T10:35:12.987Z"));
        assertThat(j.heartbeatAt()).isEqualTo(j.createdAt());
        assertThat(j.request().keySet()).containsExactly("a", "z");
        assertThatThrownBy(() -> j.request().put("b", "3")).isInstanceOf(UnsupportedOperationException.class);
        Map<String, String> withNull = new HashMap<>();
        withNull.put("policy", null);
        assertThatThrownBy(() -> Job.queued("j-2", JobKind.LIVE, "x", null, "a", "b", withNull, null, T0))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void cancelRequestedAt_queuedCancelsRunningFlagsEndedStays() {
        Job queued = Job.queued("j-1", JobKind.LIVE, "web01", null, "kvm1", "kvm2", null, null, T0);
        Job cancelled = queued.cancelRequestedAt(T0.plusSeconds(1));
        assertThat(cancelled.state()).isEqualTo(JobState.CANCELLED);
        assertThat(cancelled.endedAt()).isNotNull();
        Job running = JobUpdate.state(JobState.RUNNING, T0).applyTo(queued);
        assertThat(running.cancelRequestedAt(T0).state()).isEqualTo(JobState.RUNNING);
        assertThat(running.cancelRequestedAt(T0).cancelRequested()).isTrue();
        assertThat(cancelled.cancelRequestedAt(T0.plusSeconds(9))).isSameAs(cancelled);
    }

    @Test
    void event_normalizesNumbersAndRefusesWhatJsonCannotHold() {
        JobEvent e = JobEvent.of("j-1", T0, JobEvent.PROGRESS, "transfer", "m",
                Map.of("i", 3, "s", (short) 2, "f", 0.5f, "l", List.of(1, Map.of("b", (byte) 1))));
        assertThat(e.data()).isEqualTo(Map.of("i", 3L, "s", 2L, "f", 0.5, "l", List.of(1L, Map.of("b", 1L))));
        assertThatThrownBy(() -> JobEvent.of("j-1", T0, "log", null, "m", Map.of("when", T0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("data.when");
        assertThatThrownBy(() -> JobEvent.of("j-1", T0, "log", null, "m", Map.of("x", List.of(Double.NaN))))
                .hasMessageContaining("data.x[0]");
    }

    @Test
    void keyOf_prefersTheUuidInLowerCase() {
        assertThat(VmLock.keyOf(" 4F2A-B ", "kvm1", "web01")).isEqualTo("uuid:4f2a-b");
        assertThat(VmLock.keyOf(null, "kvm1", "web01")).isEqualTo("name:kvm1/web01");
    }

    @Test
    void jobError_ofException_keepsWhereAndHint() {
        JobError e = JobError.of(new KvmigrateException(ErrorCode.TIMEOUT, "transfer", "kvm1", "web01", "Timed out", "Raise the timeout"));
        assertThat(e).isEqualTo(new JobError("TIMEOUT", "transfer", "kvm1", "web01", "Timed out", "Raise the timeout"));
    }

    @Test
    void placement_knownUnknownOrPartlyKnown_neverSaysNoHostForAHostThatWasNotRead() {
        assertThat(JobPlacement.known(List.of("a"), List.of("a", "b")).toString()).isEqualTo("running on a; defined on a, b");
        assertThat(JobPlacement.unknown("kvm2 unreachable").isKnown()).isFalse();
        assertThat(JobPlacement.unknown("kvm2 unreachable").toString()).isEqualTo("placement unknown: kvm2 unreachable");
        JobPlacement partial = JobPlacement.partial(List.of("a"), List.of("a"), "b could not be read: connection refused");
        assertThat(partial.isKnown()).isFalse();
        assertThat(partial.toString()).isEqualTo("as far as could be read: running on a; defined on a; unknown: b could not be read: connection refused");
    }
}
