package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmigrate.core.model.VmState;
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
 * Issue 12, finding 1, on the real lab: the target's libvirtd killed with SIGKILL mid-transfer. The move fails at
 * once, the VM runs on the source, and the report says the target could not be read, never "running on no host".
 */
class DaemonKilledIT {
    private static final TestGuest.Params NON_CONVERGING = TestGuest.Params.defaults().withSpanMiB(64).withDelay(0);

    @Test
    void migrate_targetDaemonKilledMidTransfer_failsWithVmOnSourceAndTheTargetReportedUnreadable() throws Exception {
        LabVm.Definition d = ItLab.startGuest("it-killd", NON_CONVERGING);
        try {
            FaultInvariants.Before before = FaultInvariants.before(d.name(), 0, 1, List.of(d.disk().toString()));
            CompletableFuture<ItLab.Run> migrating = CompletableFuture.supplyAsync(() -> ItLab.cli("migrate", d.name(), "--from",
                    ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--bandwidth", "8", "--policy", "plain", "--timeout", "120", "--json"));
            try (HostSession s = ItLab.open(0)) {
                assertThat(Poll.until(Duration.ofSeconds(60), Duration.ofMillis(100), () -> migrating.isDone() || s.jobInProgress(d.name())))
                        .isTrue();
            }
            assertThat(migrating.isDone()).as("the migration is running").isFalse();
            awaitIncomingCopy(d.name());
            ProcessHandle daemon = ItLab.host(1).daemon().orElseThrow();
            daemon.destroyForcibly();
            ItLab.Run r = migrating.get(120, TimeUnit.SECONDS);
            JsonNode j = Output.json().readTree(r.out());
            assertThat(r.exit()).as(r.out()).isNotZero();
            String message = j.path("error").path("message").asText();
            assertThat(message).as(r.out()).contains("still running on 'it1'").doesNotContain("running on no host");
            assertThat(j.path("placement").path("runningOn").toString()).as(r.out()).contains("it1");
            ItLab.get().up(line -> System.out.println("[lab] " + line)); // the target's daemon again, to read what it holds
            before.failedCleanly(j).retrySucceeds(retry(d.name()));
        } finally {
            ItLab.get().up(line -> System.out.println("[lab] " + line)); // the target's daemon again
            ItLab.removeEverywhere(d.name());
        }
    }

    /**
     * The source's libvirtd killed with SIGKILL mid-transfer: the source QEMU keeps the guest; when the daemon comes back
     * it finds the interrupted outgoing migration and resumes the guest there. The move fails, and its report names the
     * source as unreadable instead of inventing a placement; afterwards exactly one copy runs, on the source.
     */
    @Test
    void migrate_sourceDaemonKilledMidTransfer_failsAndAfterItsRestartTheVmRunsOnTheSourceOnly() throws Exception {
        LabVm.Definition d = ItLab.startGuest("it-kills", NON_CONVERGING);
        try {
            FaultInvariants.Before before = FaultInvariants.before(d.name(), 0, 1, List.of(d.disk().toString()));
            CompletableFuture<ItLab.Run> migrating = CompletableFuture.supplyAsync(() -> ItLab.cli("migrate", d.name(), "--from",
                    ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--bandwidth", "8", "--policy", "plain", "--timeout", "120", "--json"));
            try (HostSession s = ItLab.open(0)) {
                assertThat(Poll.until(Duration.ofSeconds(60), Duration.ofMillis(100), () -> migrating.isDone() || s.jobInProgress(d.name())))
                        .isTrue();
            }
            assertThat(migrating.isDone()).as("the migration is running").isFalse();
            awaitIncomingCopy(d.name());
            ItLab.host(0).daemon().orElseThrow().destroyForcibly();
            ItLab.Run r = migrating.get(120, TimeUnit.SECONDS);
            JsonNode j = Output.json().readTree(r.out());
            assertThat(r.exit()).as(r.out()).isNotZero();
            assertThat(j.path("error").path("message").asText()).as(r.out()).doesNotContain("running on no host");
            ItLab.get().up(line -> System.out.println("[lab] " + line));
            // after the source daemon's restart: running on the source only, nothing on the target
            before.failedCleanly(j).retrySucceeds(retry(d.name()));
        } finally {
            ItLab.get().up(line -> System.out.println("[lab] " + line));
            ItLab.removeEverywhere(d.name());
        }
    }

    /** The target's incoming QEMU killed with SIGKILL mid-transfer: the move fails, the VM runs on the source only. */
    @Test
    void migrate_targetQemuKilledMidTransfer_failsWithVmOnSourceOnlyAndNothingOnTheTarget() throws Exception {
        LabVm.Definition d = ItLab.startGuest("it-killq", NON_CONVERGING);
        try {
            FaultInvariants.Before before = FaultInvariants.before(d.name(), 0, 1, List.of(d.disk().toString()));
            CompletableFuture<ItLab.Run> migrating = CompletableFuture.supplyAsync(() -> ItLab.cli("migrate", d.name(), "--from",
                    ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--bandwidth", "8", "--policy", "plain", "--timeout", "120", "--json"));
            java.util.concurrent.atomic.AtomicReference<ProcessHandle> incoming = new java.util.concurrent.atomic.AtomicReference<>();
            Poll.until(Duration.ofSeconds(60), Duration.ofMillis(100), () -> migrating.isDone() || ProcessHandle.allProcesses()
                    .filter(h -> h.info().commandLine().map(c -> c.contains("guest=" + d.name() + ",") && c.contains("-incoming")).orElse(false))
                    .peek(incoming::set).findFirst().isPresent());
            assertThat(incoming.get()).as("the target's incoming QEMU").isNotNull();
            incoming.get().destroyForcibly();
            ItLab.Run r = migrating.get(120, TimeUnit.SECONDS);
            assertThat(r.exit()).as(r.out()).isEqualTo(io.kvmigrate.core.api.ErrorCode.MIGRATION_FAILED.exitCode());
            assertThat(r.out()).contains("still running on 'it1'");
            before.failedCleanly(Output.json().readTree(r.out())).retrySucceeds(retry(d.name()));
        } finally {
            ItLab.removeEverywhere(d.name());
        }
    }

    /** The same move without the fault, and without the cap that kept it from converging: post-copy finishes it. */
    static String[] retry(String vm) {
        return new String[] {"migrate", vm, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--policy", "finish", "--json"};
    }

    /** Waits until the target lists the VM's incoming copy: the transfer is under way. */
    private static void awaitIncomingCopy(String vm) {
        try (HostSession t = ItLab.open(1)) {
            assertThat(Poll.until(Duration.ofSeconds(60), Duration.ofMillis(100), () -> t.findVm(vm).isPresent()))
                    .as("the incoming copy on the target").isTrue();
        }
    }
}
