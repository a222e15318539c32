package io.kvmigrate.core.preflight;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.model.HostFacts;
import io.kvmigrate.core.model.HostInventory;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import java.util.List;
import org.junit.jupiter.api.Test;

class EmulatedGuestCheckTest {
    private static PreflightContext ctx(String domainType, long qemu, Mode mode) {
        VmSpec spec = new VmSpec("web", "u", domainType, "x86_64", "pc", "/usr/bin/qemu-system-x86_64", 1 << 20, 1, null, List.of(),
                List.of(), List.of(), "<domain/>");
        HostFacts f = new HostFacts("h", "uuid", "x86_64", "Intel", "m", 2, 1 << 24, 1 << 23, 9_000_000, qemu, 1);
        HostInventory inv = new HostInventory(f, null, null, null, null, null, List.of(), HostInventory.GuestView.UNKNOWN);
        return new PreflightContext(new VmInfo(spec, VmState.RUNNING, true), mode, "a", "b", inv, inv, List.of());
    }

    @Test
    void check_emulatedGuestLiveOnQemu72_failsOverridablyWithCodeAndFix() {
        List<Finding> f = new EmulatedGuestCheck().check(ctx("qemu", 7_002_022, Mode.LIVE));
        assertThat(f).singleElement().satisfies(x -> {
            assertThat(x.severity()).isEqualTo(Severity.FAIL);
            assertThat(x.overridable()).isTrue();
            assertThat(x.code()).isEqualTo("TCG_DIRTY_TRACKING");
            assertThat(x.message()).contains("7.2.22").contains("9.0");
            assertThat(x.hint()).contains("offline");
        });
    }

    @Test
    void check_kvmGuestFixedQemuOrOffline_passes() {
        assertThat(new EmulatedGuestCheck().check(ctx("kvm", 7_002_022, Mode.LIVE))).singleElement()
                .satisfies(x -> assertThat(x.severity()).isEqualTo(Severity.PASS));
        assertThat(new EmulatedGuestCheck().check(ctx("qemu", 9_001_000, Mode.LIVE_COPY_STORAGE))).singleElement()
                .satisfies(x -> assertThat(x.severity()).isEqualTo(Severity.PASS));
        assertThat(new EmulatedGuestCheck().check(ctx("qemu", 7_002_022, Mode.OFFLINE))).singleElement()
                .satisfies(x -> assertThat(x.severity()).isEqualTo(Severity.PASS));
    }
}
