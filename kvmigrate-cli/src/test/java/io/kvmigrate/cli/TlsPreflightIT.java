package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.lab.guest.TestGuest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Preflight of {@code migrate --tls} on the lab: with the target's QEMU server certificate and key taken out of the
 * directory its qemu.conf names (LabTls installs them), the move is refused in check with every missing file named and
 * nothing changed; with them back, the same move succeeds.
 */
class TlsPreflightIT {

    @Test
    void migrateTls_targetWithoutServerCertificate_refusedInCheckNamingTheFiles_thenSucceedsWithThem() throws Exception {
        String vm = "it-tls-check";
        ItLab.startGuest(vm, TestGuest.Params.defaults().withSpanMiB(16));
        Path certs = ItLab.host(1).dir().resolve("etc/libvirt/pki/qemu");
        List<String> taken = List.of("server-cert.pem", "server-key.pem");
        assertThat(certs.resolve("ca-cert.pem")).as("the lab's QEMU certificates (openssl)").exists();
        String[] move = {"migrate", vm, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--tls", "--json"};
        FaultInvariants.Before before = FaultInvariants.before(vm, 0, 1, List.of());
        try {
            for (String f : taken) Files.move(certs.resolve(f), certs.resolve(f + ".away"), StandardCopyOption.REPLACE_EXISTING);
            ItLab.Run refused = ItLab.cli(move);

            assertThat(refused.exit()).as(refused.out()).isEqualTo(ErrorCode.PREFLIGHT_FAILED.exitCode());
            JsonNode j = Output.json().readTree(refused.out());
            assertThat(j.path("error").path("step").asText()).isEqualTo("check");
            assertThat(refused.out()).contains("TLS_CERTIFICATES_MISSING").contains("server-cert.pem, server-key.pem in /etc/libvirt/pki/qemu")
                    .contains("migrate_tls_x509_cert_dir");
            FaultInvariants.errorNamesJobStepHostAndVm(j, vm);
            before.nothingLeftOnTarget();
            FaultInvariants.awaitRunningOnlyOn(vm, 0);
            FaultInvariants.counting(0, vm);
        } finally {
            for (String f : taken) {
                if (Files.exists(certs.resolve(f + ".away"))) Files.move(certs.resolve(f + ".away"), certs.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        try {
            before.retrySucceeds(move);
        } finally {
            ItLab.removeEverywhereQuietly(vm);
        }
    }
}
