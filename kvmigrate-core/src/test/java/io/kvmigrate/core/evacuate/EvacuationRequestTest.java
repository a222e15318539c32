package io.kvmigrate.core.evacuate;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.HostRef;
import java.util.List;
import org.junit.jupiter.api.Test;

class EvacuationRequestTest {
    static final HostRef A = new HostRef("a", "qemu+tcp://a/system");
    static final HostRef B = new HostRef("b", "qemu+tcp://b/system");

    static void invalid(EvacuationRequest r, String message) {
        assertThatThrownBy(r::validate).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            org.assertj.core.api.Assertions.assertThat(e.code()).isEqualTo(ErrorCode.INVALID_INPUT);
            org.assertj.core.api.Assertions.assertThat(e.getMessage()).contains(message).doesNotContain("--");
        });
    }

    @Test
    void validate_badFields_areNamedAsTokens() {
        invalid(EvacuationRequest.of(A, List.of(B)).withLimits(new DrainLimits(0, 1, 1)), "{maxParallel} must be 1..");
        invalid(EvacuationRequest.of(A, List.of(B)).withLimits(new DrainLimits(2, 1, 0)), "{maxInPerHost}");
        invalid(EvacuationRequest.of(A, List.of(B)).withBandwidth(-1), "{bandwidth}");
        invalid(EvacuationRequest.of(A, List.of(B)).withLimits(new DrainLimits(4, 4, 4)).withBandwidth(3), "cannot be divided among 4");
        invalid(EvacuationRequest.of(A, List.of()), "No target");
        invalid(EvacuationRequest.of(A, List.of(A, B)), "is being evacuated and cannot be a target");
        invalid(EvacuationRequest.of(A, List.of(B, B)), "given twice in {to}");
    }
}
