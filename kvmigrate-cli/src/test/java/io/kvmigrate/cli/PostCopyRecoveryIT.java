package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.Poll;
import io.kvmigrate.lab.guest.IntegrityCheck;
import io.kvmigrate.lab.guest.TestGuest;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A real post-copy interrupted by a link cut: once the guest runs on the target and pulls its pages from the source,
 * the migration stream's TCP connection is destroyed (ss -K). Both QEMUs pause in "post-copy failed"; kvmigrate must
 * resume forward (never the source), finish, and every page of the guest must arrive.
 */
class PostCopyRecoveryIT {
    /** 64 MiB rewritten without pause against an 8 MiB/s link (post-copy capped too): seconds of post-copy to cut into. */
    private static final TestGuest.Params NON_CONVERGING = TestGuest.Params.defaults().withSpanMiB(64).withDelay(0);

    @Test
    void migrate_postCopyLinkCut_resumesForwardCompletesAndPassesIntegrityCheck() throws Exception {
        String vm = "it-pc-cut";
        ItLab.startGuest(vm, NON_CONVERGING);
        try {
            CompletableFuture<ItLab.Run> migrating = CompletableFuture.supplyAsync(() -> ItLab.cli("migrate", vm, "--from",
                    ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--bandwidth", "8", "--max-downtime", "500", "--policy", "finish",
                    "--json"));
            // Cut once the guest runs on the target and pulls pages: a cut while the target still loads the switch-over
            // state (device state, sent right at the switch) ends the target's QEMU, and no resume can help then.
            boolean inPostCopy;
            try (HostSession s = ItLab.open(0); HostSession t = ItLab.open(1)) {
                inPostCopy = Poll.until(Duration.ofSeconds(180), Duration.ofMillis(20), () -> migrating.isDone()
                        || (s.pausedInPostCopy(vm) && t.findVm(vm).map(v -> v.state() == VmState.RUNNING).orElse(false)));
                inPostCopy = inPostCopy && !migrating.isDone();
            }
            assertThat(inPostCopy).as("the migration reached post-copy").isTrue();
            String killed = cutMigrationStream(ItLab.host(1).address());
            assertThat(killed).as("a migration connection was cut").contains(ItLab.host(1).address() + ":49");

            ItLab.Run r = migrating.get(300, TimeUnit.SECONDS);
            JsonNode j = Output.json().readTree(r.out());
            assertThat(r.exit()).as(r.out()).isZero();
            assertThat(ItLab.decisionActions(j)).contains("switch to post-copy", "recover post-copy").doesNotContain("abort");
            assertThat(ItLab.vmNames(0)).noneMatch(n -> n.startsWith(vm + ":"));
            assertThat(ItLab.vmNames(1)).contains(vm + ":RUNNING:true");
            try (HostSession t = ItLab.open(1)) {
                t.suspendVm(vm);
                IntegrityCheck.Result check = IntegrityCheck.verify(LabVm.memory(t, vm), NON_CONVERGING);
                assertThat(check.problems()).isEmpty();
                assertThat(check.ok()).isTrue();
                t.resumeVm(vm);
            }
        } finally {
            ItLab.removeEverywhere(vm);
        }
    }

    /** Destroys the TCP connections to the target's QEMU migration ports (libvirt's 49152-49215); returns what ss printed. */
    static String cutMigrationStream(String targetAddress) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of("ss", "-K", "-tn", "dst " + targetAddress + " and dport >= :49152 and dport <= :49215"))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return out;
    }
}
