package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.Poll;
import io.kvmigrate.lab.guest.TestGuest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * kvmigrate against two libvirt daemons it did not start (started by a plain script, no pools, no registered
 * names), migrating a VM whose disk is a plain file outside any storage pool.
 */
class HandStartedHostsIT {
    private static final Path ROOT = Path.of(System.getProperty("kvmigrate.it.root", "/var/tmp/kvmigrate-it") + "-hand");
    private static final int OCTET = Integer.getInteger("kvmigrate.it.firstOctet", 20) + 10;
    private static final HostRef A = new HostRef(null, "qemu+tcp://127.0.0." + OCTET + "/system");
    private static final HostRef B = new HostRef(null, "qemu+tcp://127.0.0." + (OCTET + 1) + "/system");

    @BeforeAll
    static void startDaemons() throws Exception {
        ItLab.get(); // packages and the libvirt-qemu user
        stopDaemons();
        Path script = Path.of(HandStartedHostsIT.class.getResource("/start-libvirtd-by-hand.sh").toURI());
        for (int i = 0; i < 2; i++) {
            Process p = new ProcessBuilder("bash", script.toString(), ROOT.resolve("host" + i).toString(), "127.0.0." + (OCTET + i))
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(out).isZero();
        }
        for (HostRef h : List.of(A, B)) {
            assertThat(Poll.until(Duration.ofSeconds(30), Duration.ofMillis(100), () -> {
                try (HostSession s = ItLab.CONNECTOR.open(h)) {
                    return true;
                } catch (RuntimeException e) {
                    return false;
                }
            })).as("daemon at " + h.uri()).isTrue();
        }
    }

    @AfterAll
    static void stopDaemons() throws IOException {
        for (int i = 0; i < 2; i++) {
            Path pid = ROOT.resolve("host" + i).resolve("run/libvirtd.pid");
            if (!Files.exists(pid)) continue;
            HostRef ref = i == 0 ? A : B;
            try (HostSession s = ItLab.CONNECTOR.open(ref)) {
                s.listVms().stream().filter(v -> v.state().isActive()).forEach(v -> s.destroyVm(v.name()));
            } catch (RuntimeException ignored) {
                // daemon already gone
            }
            ProcessHandle.of(Long.parseLong(Files.readString(pid).trim())).ifPresent(ProcessHandle::destroy);
            Files.delete(pid);
        }
    }

    private static List<String> pools(HostRef h) throws Exception {
        Process p = new ProcessBuilder("virsh", "-c", h.uri(), "pool-list", "--all", "--name").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(30, TimeUnit.SECONDS);
        return out.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    }

    @Test
    void migrate_byUriWithDiskOutsideAnyPool_movesVmAndLeavesNoProbeOrPool() throws Exception {
        Path plain = ROOT.resolve("plain disks");
        TestGuest.Params params = TestGuest.Params.defaults().withSpanMiB(16).withDelay(200_000);
        LabVm.Definition d = LabVm.definition("hand-vm", plain, params, ItLab.get().kvmAvailable());
        long before;
        try (HostSession a = ItLab.CONNECTOR.open(A)) {
            a.findVm(d.name()).ifPresent(v -> a.undefineVm(d.name()));
            LabVm.create(a, d);
            a.startVm(d.name());
            before = LabVm.awaitRunning(a, d.name(), Duration.ofSeconds(120));
        }
        assertThat(pools(A)).isEmpty();

        ItLab.Run run = ItLab.cli("migrate", d.name(), "--from", A.uri(), "--to", B.uri());

        assertThat(run.exit()).as(run.out() + run.err()).isZero();
        assertThat(run.out()).contains("disk hda " + d.disk() + ": shared");
        try (HostSession a = ItLab.CONNECTOR.open(A); HostSession b = ItLab.CONNECTOR.open(B)) {
            assertThat(a.findVm(d.name())).isEmpty();
            assertThat(b.findVm(d.name())).get().satisfies(v -> {
                assertThat(v.state()).isEqualTo(VmState.RUNNING);
                assertThat(v.persistent()).isTrue();
            });
            assertThat(LabVm.passCounter(b, d.name()).orElseThrow()).isGreaterThanOrEqualTo(before);
            b.destroyVm(d.name());
            b.undefineVm(d.name());
        }
        assertThat(pools(A)).as("transient probe pools are gone").isEmpty();
        assertThat(pools(B)).isEmpty();
        try (var files = Files.list(plain)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".kvmigrate-probe"));
        }
    }
}
