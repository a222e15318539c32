package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.guest.TestGuest;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code migrate --tls} encrypts the migration stream itself, on a plain qemu+tcp control connection: the stream to the
 * target's migration ports is captured on loopback (tcpdump) while a test guest moves. Its memory holds a known string
 * (the guest program's {@value TestGuest#READY_MARKER}): in clear in the plain move's capture, nowhere in the TLS one.
 * The lab's hosts carry QEMU certificates from one lab CA (LabTls).
 */
class TlsIT {
    private static final byte[] MARKER = TestGuest.READY_MARKER.getBytes(StandardCharsets.US_ASCII);

    @Test
    void migrate_tls_streamHidesGuestMemory_plainStreamShowsIt() throws Exception {
        LabVm.Definition d = ItLab.startGuest("it-tls", TestGuest.Params.defaults().withSpanMiB(16));
        Path dir = Path.of("target", "tls-capture");
        Files.createDirectories(dir);
        try {
            Path plain = dir.resolve("plain.pcap");
            capture(ItLab.host(1).address(), plain, () -> {
                ItLab.Run r = ItLab.cli("migrate", d.name(), "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--json");
                assertThat(r.exit()).as(r.out()).isZero();
            });
            Path tls = dir.resolve("tls.pcap");
            capture(ItLab.host(0).address(), tls, () -> {
                ItLab.Run r = ItLab.cli("migrate", d.name(), "--from", ItLab.host(1).name(), "--to", ItLab.host(0).name(), "--tls", "--json");
                assertThat(r.exit()).as(r.out()).isZero();
                JsonNode j = json(r.out());
                assertThat(j.path("placement").path("runningOn").toString()).contains(ItLab.host(0).name());
            });
            byte[] p = Files.readAllBytes(plain);
            byte[] t = Files.readAllBytes(tls);
            System.out.println("captured: plain " + p.length + " bytes, tls " + t.length + " bytes");
            assertThat(p.length).as("the plain stream was captured").isGreaterThan(1 << 20);
            assertThat(t.length).as("the TLS stream was captured").isGreaterThan(1 << 20);
            assertThat(indexOf(p, MARKER)).as("the guest's memory in clear in the plain stream").isNotNegative();
            assertThat(indexOf(t, MARKER)).as("nothing of it in the TLS stream").isNegative();
            try (HostSession s = ItLab.open(0)) {
                assertThat(LabVm.passCounter(s, d.name())).as("the guest still counts after the TLS move").isPresent();
            }
        } finally {
            ItLab.removeEverywhere(d.name());
        }
    }

    /** Runs {@code move} while tcpdump writes every packet to {@code address}'s migration ports into {@code file}. */
    private static void capture(String address, Path file, ThrowingRunnable move) throws Exception {
        Process dump = new ProcessBuilder(List.of("tcpdump", "-i", "lo", "-U", "-s", "0", "-w", file.toString(), "tcp and dst host " + address
                + " and dst portrange 49152-49215")).redirectErrorStream(true).start();
        CountDownLatch listening = new CountDownLatch(1);
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(dump.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    System.out.println("tcpdump: " + line);
                    if (line.contains("listening on")) listening.countDown();
                }
            } catch (java.io.IOException ignored) {
                // ended
            }
        });
        reader.start();
        try {
            assertThat(listening.await(30, TimeUnit.SECONDS)).as("tcpdump started").isTrue();
            move.run();
        } finally {
            dump.destroy(); // SIGTERM: tcpdump flushes and closes the file
            if (!dump.waitFor(30, TimeUnit.SECONDS)) dump.destroyForcibly();
            reader.join(10_000);
        }
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }

    private static JsonNode json(String s) throws java.io.IOException {
        return Output.json().readTree(s);
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }
}
