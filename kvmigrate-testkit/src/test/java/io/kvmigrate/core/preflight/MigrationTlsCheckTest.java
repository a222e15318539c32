package io.kvmigrate.core.preflight;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.engine.ConvergencePolicy;
import io.kvmigrate.core.engine.LiveMigration;
import io.kvmigrate.core.model.DiskSpec;
import io.kvmigrate.core.model.MigrationRequest;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.FaultPlan.Op;
import io.kvmigrate.testkit.ManualScheduler;
import io.kvmigrate.testkit.MutableClock;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Preflight of a TLS migration stream: the target's QEMU certificates, read through the storage API of the fake hosts. */
class MigrationTlsCheckTest {
    private static final byte[] PEM = "-----BEGIN-----\n".getBytes(StandardCharsets.US_ASCII);
    private final FakeHypervisor hv = new FakeHypervisor();
    private FakeHypervisor.FakeHost a;
    private FakeHypervisor.FakeHost b;
    private VmInfo info;

    @BeforeEach
    void hosts() {
        a = hv.addHost("a");
        b = hv.addHost("b");
        hv.shareDirectory("/nfs");
        a.put(new VmSpec("web", "uuid-web", "kvm", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", 1 << 20, 1, null,
                List.of(new DiskSpec("vda", "disk", "file", "/nfs/web.img", "raw", null, null, false, false)), List.of(), List.of(),
                "<domain/>"), VmState.RUNNING, true);
        a.putFile("/nfs/web.img", new byte[4096]);
        info = a.findVm("web").orElseThrow();
    }

    private List<Finding> tlsFindings(boolean tls) {
        return Preflight.standard().run(a, b, info, Mode.LIVE, tls).findings().stream().filter(f -> f.check().equals("MIGRATION_TLS")).toList();
    }

    private void certificates(String dir, String... files) {
        for (String f : files) b.putFile(dir + "/" + f, PEM);
    }

    @Test
    void check_certificatesWhereQemuConfPoints_passes() {
        b.putFile("/etc/libvirt/qemu.conf", "# migrate_tls_x509_cert_dir = \"/nowhere\"\nmigrate_tls_x509_cert_dir = \"/etc/libvirt/pki/qemu\"\n"
                .getBytes(StandardCharsets.UTF_8));
        certificates("/etc/libvirt/pki/qemu", "ca-cert.pem", "server-cert.pem", "server-key.pem");

        assertThat(tlsFindings(true)).singleElement().satisfies(f -> {
            assertThat(f.severity()).isEqualTo(Severity.PASS);
            assertThat(f.message()).contains("/etc/libvirt/pki/qemu");
        });
    }

    @Test
    void check_targetLacksTheServerCertificate_failsNamingTheFilesTheDirectoryAndTheSetting() {
        b.putFile("/etc/libvirt/qemu.conf", "default_tls_x509_cert_dir = \"/etc/pki/libvirt-qemu\"\n".getBytes(StandardCharsets.UTF_8));
        certificates("/etc/pki/libvirt-qemu", "ca-cert.pem");

        assertThat(tlsFindings(true)).singleElement().satisfies(f -> {
            assertThat(f.severity()).isEqualTo(Severity.FAIL);
            assertThat(f.code()).isEqualTo("TLS_CERTIFICATES_MISSING");
            assertThat(f.message()).contains("'b' lacks server-cert.pem, server-key.pem in /etc/pki/libvirt-qemu")
                    .contains("default_tls_x509_cert_dir in /etc/libvirt/qemu.conf").doesNotContain("ca-cert.pem");
            assertThat(f.hint()).contains("/etc/pki/libvirt-qemu on 'b'").contains("{tls}");
        });
    }

    @Test
    void check_noQemuConfAndNoCertificates_looksInQemusDefaultDirectory() {
        certificates("/etc/libvirt/pki/qemu", "ca-cert.pem", "server-cert.pem", "server-key.pem"); // not where QEMU looks by default

        assertThat(tlsFindings(true)).singleElement().satisfies(f -> {
            assertThat(f.code()).isEqualTo("TLS_CERTIFICATES_MISSING");
            assertThat(f.message()).contains("ca-cert.pem, server-cert.pem, server-key.pem in /etc/pki/qemu (QEMU's default)");
        });
    }

    @Test
    void check_targetUnreadable_warnsSayingWhat() {
        hv.faults().on("b", Op.READ_PROBE).of("/etc/libvirt").fail(ErrorCode.LIBVIRT_ERROR, "permission denied");

        assertThat(tlsFindings(true)).singleElement().satisfies(f -> {
            assertThat(f.severity()).isEqualTo(Severity.WARN);
            assertThat(f.code()).isEqualTo("TLS_CERTIFICATES_UNKNOWN");
            assertThat(f.message()).contains("permission denied");
        });
    }

    @Test
    void check_noTlsAskedFor_saysNothingAndReadsNothing() {
        assertThat(tlsFindings(false)).isEmpty();
        assertThat(hv.faults().fired()).isEmpty();
    }

    @Test
    void setting_lastUncommentedLineWins() {
        assertThat(MigrationTlsFacts.setting("#migrate_tls_x509_cert_dir = \"/a\"\n  migrate_tls_x509_cert_dir=\"/b\"\nmigrate_tls_x509_cert_dir = \"/c\"",
                "migrate_tls_x509_cert_dir")).hasValue("/c");
        assertThat(MigrationTlsFacts.setting("# migrate_tls_x509_cert_dir = \"/a\"", "migrate_tls_x509_cert_dir")).isEmpty();
        assertThat(MigrationTlsFacts.setting("migrate_tls_x509_verify = 1", "migrate_tls_x509_cert_dir")).isEmpty();
    }

    /** Before this check, a TLS move towards a target without certificates started and failed in the hypervisor. */
    @Test
    void liveMigration_tlsTowardsATargetWithoutCertificates_refusedInCheckBeforeAnythingStarts() {
        MutableClock clock = new MutableClock();
        LiveMigration m = new LiveMigration(a, b, clock, new ManualScheduler(clock), e -> { }, Duration.ofMillis(500), ConvergencePolicy.PLAIN)
                .tls(true);

        assertThatThrownBy(() -> m.start(new MigrationRequest("web", a.host(), b.host(), 0, 300, null), Set.of()))
                .isInstanceOfSatisfying(KvmigrateException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.PREFLIGHT_FAILED);
                    assertThat(e.step()).isEqualTo("check");
                    assertThat(e.getMessage()).contains("TLS_CERTIFICATES_MISSING");
                });
        assertThat(a.lastMigration).isNull();
    }
}
