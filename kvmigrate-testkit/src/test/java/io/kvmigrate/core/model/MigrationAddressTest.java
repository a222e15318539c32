package io.kvmigrate.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.api.MoveRequest;
import io.kvmigrate.core.job.JobKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MigrationAddressTest {
    private static final HostRef A = new HostRef("a", "qemu+tcp://a/system");
    private static final HostRef B = new HostRef("b", "qemu+tcp://b/system");

    @Test
    void parse_hostAlone_letsTheTargetPickThePort() {
        MigrationAddress a = MigrationAddress.parse("10.0.1.12", null);
        assertThat(a.host()).isEqualTo("10.0.1.12");
        assertThat(a.port()).isZero();
        assertThat(a.uri()).isEqualTo("tcp://10.0.1.12");
        assertThat(a.listen()).isNull();
    }

    @Test
    void parse_hostAndPortAndListen() {
        MigrationAddress a = MigrationAddress.parse("mig-b.example.org:49300", "10.0.1.12");
        assertThat(a.uri()).isEqualTo("tcp://mig-b.example.org:49300");
        assertThat(a.listen()).isEqualTo("10.0.1.12");
        assertThat(a.text()).isEqualTo("mig-b.example.org:49300");
    }

    @Test
    void parse_ipv6_bracketsInTheUri() {
        assertThat(MigrationAddress.parse("[fd00::12]:49300", null).uri()).isEqualTo("tcp://[fd00::12]:49300");
        assertThat(MigrationAddress.parse("fd00::12", null).uri()).isEqualTo("tcp://[fd00::12]");
        assertThat(MigrationAddress.parse("[fd00::12]:49300", null).text()).isEqualTo("[fd00::12]:49300");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "a b", "h:0", "h:65536", "h:x", "h:", ":49300", "tcp://h", "tcp://h:1", "h;reboot", "-h", "h-", "[::1", "[::1]x",
            "h/x", "h@x", "a..b", "h:1:2:x", "$(id)", "\u0001"})
    void parse_bad_isInvalidInputNamingTheField(String text) {
        assertThatThrownBy(() -> MigrationAddress.parse(text, null)).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_INPUT);
            assertThat(e.getMessage()).contains("{migrationAddress}");
        });
    }

    @Test
    void parse_badListen_isInvalidInputNamingTheField() {
        assertThatThrownBy(() -> MigrationAddress.parse("10.0.1.12", "0.0.0.0 x")).isInstanceOfSatisfying(KvmigrateException.class,
                e -> assertThat(e.getMessage()).contains("{migrationListen}"));
    }

    @Test
    void moveRequest_keepsTheAddressThroughTheJobHistory() {
        MoveRequest r = MoveRequest.live("web", A, B).withMigrationAddress(MigrationAddress.parse("10.0.1.12:49300", "0.0.0.0")).validate();
        MoveRequest back = MoveRequest.fromMap("web", A, B, r.asMap());
        assertThat(back.migrationAddress()).isEqualTo(r.migrationAddress());
        assertThat(MoveRequest.fromMap("web", A, B, MoveRequest.live("web", A, B).asMap()).migrationAddress()).isNull();
        assertThat(MoveRequest.FIELDS).contains("migrationAddress", "migrationListen");
    }

    @Test
    void liveMigration_passesTheAddressToTheHypervisor() {
        io.kvmigrate.testkit.FakeHypervisor hv = new io.kvmigrate.testkit.FakeHypervisor();
        io.kvmigrate.testkit.FakeHypervisor.FakeHost src = hv.addHost("a");
        io.kvmigrate.testkit.FakeHypervisor.FakeHost dst = hv.addHost("b");
        hv.shareDirectory("/nfs");
        src.put(new VmSpec("web", "uuid-web", "kvm", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", 1 << 20, 1, null,
                java.util.List.of(new DiskSpec("vda", "disk", "file", "/nfs/web.img", "raw", null, null, false, false)), java.util.List.of(),
                java.util.List.of(), "<domain/>"), VmState.RUNNING, true);
        src.putFile("/nfs/web.img", new byte[4096]);
        io.kvmigrate.testkit.MutableClock clock = new io.kvmigrate.testkit.MutableClock();
        MigrationAddress address = MigrationAddress.parse("10.0.1.12:49300", null);
        new io.kvmigrate.core.engine.LiveMigration(src, dst, clock, new io.kvmigrate.testkit.ManualScheduler(clock), e -> { },
                java.time.Duration.ofMillis(500), io.kvmigrate.core.engine.ConvergencePolicy.PLAIN).migrationAddress(address)
                .start(new MigrationRequest("web", src.host(), dst.host(), 0, 0, null));
        assertThat(src.lastOptions.migrationAddress()).isEqualTo(address);
    }

    @Test
    void moveRequest_offlineWithAnAddress_isInvalidInput() {
        MoveRequest r = MoveRequest.live("web", A, B).withKind(JobKind.OFFLINE).withMigrationAddress(MigrationAddress.parse("10.0.1.12", null));
        assertThatThrownBy(r::validate).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_INPUT);
            assertThat(e.getMessage()).contains("{migrationAddress}").contains("offline move");
        });
    }
}
