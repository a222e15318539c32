package io.kvmigrate.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.testkit.FakeHypervisor;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The verify step shared by live and offline moves, on the fake hypervisor: success only for the promised placement. */
class VerifyPlacementTest {
    private final FakeHypervisor hv = new FakeHypervisor();
    private final FakeHypervisor.FakeHost a = hv.addHost("a");
    private final FakeHypervisor.FakeHost b = hv.addHost("b");

    private static VmSpec web() {
        return new VmSpec("web", "uuid-web", "kvm", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", 1 << 20, 1, null, List.of(), List.of(),
                List.of(), "<domain/>");
    }

    private Placement live() {
        try (HostSession s = hv.open(a.host()); HostSession t = hv.open(b.host())) {
            return VerifyPlacement.live("web", s, t);
        }
    }

    private Placement offline(boolean kept, boolean started) {
        try (HostSession s = hv.open(a.host()); HostSession t = hv.open(b.host())) {
            return VerifyPlacement.offline("web", s, t, kept, started);
        }
    }

    private static void verifyFails(Runnable r) {
        assertThatThrownBy(r::run).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.VERIFY_FAILED);
            assertThat(e.step()).isEqualTo("verify");
            assertThat(e.vm()).isEqualTo("web");
            assertThat(e.getMessage()).contains("running on").contains("expected");
        });
    }

    @Test
    void live_runningOnlyOnTheTarget_passes() {
        b.put(web(), VmState.RUNNING, true);
        assertThat(live().runningOn()).containsExactly("b");
    }

    @Test
    void live_stillDefinedOnTheSource_orRunningOnBoth_orOnNeither_fails() {
        b.put(web(), VmState.RUNNING, true);
        a.put(web(), VmState.SHUTOFF, true);
        verifyFails(this::live);
        a.put(web(), VmState.RUNNING, false);
        verifyFails(this::live);
        a.removeVm("web");
        b.put(web(), VmState.SHUTOFF, true);
        verifyFails(this::live);
    }

    @Test
    void offline_definedOnTheTargetAndGoneFromTheSource_passes_andKeptSourceMayStay() {
        b.put(web(), VmState.SHUTOFF, true);
        assertThat(offline(false, false).persistentOn()).containsExactly("b");
        a.put(web(), VmState.SHUTOFF, true);
        assertThat(offline(true, false).persistentOn()).containsExactlyInAnyOrder("a", "b");
        b.put(web(), VmState.RUNNING, true);
        assertThat(offline(true, true).runningOn()).containsExactly("b");
    }

    @Test
    void offline_sourceNotRemoved_targetTransient_orNotStartedAsPromised_fails() {
        b.put(web(), VmState.SHUTOFF, true);
        a.put(web(), VmState.SHUTOFF, true);
        verifyFails(() -> offline(false, false));
        a.removeVm("web");
        b.put(web(), VmState.RUNNING, false);
        verifyFails(() -> offline(false, true));
        b.put(web(), VmState.SHUTOFF, true);
        verifyFails(() -> offline(false, true));
        b.put(web(), VmState.RUNNING, true);
        verifyFails(() -> offline(false, false));
    }
}
