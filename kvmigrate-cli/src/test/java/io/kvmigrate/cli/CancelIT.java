package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.Poll;
import io.kvmigrate.lab.guest.TestGuest;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** Ctrl-C and SIGTERM on the real command (the packaged jar in its own process): clean abort, VM still on the source. */
class CancelIT {

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"INT", "TERM"})
    void migrate_interruptedBySignal_abortsCleanlyAndVmStaysOnSource(String signal) throws Exception {
        LabVm.Definition d = ItLab.startGuest("it-cancel-" + signal.toLowerCase(java.util.Locale.ROOT), TestGuest.Params.defaults().withSpanMiB(64).withDelay(0));
        Path jar = Path.of("target", "kvmigrate.jar");
        assertThat(jar).exists();
        Process p = null;
        try {
            FaultInvariants.Before before = FaultInvariants.before(d.name(), 0, 1, java.util.List.of(d.disk().toString()));
            ProcessBuilder pb = new ProcessBuilder("java", "-jar", jar.toString(), "migrate", d.name(), "--from", ItLab.host(0).ref().uri(),
                    "--to", ItLab.host(1).ref().uri(), "--bandwidth", "8").redirectErrorStream(true);
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
                    return out.toString().contains("iteration") || out.toString().contains("copying");
                }
            });
            assertThat(migrating).as(out.toString()).isTrue();
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start();
            assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
            reader.join(10_000);
            String text;
            synchronized (out) {
                text = out.toString();
            }
            System.out.println(text);
            assertThat(p.exitValue()).as(text).isEqualTo(ErrorCode.CANCELLED.exitCode());
            assertThat(text).contains("decision: abort (cancelled by the user)").contains("Migration cancelled")
                    .contains("still running on");
            assertThat(text).contains("Job j-");
            FaultInvariants.awaitRunningOnlyOn(d.name(), 0);
            FaultInvariants.definedPersistentlyOn(d.name(), 0);
            FaultInvariants.counting(0, d.name());
            before.nothingLeftOnTarget().disksUnchanged().retrySucceeds(DaemonKilledIT.retry(d.name()));
        } finally {
            if (p != null) p.destroyForcibly(); // a failed assertion must not leave the migrating process behind
            ItLab.removeEverywhere(d.name());
        }
    }
}
