package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.Lab;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.Poll;
import io.kvmigrate.lab.guest.TestGuest;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Ctrl-C (SIGINT) and SIGTERM on the real command (the packaged jar in its own process, on this lab's registry and job
 * store), sent when its progress output shows the step: before the transfer (check), in the transfer, in post-copy
 * (refused: the move completes forward), in a cold move's shutdown wait and its disk copy. Each outcome is checked on
 * the hosts with {@link FaultInvariants} and in the job store ({@code jobs show}). The define and clean-up steps last
 * milliseconds, too short to hit with a signal from outside: their cancel is tested on the fakes
 * ({@code ColdMigrationTest.run_cancelledDuring...}). The steps take the two signals in turn (both reach the one handler
 * the command installs for each): every step and both signals are covered, and the class takes half the time it took
 * when every step got both.
 */
class CancelIT {
    private static final Pattern JOB_LINE = Pattern.compile("^Job (\\S+) \\(kvmigrate jobs show", Pattern.MULTILINE);

    @ParameterizedTest
    @ValueSource(strings = {"INT"})
    void migrate_signalInTransfer_cancelledVmStaysOnSource(String signal) throws Exception {
        String vm = "it-cancel-xfer-" + signal.toLowerCase(Locale.ROOT);
        ItLab.startGuest(vm, TestGuest.Params.defaults().withSpanMiB(64).withDelay(0));
        FaultInvariants.Before before = FaultInvariants.before(vm, 0, 1, List.of());
        try (Jar jar = Jar.start("migrate", vm, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--bandwidth", "8")) {
            jar.awaitOutput(t -> t.contains("iteration") || t.contains("copying"), "the transfer");
            jar.signal(signal);
            String text = jar.awaitExit(ErrorCode.CANCELLED);

            assertThat(text).contains("decision: abort (cancelled by the user)").contains("Migration cancelled").contains("still running on");
            before.failedCleanly(jar.jobResult());
            assertThat(jar.job().path("state").asText()).isEqualTo("cancelled");
            assertThat(jar.job().path("error").path("step").asText()).isEqualTo("migrate");
        } finally {
            ItLab.removeEverywhereQuietly(vm);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"TERM"})
    void migrate_signalInCheck_cancelledBeforeAnyTransferVmStaysOnSource(String signal) throws Exception {
        String vm = "it-cancel-check-" + signal.toLowerCase(Locale.ROOT);
        ItLab.startGuest(vm, TestGuest.Params.defaults().withSpanMiB(16).withDelay(100_000));
        FaultInvariants.Before before = FaultInvariants.before(vm, 0, 1, List.of());
        try (Jar jar = Jar.start("migrate", vm, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--bandwidth", "8")) {
            jar.awaitOutput(t -> t.contains("> check"), "the check step");
            jar.signal(signal);
            String text = jar.awaitExit(ErrorCode.CANCELLED);

            String step = jar.job().path("error").path("step").asText();
            // The signal is sent as soon as "> check" is printed; preflight takes a few hundred ms here. Should it ever
            // land after the check, the cancel is taken at the end of verify-storage: still before any transfer.
            assertThat(step).as(text).isIn("check", "verify-storage");
            assertThat(text).contains("before the transfer: nothing was started").doesNotContain("> migrate");
            before.failedCleanly(jar.jobResult());
            assertThat(jar.job().path("state").asText()).isEqualTo("cancelled");
            System.out.println("cancelled in step " + step);
        } finally {
            ItLab.removeEverywhereQuietly(vm);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"INT"})
    void migrate_signalInPostCopy_refusedAndTheMoveCompletesOnTheTarget(String signal) throws Exception {
        String vm = "it-cancel-pc-" + signal.toLowerCase(Locale.ROOT);
        ItLab.startGuest(vm, TestGuest.Params.defaults().withSpanMiB(32).withDelay(0)); // never converges at 8 MiB/s
        try (Jar jar = Jar.start("migrate", vm, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--bandwidth", "8",
                "--max-downtime", "500", "--policy", "finish")) {
            jar.awaitOutput(t -> t.contains("decision: switch to post-copy"), "the switch to post-copy");
            jar.signal(signal);
            String text = jar.awaitExit(null);

            assertThat(text).contains("decision: cancel refused (post-copy is running");
            assertThat(jar.exitCode()).as(text).isZero();
            FaultInvariants.awaitRunningOnlyOn(vm, 1);
            FaultInvariants.definedPersistentlyOn(vm, 1);
            FaultInvariants.counting(1, vm);
            assertThat(jar.job().path("state").asText()).isEqualTo("succeeded");
        } finally {
            ItLab.removeEverywhereQuietly(vm);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"TERM"})
    void migrateOffline_signalInTheShutdownWait_cancelledVmStillRunsOnSource(String signal) throws Exception {
        String vm = "it-cancel-shut-" + signal.toLowerCase(Locale.ROOT);
        List<String> disks = List.of(LabDisks.DIR + "/" + vm + ".img");
        LabDisks.removeEverywhere(vm, disks);
        LabDisks.define(0, vm, TestGuest.Params.defaults().withSpanMiB(4).withDelay(200), "");
        try (HostSession s = ItLab.open(0)) {
            s.startVm(vm);
            LabVm.awaitRunning(s, vm, Duration.ofSeconds(120));
        }
        FaultInvariants.Before before = FaultInvariants.before(vm, 0, 1, List.of());
        // The boot-sector guest ignores ACPI: the graceful wait lasts the whole timeout, the signal comes in it.
        try (Jar jar = Jar.start("migrate", vm, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--offline",
                "--shutdown", "--shutdown-timeout", "120", "--force-off")) {
            jar.awaitOutput(t -> t.contains("> shutdown"), "the shutdown step");
            jar.signal(signal);
            String text = jar.awaitExit(ErrorCode.CANCELLED);

            assertThat(text).contains("Cold migration cancelled").contains("still running on");
            before.failedCleanly(jar.jobResult());
            assertThat(jar.job().path("error").path("step").asText()).isEqualTo("shutdown");
        } finally {
            ItLab.removeEverywhereQuietly(vm);
            LabDisks.removeEverywhere(vm, disks);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"INT"})
    void migrateOffline_signalInTheDiskCopy_cancelledCopyRemovedSourceUnchanged(String signal) throws Exception {
        String vm = "it-cancel-copy-" + signal.toLowerCase(Locale.ROOT);
        String data = LabDisks.DIR + "/" + vm + "-b.raw";
        List<String> disks = List.of(LabDisks.DIR + "/" + vm + ".img", data);
        LabDisks.removeEverywhere(vm, disks);
        try (HostSession s = ItLab.open(0)) {
            LabDisks.sparseRaw(s, vm + "-b.raw", 1024 * LabDisks.MIB, 384, 7); // 384 MiB of data: a copy of a few seconds
        }
        LabDisks.define(0, vm, TestGuest.Params.defaults().withSpanMiB(4).withDelay(200), LabDisks.diskXml("vdb", "raw", data));
        FaultInvariants.Before before = FaultInvariants.before(vm, 0, 1, disks);
        try (Jar jar = Jar.start("migrate", vm, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--offline")) {
            jar.awaitOutput(t -> t.contains("> copy-storage: disk vdb"), "the copy of the data disk");
            jar.signal(signal);
            String text = jar.awaitExit(ErrorCode.CANCELLED);

            assertThat(text).contains("Cold migration cancelled");
            JsonNode result = jar.jobResult();
            FaultInvariants.errorNamesJobStepHostAndVm(result, vm);
            before.nothingLeftOnTarget().disksUnchanged();
            FaultInvariants.definedPersistentlyOn(vm, 0);
            assertThat(FaultInvariants.runningOn(vm)).isEmpty();
            assertThat(jar.job().path("error").path("step").asText()).isIn("copy-storage", "verify-copy");
        } finally {
            ItLab.removeEverywhereQuietly(vm);
            LabDisks.removeEverywhere(vm, disks);
        }
    }

    /** The packaged jar running one command, its output collected; {@link #close} kills it if a test failed first. */
    private static final class Jar implements AutoCloseable {
        private final Process process;
        private final StringBuilder out = new StringBuilder();
        private final Thread reader;
        private JsonNode job;

        private Jar(Process process) {
            this.process = process;
            this.reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
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
        }

        /** Runs {@code args} with the lab's host registry and job store (as {@link ItLab#cli} does in this JVM). */
        static Jar start(String... args) throws Exception {
            Lab lab = ItLab.get();
            Path jar = Path.of("target", "kvmigrate.jar");
            assertThat(jar).exists();
            List<String> cmd = new ArrayList<>(List.of("java", "-Dkvmigrate.config.dir=" + System.getProperty("kvmigrate.config.dir"),
                    "-Dkvmigrate.data.dir=" + System.getProperty("kvmigrate.data.dir"), "-jar", jar.toString()));
            cmd.addAll(List.of(args));
            assertThat(lab.hosts()).isNotEmpty();
            return new Jar(new ProcessBuilder(cmd).redirectErrorStream(true).start());
        }

        String text() {
            synchronized (out) {
                return out.toString();
            }
        }

        /** Waits (polling every 10 ms, so the signal comes early in the step) for the output to show {@code what}. */
        void awaitOutput(Predicate<String> shown, String what) {
            boolean seen = Poll.until(Duration.ofSeconds(180), Duration.ofMillis(10), () -> shown.test(text()) || !process.isAlive());
            assertThat(seen && process.isAlive()).as("%s shown while the command runs: %s", what, text()).isTrue();
        }

        void signal(String name) throws Exception {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start();
            assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(kill.exitValue()).isZero();
        }

        /** Waits for the command to end (with {@code code}'s exit code, when given); returns its output. */
        String awaitExit(ErrorCode code) throws Exception {
            assertThat(process.waitFor(300, TimeUnit.SECONDS)).as("the command ends: %s", text()).isTrue();
            reader.join(10_000);
            String text = text();
            System.out.println(text);
            if (code != null) assertThat(process.exitValue()).as(text).isEqualTo(code.exitCode());
            return text;
        }

        int exitCode() {
            return process.exitValue();
        }

        /** The job as the store recorded it ({@code jobs show ID --json}). */
        JsonNode job() throws Exception {
            if (job == null) {
                Matcher m = JOB_LINE.matcher(text());
                assertThat(m.find()).as("the job id in the output: %s", text()).isTrue();
                ItLab.Run r = ItLab.cli("jobs", "show", m.group(1), "--json");
                assertThat(r.exit()).as(r.out() + r.err()).isZero();
                JsonNode root = Output.json().readTree(r.out());
                job = root.has("job") ? root.get("job") : root;
            }
            return job;
        }

        /** The job's end in the shape of a failed {@code migrate --json} result, for {@link FaultInvariants}. */
        JsonNode jobResult() throws Exception {
            ObjectNode r = Output.json().createObjectNode();
            r.put("ok", false);
            r.put("jobId", job().path("id").asText());
            r.set("error", job().path("error"));
            return r;
        }

        @Override
        public void close() throws Exception {
            if (process.isAlive()) {
                process.destroyForcibly(); // a failed assertion must not leave the migrating process behind
                process.waitFor(30, TimeUnit.SECONDS);
            }
            reader.join(10_000);
        }
    }
}
