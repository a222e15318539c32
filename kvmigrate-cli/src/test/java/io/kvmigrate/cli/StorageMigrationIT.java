package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.guest.IntegrityCheck;
import io.kvmigrate.lab.guest.TestGuest;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Live migration of a running, memory-dirtying guest whose disks are in the source host's local pool (libvirt's NBD copy). */
class StorageMigrationIT {
    private static final long MIB = LabDisks.MIB;

    @Test
    void liveCopyStorage_dirtyingGuest_memoryIntactAndDiskContentMatches() throws Exception {
        String name = "live-copy";
        TestGuest.Params params = TestGuest.Params.defaults().withSpanMiB(16).withDelay(200);
        String boot = LabDisks.DIR + "/" + name + ".img";
        String data = LabDisks.DIR + "/" + name + "-b.raw";
        List<String> paths = List.of(boot, data);
        LabDisks.removeEverywhere(name, paths);
        String expected;
        try (HostSession s = ItLab.open(0)) {
            expected = LabDisks.sparseRaw(s, name + "-b.raw", 64 * MIB, 4, 7);
        }
        LabDisks.define(0, name, params, LabDisks.diskXml("vdb", "raw", data));
        String bootSha;
        try (HostSession s = ItLab.open(0)) {
            bootSha = LabDisks.sha(s, boot);
            s.startVm(name);
            LabVm.awaitRunning(s, name, Duration.ofSeconds(120));
        }
        try {
            ItLab.Run run = ItLab.cli("migrate", name, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--copy-storage");

            assertThat(run.exit()).as(run.err()).isZero();
            assertThat(run.out()).contains("created " + boot, "created " + data);
            try (HostSession t = ItLab.open(1); HostSession s = ItLab.open(0)) {
                assertThat(s.findVm(name)).isEmpty();
                t.suspendVm(name);
                IntegrityCheck.Result r = IntegrityCheck.verify(LabVm.memory(t, name), params);
                assertThat(r.ok()).as(String.join("\n", r.problems())).isTrue();
                assertThat(r.pass()).isGreaterThanOrEqualTo(2);
                t.destroyVm(name);
                assertThat(LabDisks.sha(t, data)).isEqualTo(expected);
                assertThat(LabDisks.sha(t, boot)).isEqualTo(bootSha);
                assertThat(t.volume(data).orElseThrow().capacity()).isEqualTo(64 * MIB);
            }
        } finally {
            LabDisks.removeEverywhere(name, paths);
        }
    }

    @Test
    void liveCopyStorage_targetPoolTooSmall_refusedBeforeAnythingMovesVmKeepsRunning() throws Exception {
        String name = "live-small";
        TestGuest.Params params = TestGuest.Params.defaults().withSpanMiB(4).withDelay(200);
        String boot = LabDisks.DIR + "/" + name + ".img";
        String data = LabDisks.DIR + "/" + name + "-b.raw";
        List<String> paths = List.of(boot, data);
        LabDisks.removeEverywhere(name, paths);
        try (HostSession s = ItLab.open(0)) {
            LabDisks.sparseRaw(s, name + "-b.raw", 64 * MIB, 4, 9);
        }
        LabDisks.define(0, name, params, LabDisks.diskXml("vdb", "raw", data));
        try (HostSession s = ItLab.open(0)) {
            s.startVm(name);
            LabVm.awaitRunning(s, name, Duration.ofSeconds(120));
        }
        try {
            // a pool on another directory: a live copy keeps paths, so this is refused before anything is created
            ItLab.Run run = ItLab.cli("migrate", name, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--copy-storage",
                    "--map-pool", "local=shared");

            assertThat(run.exit()).isEqualTo(10);
            assertThat(run.err()).contains("keeps its path", "--offline");
            try (HostSession t = ItLab.open(1); HostSession s = ItLab.open(0)) {
                assertThat(s.findVm(name).orElseThrow().state().isActive()).isTrue();
                assertThat(t.findVm(name)).isEmpty();
                for (String p : paths) assertThat(t.volume(p)).isEmpty();
            }
        } finally {
            LabDisks.removeEverywhere(name, paths);
        }
    }

    @Test
    void liveCopyStorage_abortedByTimeout_preCreatedTargetVolumesRemovedVmStillOnSource() throws Exception {
        String name = "live-abort";
        TestGuest.Params params = TestGuest.Params.defaults().withSpanMiB(16).withDelay(200);
        String boot = LabDisks.DIR + "/" + name + ".img";
        String data = LabDisks.DIR + "/" + name + "-b.raw";
        List<String> paths = List.of(boot, data);
        LabDisks.removeEverywhere(name, paths);
        String expected;
        try (HostSession s = ItLab.open(0)) {
            expected = LabDisks.sparseRaw(s, name + "-b.raw", 64 * MIB, 16, 11);
        }
        LabDisks.define(0, name, params, LabDisks.diskXml("vdb", "raw", data));
        try (HostSession s = ItLab.open(0)) {
            s.startVm(name);
            LabVm.awaitRunning(s, name, Duration.ofSeconds(120));
        }
        try {
            // 1 MiB/s cannot move 16 MiB of disk data and 16 MiB of memory in 2 s: the timeout aborts the job.
            ItLab.Run run = ItLab.cli("migrate", name, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--copy-storage",
                    "--bandwidth", "1", "--timeout", "2");

            assertThat(run.exit()).isEqualTo(12);
            try (HostSession t = ItLab.open(1); HostSession s = ItLab.open(0)) {
                assertThat(s.findVm(name).orElseThrow().state().isActive()).isTrue();
                assertThat(t.findVm(name)).isEmpty();
                for (String p : paths) assertThat(t.volume(p)).as(p).isEmpty();
                assertThat(LabDisks.sha(s, data)).isEqualTo(expected);
            }
        } finally {
            LabDisks.removeEverywhere(name, paths);
        }
    }
}
