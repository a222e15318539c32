package io.kvmigrate.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class StepRunnerTest {
    /** A clock that moves 10 ms each time it is read. */
    private static Clock ticking() {
        return new Clock() {
            private Instant now = Instant.parse("2026-12-01T00:00:00Z");

            @Override
            public synchronized Instant instant() {
                now = now.plus(Duration.ofMillis(10));
                return now;
            }

            @Override
            public ZoneOffset getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }
        };
    }

    @Test
    void run_announcesEachStepBeforeItRunsInOrderAndTimesIt() {
        List<String> seen = new ArrayList<>();
        StepRunner steps = new StepRunner(ticking(), e -> seen.add(((MigrationEvent.PhaseStarted) e).phase().label()), "kvm1", "web");
        String vm = steps.run(Phase.RESOLVE, "looking up web", () -> {
            seen.add("resolving");
            return "web";
        });
        steps.run(Phase.CHECK, "preflight", () -> seen.add("checking"));
        assertThat(vm).isEqualTo("web");
        assertThat(seen).containsExactly("resolve", "resolving", "check", "checking");
        assertThat(steps.times()).extracting(StepRunner.StepTime::phase).containsExactly(Phase.RESOLVE, Phase.CHECK);
        assertThat(steps.times()).allSatisfy(t -> {
            assertThat(t.millis()).isEqualTo(10);
            assertThat(t.failed()).isFalse();
        });
    }

    @Test
    void run_unexpectedException_becomesAnErrorNamingStepHostAndVm_andLaterStepsDoNotRun() {
        List<Phase> seen = new ArrayList<>();
        StepRunner steps = new StepRunner(ticking(), e -> seen.add(((MigrationEvent.PhaseStarted) e).phase()), "kvm1", "web");
        assertThatThrownBy(() -> {
            steps.run(Phase.RESOLVE, "x", () -> {
                throw new IllegalStateException("boom");
            });
            steps.run(Phase.CHECK, "never", () -> { });
        }).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL);
            assertThat(e.step()).isEqualTo("resolve");
            assertThat(e.host()).isEqualTo("kvm1");
            assertThat(e.vm()).isEqualTo("web");
            assertThat(e.getMessage()).contains("boom");
        });
        assertThat(seen).containsExactly(Phase.RESOLVE);
        assertThat(steps.times()).singleElement().satisfies(t -> assertThat(t.failed()).isTrue());
    }

    @Test
    void run_kvmigrateException_passesThroughAsItIs() {
        KvmigrateException refusal = new KvmigrateException(ErrorCode.PREFLIGHT_FAILED, "check", "kvm2", "web", "no", null);
        StepRunner steps = new StepRunner(ticking(), EventListener.NONE, "kvm1", "web");
        assertThatThrownBy(() -> steps.run(Phase.CHECK, "x", () -> {
            throw refusal;
        })).isSameAs(refusal);
    }

    @Test
    void run_kvmigrateExceptionWithoutStepOrVm_getsThemKeepingItsHostAndMessage() {
        KvmigrateException adapter = new KvmigrateException(ErrorCode.LIBVIRT_ERROR, null, "kvm2", null, "Tried to refresh", "see the log");
        StepRunner steps = new StepRunner(ticking(), EventListener.NONE, "kvm1", "web");
        assertThatThrownBy(() -> steps.run(Phase.VERIFY_STORAGE, "x", () -> {
            throw adapter;
        })).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.step()).isEqualTo("verify-storage");
            assertThat(e.host()).isEqualTo("kvm2");
            assertThat(e.vm()).isEqualTo("web");
            assertThat(e.code()).isEqualTo(ErrorCode.LIBVIRT_ERROR);
            assertThat(e.getMessage()).isEqualTo("Tried to refresh");
            assertThat(e.hint()).isEqualTo("see the log");
        });
    }

    @Test
    void run_brokenListener_doesNotStopTheStep() {
        StepRunner steps = new StepRunner(ticking(), e -> {
            throw new IllegalStateException("front end died");
        }, "kvm1", "web");
        assertThat(steps.run(Phase.RESOLVE, "x", () -> 42)).isEqualTo(42);
    }
}
