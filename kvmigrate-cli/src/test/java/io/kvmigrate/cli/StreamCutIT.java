package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.Poll;
import io.kvmigrate.lab.guest.IntegrityCheck;
import io.kvmigrate.lab.guest.TestGuest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue 12, finding 2, on the real lab: the migration stream cut silently (no RST, no error, the control connections
 * fine), through {@code --migration-address} pointed at a {@link StreamProxy} on a loopback address of its own. In
 * pre-copy the no-progress watchdog ends the job cleanly; in post-copy it waits, and the move goes forward once healed.
 */
class StreamCutIT {
    /** 64 MiB rewritten without pause against an 8 MiB/s cap: never converges, so the transfer is under way when cut. */
    private static final TestGuest.Params NON_CONVERGING = TestGuest.Params.defaults().withSpanMiB(64).withDelay(0);
    private static final long NO_PROGRESS_S = 6;

    /** The proxy's address: in this lab's octet range, past its hosts. */
    static String proxyAddress() {
        return "127.0.0." + (Integer.getInteger("kvmigrate.it.firstOctet", 20) + 15);
    }

    @Test
    void migrate_throughMigrationAddress_streamGoesThereAndTheMoveSucceeds() throws Exception {
        String vm = "it-migaddr";
        ItLab.startGuest(vm, TestGuest.Params.defaults().withSpanMiB(8).withDelay(200));
        try (StreamProxy proxy = StreamProxy.start(proxyAddress(), ItLab.host(1).address())) {
            ItLab.Run r = ItLab.cli("migrate", vm, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--migration-address",
                    proxy.address(), "--migration-listen", ItLab.host(1).address(), "--json");
            assertThat(r.exit()).as(r.out()).isZero();
            assertThat(proxy.connections()).as("the stream went through the migration address").isPositive();
            assertThat(proxy.forwarded()).as("bytes through the migration address").isGreaterThan(8L << 20);
            FaultInvariants.awaitRunningOnlyOn(vm, 1);
            FaultInvariants.counting(1, vm);
        } finally {
            ItLab.removeEverywhereQuietly(vm);
        }
    }

