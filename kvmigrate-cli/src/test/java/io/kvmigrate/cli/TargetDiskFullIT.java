package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.Poll;
import io.kvmigrate.lab.guest.TestGuest;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The target's pool fills up during a live move with storage copy (issue 12's matrix): the target's local pool directory
 * (a live copy keeps the disks' paths) is a small tmpfs mounted over it in the target host's own mount namespace only;
 * preflight sees room for the disks (their full size), then a ballast file takes the rest while the copy runs (something
 * else on the host writing there), so the copy hits ENOSPC. The move fails cleanly: VM running on the source, the
 * volumes kvmigrate pre-created on the target removed, a clear error; with the ballast gone, the same move succeeds.
 * (The cold copy's disk-full case is {@code ColdMigrationIT.offlineMove_targetFillsUpDuringCopy_...}.)
 */
class TargetDiskFullIT {
    private static final long MIB = LabDisks.MIB;
    private static final String POOL_DIR = LabDisks.DIR;
    private static final int TMPFS_MIB = 96;

    @Test
    void migrateCopyStorage_targetPoolFillsUpDuringTheCopy_failsCleanlyVmOnSourcePartialVolumesRemoved() throws Exception {
        String name = "it-full";
        String boot = LabDisks.DIR + "/" + name + ".img";
        String data = LabDisks.DIR + "/" + name + "-b.raw";
        List<String> paths = List.of(boot, data);
        LabDisks.removeEverywhere(name, paths);
        mountSmallPool();
        try {
            try (HostSession t = ItLab.open(1)) {
                assertThat(t.pools().stream().filter(p -> p.name().equals("local")).findFirst().orElseThrow().capacity())
                        .as("the target's local pool is the small tmpfs").isEqualTo(TMPFS_MIB * MIB);
            }
            try (HostSession s = ItLab.open(0)) {
                LabDisks.sparseRaw(s, name + "-b.raw", 64 * MIB, 32, 11);
            }
            LabDisks.define(0, name, TestGuest.Params.defaults().withSpanMiB(8).withDelay(200), LabDisks.diskXml("vdb", "raw", data));
            try (HostSession s = ItLab.open(0)) {
                s.startVm(name);
                LabVm.awaitRunning(s, name, Duration.ofSeconds(120));
            }
            FaultInvariants.Before before = FaultInvariants.before(name, 0, 1, paths);
            String[] move = {"migrate", name, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--copy-storage", "--json"};
            String[] capped = java.util.stream.Stream.concat(java.util.Arrays.stream(move), java.util.stream.Stream.of("--bandwidth", "4"))
                    .toArray(String[]::new);
            CompletableFuture<ItLab.Run> migrating = CompletableFuture.supplyAsync(() -> ItLab.cli(capped));
            Path copy = inTarget(POOL_DIR + "/" + name + "-b.raw");
            assertThat(Poll.until(Duration.ofSeconds(60), Duration.ofMillis(20), () -> migrating.isDone() || Files.exists(copy)))
                    .as("the target volume pre-created").isTrue();
            assertThat(migrating.isDone()).as("the move is under way").isFalse();
            Path ballast = inTarget(POOL_DIR + "/ballast");
            long filled = fill(ballast);
            System.out.println("ballast: " + filled / MIB + " MiB, the pool is full");

            ItLab.Run r = migrating.get(180, TimeUnit.SECONDS);
            JsonNode j = Output.json().readTree(r.out());
            assertThat(r.exit()).as(r.out()).isEqualTo(ErrorCode.MIGRATION_FAILED.exitCode());
            String message = j.path("error").path("message").asText();
            assertThat(message).as(r.out()).containsIgnoringCase("no space left").contains("still running on 'it1'");
            Files.delete(ballast);
            before.failedCleanly(j);
            before.retrySucceeds(move);
        } finally {
            ItLab.removeEverywhereQuietly(name);
            try (HostSession t = ItLab.open(1)) {
                for (String p : paths) t.deleteVolume(POOL_DIR + "/" + Path.of(p).getFileName());
            } catch (RuntimeException e) {
                System.out.println("cleanup of the target volumes failed: " + e.getMessage());
            }
            LabDisks.removeEverywhere(name, paths);
            unmountSmallPool();
        }
    }

    /** A path as the target host sees it (its daemon's root: the tmpfs is mounted only in its namespace). */
    private static Path inTarget(String path) {
        long pid = ItLab.host(1).daemon().orElseThrow().pid();
        return Path.of("/proc/" + pid + "/root" + path);
    }

    /** Writes until the file system is full; returns how much fit. */
    private static long fill(Path file) throws IOException {
        byte[] chunk = new byte[(int) MIB];
        java.util.Arrays.fill(chunk, (byte) 0x5a);
        long written = 0;
        try (OutputStream o = Files.newOutputStream(file)) {
            while (written < 1024 * MIB) {
                o.write(chunk);
                written += chunk.length;
            }
        } catch (IOException e) {
            if (!String.valueOf(e.getMessage()).contains("No space left")) throw e;
        }
        return written;
    }

    /** A {@value #TMPFS_MIB} MiB tmpfs over the target's local pool directory, in its mount namespace only. */
    private static void mountSmallPool() throws Exception {
        unmountSmallPool();
        run("nsenter", "-t", Long.toString(ItLab.host(1).daemon().orElseThrow().pid()), "-m", "mount", "-t", "tmpfs", "-o",
                "size=" + TMPFS_MIB + "m", "kvmigrate-it-small", POOL_DIR);
    }

    /** Uncovers the target's own local pool directory again. */
    private static void unmountSmallPool() throws Exception {
        String pid = Long.toString(ItLab.host(1).daemon().orElseThrow().pid());
        while (new ProcessBuilder("nsenter", "-t", pid, "-m", "findmnt", "-n", "-t", "tmpfs", POOL_DIR).start().waitFor() == 0) {
            run("nsenter", "-t", pid, "-m", "umount", POOL_DIR);
        }
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", cmd) + ": " + out).isZero();
    }
}
