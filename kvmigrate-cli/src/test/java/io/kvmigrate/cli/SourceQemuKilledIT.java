package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.Poll;
import io.kvmigrate.lab.guest.TestGuest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The source's QEMU killed with SIGKILL mid-transfer (issue 12's matrix). The guest dies with its QEMU: no migration
 * can save a guest whose only running copy is gone. What is promised: a clear failure naming the VM and the source, the
 * definition kept there (persistent, shut off, its disks untouched), nothing left on the target, and the VM can be
 * started again and moved.
 */
class SourceQemuKilledIT {
    private static final TestGuest.Params NON_CONVERGING = TestGuest.Params.defaults().withSpanMiB(64).withDelay(0);

    @Test
    void migrate_sourceQemuKilledMidTransfer_failsNamingVmAndSourceDefinitionKeptNothingOnTarget() throws Exception {
        LabVm.Definition d = ItLab.startGuest("it-killsq", NON_CONVERGING);
        try {
            FaultInvariants.Before before = FaultInvariants.before(d.name(), 0, 1, List.of(d.disk().toString()));
            CompletableFuture<ItLab.Run> migrating = CompletableFuture.supplyAsync(() -> ItLab.cli("migrate", d.name(), "--from",
                    ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--bandwidth", "8", "--policy", "plain", "--timeout", "120", "--json"));
            try (HostSession t = ItLab.open(1)) {
                assertThat(Poll.until(Duration.ofSeconds(60), Duration.ofMillis(100), () -> migrating.isDone() || t.findVm(d.name()).isPresent()))
                        .isTrue();
            }
            assertThat(migrating.isDone()).as("the transfer is under way").isFalse();
            ProcessHandle qemu = FaultInvariants.qemuPid(0, d.name()).orElseThrow();
            qemu.destroyForcibly();

            ItLab.Run r = migrating.get(120, TimeUnit.SECONDS);
            JsonNode j = Output.json().readTree(r.out());
            assertThat(r.exit()).as(r.out()).isEqualTo(ErrorCode.MIGRATION_FAILED.exitCode());
            FaultInvariants.errorNamesJobStepHostAndVm(j, d.name());
            String message = j.path("error").path("message").asText();
            assertThat(message).as(r.out()).contains("stopped running on 'it1'").contains("runs on no host")
                    .contains("stays defined on 'it1'").contains("nothing of it is left on 'it2'");
            assertThat(j.path("error").path("host").asText()).isEqualTo("it1");
            assertThat(j.path("error").path("hint").asText()).contains("Start it again on 'it1'");
            FaultInvariants.awaitRunningNowhere(d.name());
            FaultInvariants.definedPersistentlyOn(d.name(), 0);
            before.nothingLeftOnTarget().disksUnchanged();

            // the operator's way back: start it again where it is defined, and move it
            try (HostSession s = ItLab.open(0)) {
                s.startVm(d.name());
                LabVm.awaitRunning(s, d.name(), Duration.ofSeconds(120));
            }
            before.retrySucceeds(DaemonKilledIT.retry(d.name()));
        } finally {
            ItLab.removeEverywhereQuietly(d.name());
        }
    }
}
