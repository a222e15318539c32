package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.Poll;
import io.kvmigrate.lab.guest.TestGuest;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue 12, finding 2: a migration stream that silently stops carrying data in pre-copy (here the target's incoming
 * QEMU is frozen with SIGSTOP: it reads nothing, so the source's sender blocks, while both libvirt daemons answer as
 * before). Without the no-progress watchdog the job waited for as long as the stall lasted; now it ends cleanly after
 * the configured time with the VM on the source and the link named.
 */
class StalledLinkIT {

    @Test
    void migrate_streamStalledInPreCopy_abortedAfterTheNoProgressTimeoutWithVmOnSource() throws Exception {
        LabVm.Definition d = ItLab.startGuest("it-stall", TestGuest.Params.defaults().withSpanMiB(64).withDelay(0));
        Path jar = Path.of("target", "kvmigrate.jar");
        assertThat(jar).exists();
        Optional<ProcessHandle> frozen = Optional.empty();
        Process p = null;
        try {
            ProcessBuilder pb = new ProcessBuilder("java", "-jar", jar.toString(), "migrate", d.name(), "--from", ItLab.host(0).ref().uri(),
                    "--to", ItLab.host(1).ref().uri(), "--bandwidth", "8", "--policy", "plain").redirectErrorStream(true);
            pb.environment().put("KVMIGRATE_NO_PROGRESS_TIMEOUT", "5");
            p = pb.start();
            Process proc = p;
            StringBuilder out = new StringBuilder();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        synchronized (out) {
                            out.append(line).append('\n');
                        }
                    }
                } catch (java.io.IOException ignored) {
                    // process ended
                }
            });
            reader.start();
            boolean migrating = Poll.until(Duration.ofSeconds(60), Duration.ofMillis(100), () -> {
                synchronized (out) {
                    return out.toString().contains("iteration");
                }
            });
            assertThat(migrating).as(out.toString()).isTrue();
            frozen = ProcessHandle.allProcesses().filter(h -> h.info().commandLine().map(c -> c.contains("guest=" + d.name() + ",")
                    && c.contains("-incoming")).orElse(false)).findFirst();
            assertThat(frozen).as("the target's incoming QEMU").isPresent();
            signal("STOP", frozen.get().pid());
            long stoppedAt = System.nanoTime();
            assertThat(p.waitFor(180, TimeUnit.SECONDS)).as("the job ends while the stream is still stalled").isTrue();
            long waitedS = (System.nanoTime() - stoppedAt) / 1_000_000_000L;
            reader.join(10_000);
            String text;
            synchronized (out) {
                text = out.toString();
            }
            System.out.println(text);
            assertThat(p.exitValue()).as(text).isEqualTo(ErrorCode.MIGRATION_FAILED.exitCode());
            assertThat(text).contains("no data moved for").contains("looks cut").contains("still running on");
            System.out.println("stalled link: job ended " + waitedS + " s after the stream stopped (no-progress timeout 5 s)");
            try (HostSession src = ItLab.open(0)) {
                assertThat(src.findVm(d.name())).get().satisfies(v -> {
                    assertThat(v.state()).isEqualTo(VmState.RUNNING);
                    assertThat(v.persistent()).isTrue();
                });
            }
            signal("CONT", frozen.get().pid());
            frozen = Optional.empty();
            try (HostSession dst = ItLab.open(1)) {
                assertThat(Poll.until(Duration.ofSeconds(60), Duration.ofMillis(200), () -> dst.findVm(d.name()).isEmpty()))
                        .as("the target's incoming copy is gone").isTrue();
            }
        } finally {
            if (frozen.isPresent()) signal("CONT", frozen.get().pid());
            if (p != null) p.destroyForcibly();
            ItLab.removeEverywhere(d.name());
        }
    }

    private static void signal(String sig, long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).start();
        assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
    }
}