    /** A storage copy over the migration address: memory and the disks' NBD stream both to the target's address there. */
    @Test
    void migrateCopyStorage_throughMigrationAddress_disksArriveIntact() throws Exception {
        String name = "it-migaddr-copy";
        String boot = LabDisks.DIR + "/" + name + ".img";
        String data = LabDisks.DIR + "/" + name + "-b.raw";
        List<String> paths = List.of(boot, data);
        LabDisks.removeEverywhere(name, paths);
        try {
            String expected;
            try (HostSession s = ItLab.open(0)) {
                expected = LabDisks.sparseRaw(s, name + "-b.raw", 128L << 20, 48, 5);
            }
            LabDisks.define(0, name, TestGuest.Params.defaults().withSpanMiB(8).withDelay(200), LabDisks.diskXml("vdb", "raw", data));
            try (HostSession s = ItLab.open(0)) {
                s.startVm(name);
                LabVm.awaitRunning(s, name, Duration.ofSeconds(120));
            }
            ItLab.Run r;
            java.util.Set<String> nbd = java.util.concurrent.ConcurrentHashMap.newKeySet();
            try (StreamProxy proxy = StreamProxy.start(proxyAddress(), ItLab.host(1).address())) {
                // the disks' stream is not proxied: watch for a connection to the migration address on another port than the proxy's
                java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
                Thread watch = new Thread(() -> {
                    while (!done.get()) {
                        nbd.addAll(connectionsTo(proxyAddress()).stream().filter(port -> !port.equals(Integer.toString(proxy.port()))).toList());
                        try {
                            Thread.sleep(20);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                });
                watch.start();
                try {
                    r = ItLab.cli("migrate", name, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--copy-storage",
                            "--migration-address", proxy.address(), "--json");
                } finally {
                    done.set(true);
                    watch.join();
                }
                assertThat(proxy.connections()).as("memory through the migration address").isPositive();
            }
            assertThat(r.exit()).as(r.out()).isZero();
            assertThat(nbd).as("the disks' NBD connection to the migration address").isNotEmpty();
            FaultInvariants.awaitRunningOnlyOn(name, 1);
            try (HostSession t = ItLab.open(1)) {
                assertThat(LabDisks.sha(t, data)).isEqualTo(expected);
            }
        } finally {
            LabDisks.removeEverywhere(name, paths);
        }
    }

    @Test
    void migrate_badMigrationAddress_invalidInputAndNothingChanged() throws Exception {
        String vm = "it-migaddr-bad";
        ItLab.startGuest(vm, TestGuest.Params.defaults().withSpanMiB(8).withDelay(200));
        try {
            for (String bad : List.of("bad host", "127.0.0.1:0", "127.0.0.1:65536", "tcp://127.0.0.1", "$(reboot)")) {
                ItLab.Run r = ItLab.cli("migrate", vm, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--migration-address",
                        bad, "--json");
                assertThat(r.exit()).as(r.out()).isEqualTo(ErrorCode.INVALID_INPUT.exitCode());
                JsonNode j = Output.json().readTree(r.out());
                assertThat(j.path("error").path("message").asText()).contains("--migration-address");
            }
            ItLab.Run r = ItLab.cli("migrate", vm, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--migration-listen",
                    "127.0.0.1", "--json");
            assertThat(r.exit()).as(r.out()).isEqualTo(ErrorCode.INVALID_INPUT.exitCode());
            FaultInvariants.awaitRunningOnlyOn(vm, 0);
            assertThat(ItLab.vmNames(1)).noneMatch(n -> n.startsWith(vm + ":"));
        } finally {
            ItLab.removeEverywhereQuietly(vm);
        }
    }

    /**
     * Cut in pre-copy, with no {@code --timeout} and policy plain (nothing else would ever end it): the watchdog aborts after
     * the no-progress timeout; the VM runs on the source, nothing is left on the target; healed, the same move succeeds.
     */
    @Test
    void migrate_streamCutInPreCopy_noProgressWatchdogEndsItCleanlyAndARetrySucceeds() throws Exception {
        LabVm.Definition d = ItLab.startGuest("it-cut-pre", NON_CONVERGING);
        FaultInvariants.Before before = FaultInvariants.before(d.name(), 0, 1, List.of(d.disk().toString()));
        try (StreamProxy proxy = StreamProxy.start(proxyAddress(), ItLab.host(1).address());
                Jar migrate = new Jar("migrate", d.name(), "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--bandwidth", "8",
                        "--policy", "plain", "--migration-address", proxy.address(), "--json")) {
            assertThat(Poll.until(Duration.ofSeconds(90), Duration.ofMillis(100), () -> proxy.forwarded() > (16L << 20) || !migrate.alive()))
                    .as("16 MiB through the stream").isTrue();
            assertThat(migrate.alive()).as(migrate.output()).isTrue();
            proxy.cut();
            int exit = migrate.exit(Duration.ofSeconds(120));
            JsonNode j = Output.json().readTree(migrate.output());
            assertThat(exit).as(migrate.output()).isEqualTo(ErrorCode.MIGRATION_FAILED.exitCode());
            assertThat(j.path("error").path("message").asText()).as(migrate.output()).contains("no data moved for")
                    .contains("the migration stream to 'it2' looks cut").contains("still running on 'it1'");
            assertThat(j.path("error").path("hint").asText()).contains("migration network to " + proxy.address());
            before.failedCleanly(j);
            proxy.heal();
            before.retrySucceeds("migrate", d.name(), "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--policy", "finish",
                    "--migration-address", proxy.address(), "--json");
        } finally {
            ItLab.removeEverywhereQuietly(d.name());
        }
    }

    /**
     * Cut once the guest runs on the target in post-copy, for longer than the no-progress timeout: the job is never
     * aborted (the target holds the running VM), says the link looks cut and waits; healed, it completes forward and
     * every page of the guest arrives.
     */
    @Test
    void migrate_streamCutInPostCopy_waitsAndCompletesForwardOnceHealed() throws Exception {
        String vm = "it-cut-post";
        ItLab.startGuest(vm, NON_CONVERGING);
        try (StreamProxy proxy = StreamProxy.start(proxyAddress(), ItLab.host(1).address());
                Jar migrate = new Jar("migrate", vm, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--bandwidth", "8",
                        "--max-downtime", "500", "--policy", "finish", "--migration-address", proxy.address(), "--json")) {
            boolean inPostCopy;
            try (HostSession s = ItLab.open(0); HostSession t = ItLab.open(1)) {
                inPostCopy = Poll.until(Duration.ofSeconds(180), Duration.ofMillis(20), () -> !migrate.alive()
                        || (s.pausedInPostCopy(vm) && t.findVm(vm).map(v -> v.state() == VmState.RUNNING).orElse(false)));
                inPostCopy = inPostCopy && migrate.alive();
            }
            assertThat(inPostCopy).as("the migration reached post-copy: %s", migrate.output()).isTrue();
            proxy.cut();
            // two no-progress timeouts: a watchdog that aborted post-copy would have done it by now (the wait ends early if so)
            Poll.until(Duration.ofSeconds(2 * NO_PROGRESS_S + 2), Duration.ofMillis(200), () -> !migrate.alive());
            assertThat(migrate.alive()).as("still waiting: %s", migrate.output()).isTrue();
            try (HostSession s = ItLab.open(0)) {
                assertThat(s.pausedInPostCopy(vm)).as("the source still holds the rest of the memory").isTrue();
            }
            proxy.heal();
            int exit = migrate.exit(Duration.ofSeconds(300));
            JsonNode j = Output.json().readTree(migrate.output());
            assertThat(exit).as(migrate.output()).isZero();
            assertThat(ItLab.decisionActions(j)).contains("switch to post-copy", "wait for the link", "link back").doesNotContain("abort");
            FaultInvariants.awaitRunningOnlyOn(vm, 1);
            FaultInvariants.definedPersistentlyOn(vm, 1);
            try (HostSession t = ItLab.open(1)) {
                t.suspendVm(vm);
                IntegrityCheck.Result check = IntegrityCheck.verify(LabVm.memory(t, vm), NON_CONVERGING);
                assertThat(check.problems()).isEmpty();
                assertThat(check.ok()).isTrue();
                t.resumeVm(vm);
            }
            FaultInvariants.counting(1, vm);
        } finally {
            ItLab.removeEverywhereQuietly(vm);
        }
    }

    /**
     * The connection broken (RST) in post-copy: the job resumes the post-copy forward, through the migration address again
     * (a new connection to the proxy), and every page of the guest arrives.
     */
    @Test
    void migrate_streamBrokenInPostCopy_resumesForwardThroughTheMigrationAddress() throws Exception {
        String vm = "it-cut-reset";
        ItLab.startGuest(vm, NON_CONVERGING);
        try (StreamProxy proxy = StreamProxy.start(proxyAddress(), ItLab.host(1).address())) {
            java.util.concurrent.CompletableFuture<ItLab.Run> migrating = java.util.concurrent.CompletableFuture.supplyAsync(() -> ItLab.cli(
                    "migrate", vm, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--bandwidth", "8", "--max-downtime", "500",
                    "--policy", "finish", "--migration-address", proxy.address(), "--json"));
            boolean inPostCopy;
            try (HostSession s = ItLab.open(0); HostSession t = ItLab.open(1)) {
                inPostCopy = Poll.until(Duration.ofSeconds(180), Duration.ofMillis(20), () -> migrating.isDone()
                        || (s.pausedInPostCopy(vm) && t.findVm(vm).map(v -> v.state() == VmState.RUNNING).orElse(false)));
                inPostCopy = inPostCopy && !migrating.isDone();
            }
            assertThat(inPostCopy).as("the migration reached post-copy").isTrue();
            int before = proxy.connections();
            proxy.reset();
            ItLab.Run r = migrating.get(300, TimeUnit.SECONDS);
            JsonNode j = Output.json().readTree(r.out());
            assertThat(r.exit()).as(r.out()).isZero();
            assertThat(ItLab.decisionActions(j)).contains("switch to post-copy", "recover post-copy").doesNotContain("abort");
            assertThat(proxy.connections()).as("the resumed stream went through the migration address too").isGreaterThan(before);
            FaultInvariants.awaitRunningOnlyOn(vm, 1);
            FaultInvariants.definedPersistentlyOn(vm, 1);
            try (HostSession t = ItLab.open(1)) {
                t.suspendVm(vm);
                IntegrityCheck.Result check = IntegrityCheck.verify(LabVm.memory(t, vm), NON_CONVERGING);
                assertThat(check.problems()).isEmpty();
                t.resumeVm(vm);
            }
            FaultInvariants.counting(1, vm);
        } finally {
            ItLab.removeEverywhereQuietly(vm);
        }
    }

    /** Destination ports of the established TCP connections to {@code address} (ss). */
    static List<String> connectionsTo(String address) {
        try {
            Process p = new ProcessBuilder("ss", "-Htn", "state", "established", "dst", address).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(10, TimeUnit.SECONDS);
            List<String> ports = new ArrayList<>();
            for (String line : out.split("\n")) {
                String[] cols = line.trim().split("\\s+");
                if (cols.length >= 4 && cols[3].startsWith(address + ":")) ports.add(cols[3].substring(address.length() + 1));
            }
            return ports;
        } catch (IOException | InterruptedException e) {
            return List.of();
        }
    }

    /**
     * The packaged command in its own process (the no-progress timeout is an environment variable), on this lab's host
     * registry and job store; its standard output goes to a file (with {@code --json}: one JSON object at the end).
     */
    static final class Jar implements AutoCloseable {
        private final Process process;
        private final Path out;

        Jar(String... args) throws IOException {
            Path root = Path.of(System.getProperty("kvmigrate.config.dir")).getParent();
            List<String> cmd = new ArrayList<>(List.of("java", "-jar", Path.of("target", "kvmigrate.jar").toString()));
            cmd.addAll(List.of(args));
            out = Files.createTempFile("kvmigrate-streamcut", ".out");
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT);
            pb.environment().put("KVMIGRATE_CONFIG_DIR", root.resolve("config").toString());
            pb.environment().put("KVMIGRATE_DATA_DIR", root.resolve("data").toString());
            pb.environment().put("KVMIGRATE_NO_PROGRESS_TIMEOUT", Long.toString(NO_PROGRESS_S));
            System.out.println("$ KVMIGRATE_NO_PROGRESS_TIMEOUT=" + NO_PROGRESS_S + " kvmigrate " + String.join(" ", args));
            process = pb.start();
            process.getOutputStream().close();
        }

        boolean alive() {
            return process.isAlive();
        }

        String output() {
            try {
                return Files.readString(out, StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "(output unreadable: " + e.getMessage() + ")";
            }
        }

        int exit(Duration timeout) throws InterruptedException {
            assertThat(process.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)).as("process still running: %s", output()).isTrue();
            System.out.println("--- child kvmigrate, exit " + process.exitValue() + " ---\n" + output());
            return process.exitValue();
        }

        @Override
        public void close() throws IOException {
            process.destroyForcibly(); // a failed assertion must not leave the migrating process behind
            try {
                process.waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Files.deleteIfExists(out);
        }
    }
}
