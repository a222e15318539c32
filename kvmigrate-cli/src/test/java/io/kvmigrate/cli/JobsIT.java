package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmigrate.core.api.ErrorCode;
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
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every move is a durable job, across processes: {@code kvmigrate migrate} runs as its own process (the packaged jar),
 * killed with SIGKILL mid-migration, raced against a second one for the same VM, or cancelled from another process;
 * the job store (the lab's embedded database, shared through {@code KVMIGRATE_DATA_DIR}) is read in-process.
 */
class JobsIT {
    /** 64 MiB rewritten without pause against 16 MiB/s: pre-copy never converges. */
    private static final TestGuest.Params NON_CONVERGING = TestGuest.Params.defaults().withSpanMiB(64).withDelay(0);
    private static final Pattern JOB_ID = Pattern.compile("Job (j-[0-9a-z-]+)");

    /** A kvmigrate process on this lab's host registry and job store; its output is collected as it comes. */
    static final class Cli implements AutoCloseable {
        final Process process;
        private final StringBuilder out = new StringBuilder();
        private final Thread reader;

        Cli(String... args) throws java.io.IOException {
            Path root = Path.of(System.getProperty("kvmigrate.config.dir")).getParent();
            List<String> cmd = new ArrayList<>(List.of("java", "-jar", Path.of("target", "kvmigrate.jar").toString()));
            cmd.addAll(List.of(args));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().put("KVMIGRATE_CONFIG_DIR", root.resolve("config").toString());
            pb.environment().put("KVMIGRATE_DATA_DIR", root.resolve("data").toString());
            process = pb.start();
            process.getOutputStream().close();
            reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        synchronized (out) {
                            out.append(line).append('\n');
                        }
                    }
                } catch (java.io.IOException ignored) {
                    // the process ended
                }
            });
            reader.start();
        }

        String output() {
            synchronized (out) {
                return out.toString();
            }
        }

        boolean await(String text, Duration timeout) {
            return Poll.until(timeout, Duration.ofMillis(100), () -> output().contains(text));
        }

        String jobId() {
            assertThat(await("Job j-", Duration.ofSeconds(60))).as(output()).isTrue();
            Matcher m = JOB_ID.matcher(output());
            assertThat(m.find()).isTrue();
            return m.group(1);
        }

        int exit(Duration timeout) throws InterruptedException {
            assertThat(process.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)).as("process still running: " + output()).isTrue();
            reader.join(10_000);
            System.out.println("--- child kvmigrate ---\n" + output());
            return process.exitValue();
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }

    private static JsonNode json(ItLab.Run r) throws Exception {
        return Output.json().readTree(r.out());
    }

    @Test
    void migrate_killedWithSigkillDuringNonConvergingFinish_nextJobsCommandAdoptsItAndItEnds() throws Exception {
        LabVm.Definition d = ItLab.startGuest("it-jobs-kill", NON_CONVERGING);
        try (Cli migrate = new Cli("migrate", d.name(), "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--bandwidth", "16",
                "--max-downtime", "500", "--policy", "finish", "--timeout", "300")) {
            String id = migrate.jobId();
            // killed at its first progress line: the model switches this guest to post-copy within seconds, so waiting for
            // a second pass (as before the model) would find the move over
            assertThat(migrate.await("| sent ", Duration.ofSeconds(60))).as(migrate.output()).isTrue();
            migrate.process.destroyForcibly(); // SIGKILL: no cleanup of any kind
            migrate.exit(Duration.ofSeconds(30));
            // the hypervisor job goes on, unwatched: the source runs the guest (pre-copy) or holds it paused (post-copy)
            assertThat(ItLab.vmNames(0)).containsAnyOf(d.name() + ":RUNNING:true", d.name() + ":PAUSED:true");

            // the next command that opens the store finds the job, adopts the running migration and sees it to its end
            ItLab.Run jobs = ItLab.cli("jobs", "--vm", d.name(), "--json");
            assertThat(jobs.exit()).as(jobs.err()).isZero();
            assertThat(jobs.err()).contains("job " + id, "adopted");
            JsonNode job = json(jobs).path("jobs").get(0);
            assertThat(job.path("id").asText()).isEqualTo(id);
            String state = job.path("state").asText();
            assertThat(state).isIn("succeeded", "failed", "cancelled");
            if (state.equals("succeeded")) {
                assertThat(ItLab.vmNames(1)).contains(d.name() + ":RUNNING:true");
                assertThat(ItLab.vmNames(0)).noneMatch(n -> n.startsWith(d.name() + ":"));
            } else {
                assertThat(ItLab.vmNames(0)).contains(d.name() + ":RUNNING:true");
                assertThat(ItLab.vmNames(1)).noneMatch(n -> n.startsWith(d.name() + ":"));
            }
            // the whole timeline: the first controller's steps and plan, the adoption, the adopter's decisions, the end
            ItLab.Run show = ItLab.cli("jobs", "show", id, "--json");
            List<String> messages = new ArrayList<>();
            for (JsonNode e : json(show).path("events")) messages.add(e.path("type").asText() + ": " + e.path("message").asText());
            assertThat(messages).anyMatch(m -> m.startsWith("step: preflight")).anyMatch(m -> m.startsWith("plan: "))
                    .anyMatch(m -> m.startsWith("decision: adopted: controller ")).anyMatch(m -> m.startsWith("step: adopted"));
            if (state.equals("succeeded")) assertThat(messages).anyMatch(m -> m.contains("switch to post-copy"));
            assertThat(json(show).path("job").path("placement").path("runningOn")).hasSize(1);
        } finally {
            ItLab.removeEverywhere(d.name());
        }
    }

    @Test
    void migrate_twoProcessesMoveOneVmAtOnce_oneRefusedWithVmBusyAndOneRunningCopyRemains() throws Exception {
        LabVm.Definition d = ItLab.startGuest("it-jobs-race", NON_CONVERGING);
        String[] args = {"migrate", d.name(), "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--bandwidth", "16",
                "--policy", "plain", "--timeout", "10"};
        try (Cli a = new Cli(args); Cli b = new Cli(args)) {
            int ea = a.exit(Duration.ofSeconds(120));
            int eb = b.exit(Duration.ofSeconds(120));
            // one ran (and timed out: plain pre-copy never converges here), the other was refused before touching anything
            assertThat(List.of(ea, eb)).as(a.output() + b.output()).containsExactlyInAnyOrder(ErrorCode.VM_BUSY.exitCode(), ErrorCode.TIMEOUT.exitCode());
            String refused = ea == ErrorCode.VM_BUSY.exitCode() ? a.output() : b.output();
            assertThat(refused).contains("Another migration of this VM is in progress: job j-");
            assertThat(ItLab.vmNames(0)).contains(d.name() + ":RUNNING:true");
            assertThat(ItLab.vmNames(1)).noneMatch(n -> n.startsWith(d.name() + ":"));
            JsonNode jobs = json(ItLab.cli("jobs", "--vm", d.name(), "--json")).path("jobs");
            List<String> states = new ArrayList<>();
            for (JsonNode j : jobs) states.add(j.path("state").asText() + ":" + j.path("error").path("code").asText());
            assertThat(states).contains("failed:VM_BUSY", "failed:TIMEOUT");
        } finally {
            ItLab.removeEverywhere(d.name());
        }
    }

    @Test
    void jobsCancel_fromASecondProcess_runningJobAbortsCleanlyAndVmStaysOnSource() throws Exception {
        LabVm.Definition d = ItLab.startGuest("it-jobs-cancel", NON_CONVERGING);
        try (Cli migrate = new Cli("migrate", d.name(), "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--bandwidth", "16",
                "--policy", "plain")) {
            String id = migrate.jobId();
            assertThat(migrate.await("iteration", Duration.ofSeconds(60))).as(migrate.output()).isTrue();
            ItLab.Run cancel = ItLab.cli("jobs", "cancel", id);
            assertThat(cancel.exit()).isZero();
            assertThat(cancel.out()).contains("Cancel requested for job " + id);
            assertThat(migrate.exit(Duration.ofSeconds(60))).isEqualTo(ErrorCode.CANCELLED.exitCode());
            assertThat(migrate.output()).contains("cancel requested", "still running on");
            assertThat(ItLab.vmNames(0)).contains(d.name() + ":RUNNING:true");
            assertThat(ItLab.vmNames(1)).noneMatch(n -> n.startsWith(d.name() + ":"));
            JsonNode job = json(ItLab.cli("jobs", "show", id, "--json")).path("job");
            assertThat(job.path("state").asText()).isEqualTo("cancelled");
            assertThat(job.path("cancelRequested").asBoolean()).isTrue();
        } finally {
            ItLab.removeEverywhere(d.name());
        }
    }
}
