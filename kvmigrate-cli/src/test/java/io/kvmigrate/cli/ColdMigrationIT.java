package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.engine.EventListener;
import io.kvmigrate.core.engine.MigrationEvent;
import io.kvmigrate.core.engine.Phase;
import io.kvmigrate.core.model.ColdMigrationRequest;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.Lab;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.Poll;
import io.kvmigrate.lab.guest.TestGuest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Cold moves between two lab hosts whose disks are in each host's private local pool (nothing shared). */
class ColdMigrationIT {
    private static final long MIB = LabDisks.MIB;
    private static final TestGuest.Params GUEST = TestGuest.Params.defaults().withSpanMiB(4).withDelay(200);

    private record Vm(String name, List<String> paths, String bootSha, String qcowSha, String rawSha, String rawExpected) {
    }

    /** Boot disk (raw), vdb qcow2 (empty, 1 GiB virtual), vdc sparse raw (256 MiB virtual, 8 MiB known data). */
    private static Vm threeDiskVm(String name) throws Exception {
        String boot = LabDisks.DIR + "/" + name + ".img";
        String qcow = LabDisks.DIR + "/" + name + "-b.qcow2";
        String raw = LabDisks.DIR + "/" + name + "-c.raw";
        List<String> paths = List.of(boot, qcow, raw);
        LabDisks.removeEverywhere(name, paths);
        String expected;
        try (HostSession s = ItLab.open(0)) {
            LabDisks.qcow2(s, name + "-b.qcow2", 1024 * MIB);
            expected = LabDisks.sparseRaw(s, name + "-c.raw", 256 * MIB, 8, 42);
        }
        LabDisks.define(0, name, GUEST, LabDisks.diskXml("vdb", "qcow2", qcow) + LabDisks.diskXml("vdc", "raw", raw));
        try (HostSession s = ItLab.open(0)) {
            return new Vm(name, paths, LabDisks.sha(s, boot), LabDisks.sha(s, qcow), LabDisks.sha(s, raw), expected);
        }
    }

    @Test
    void offlineMove_localQcow2AndSparseRaw_contentEqualGuestRunsSourceGone() throws Exception {
        Vm vm = threeDiskVm("cold-move");
        assertThat(vm.rawSha()).isEqualTo(vm.rawExpected());

        InvariantWatcher watcher = InvariantWatcher.start(vm.name());
        ItLab.Run run = ItLab.cli("migrate", vm.name(), "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--offline");
        List<String> violations = watcher.stop();

        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out()).contains("storage copied", "3 disk(s)");
        assertThat(watcher.samples()).isGreaterThan(3);
        assertThat(violations).as("VM defined persistently on at least one host at every sample").isEmpty();
        try (HostSession t = ItLab.open(1); HostSession s = ItLab.open(0)) {
            assertThat(LabDisks.sha(t, vm.paths().get(0))).isEqualTo(vm.bootSha());
            assertThat(LabDisks.sha(t, vm.paths().get(1))).isEqualTo(vm.qcowSha());
            assertThat(LabDisks.sha(t, vm.paths().get(2))).isEqualTo(vm.rawSha());
            assertThat(t.volume(vm.paths().get(1)).orElseThrow().format()).isEqualTo("qcow2");
            assertThat(t.volume(vm.paths().get(1)).orElseThrow().capacity()).isEqualTo(1024 * MIB);
            assertThat(t.volume(vm.paths().get(2)).orElseThrow().capacity()).isEqualTo(256 * MIB);
            // sparse on the target too: far less allocated than the virtual size
            assertThat(t.volume(vm.paths().get(2)).orElseThrow().allocation()).isLessThan(32 * MIB);
            assertThat(s.findVm(vm.name())).isEmpty();
            for (String p : vm.paths()) assertThat(s.volume(p)).as(p).isEmpty();
            assertThat(t.findVm(vm.name()).orElseThrow().persistent()).isTrue();

            t.startVm(vm.name());
            long first = LabVm.awaitRunning(t, vm.name(), Duration.ofSeconds(120));
            assertThat(Poll.until(Duration.ofSeconds(30), Duration.ofMillis(200),
                    () -> LabVm.passCounter(t, vm.name()).orElse(0) > first)).as("pass counter rises on the target").isTrue();
        } finally {
            LabDisks.removeEverywhere(vm.name(), vm.paths());
        }
    }

    @Test
    void offlineMove_keepSource_bothHostsKeepDefinitionAndDisks() throws Exception {
        Vm vm = threeDiskVm("cold-keep");

        ItLab.Run run = ItLab.cli("migrate", vm.name(), "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--offline",
                "--keep-source", "--json");

        try {
            assertThat(run.exit()).as(run.out()).isZero();
            assertThat(run.out()).contains("\"sourceKept\" : true");
            assertThat(LabDisks.persistentOn(0, vm.name())).isTrue();
            assertThat(LabDisks.persistentOn(1, vm.name())).isTrue();
            try (HostSession t = ItLab.open(1); HostSession s = ItLab.open(0)) {
                assertThat(LabDisks.sha(s, vm.paths().get(2))).isEqualTo(vm.rawSha());
                assertThat(LabDisks.sha(t, vm.paths().get(2))).isEqualTo(vm.rawSha());
                assertThat(LabDisks.sha(s, vm.paths().get(1))).isEqualTo(LabDisks.sha(t, vm.paths().get(1)));
            }
        } finally {
            LabDisks.removeEverywhere(vm.name(), vm.paths());
        }
    }

    @Test
    void offlineMove_runningGuestIgnoresShutdown_timesOutUntouchedThenForceOffMovesAndStarts() throws Exception {
        String name = "cold-run";
        String boot = LabDisks.DIR + "/" + name + ".img";
        LabDisks.removeEverywhere(name, List.of(boot));
        LabDisks.define(0, name, GUEST, "");
        try (HostSession s = ItLab.open(0)) {
            s.startVm(name);
            LabVm.awaitRunning(s, name, Duration.ofSeconds(120));
        }
        try {
            ItLab.Run refused = ItLab.cli("migrate", name, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--offline");
            assertThat(refused.exit()).isEqualTo(10);
            assertThat(refused.err()).contains("--shutdown");

            // The boot-sector guest has no ACPI handling, so a graceful shutdown never completes.
            ItLab.Run timedOut = ItLab.cli("migrate", name, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--offline",
                    "--shutdown", "--shutdown-timeout", "3");
            assertThat(timedOut.exit()).isEqualTo(12);
            assertThat(timedOut.err()).contains("did not power off within 3 s", "--force-off");
            try (HostSession s = ItLab.open(0); HostSession t = ItLab.open(1)) {
                assertThat(s.findVm(name).orElseThrow().state()).isEqualTo(VmState.RUNNING);
                assertThat(t.findVm(name)).isEmpty();
                assertThat(t.volume(boot)).isEmpty();
            }

            ItLab.Run moved = ItLab.cli("migrate", name, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(), "--offline",
                    "--shutdown", "--shutdown-timeout", "2", "--force-off", "--start");
            assertThat(moved.exit()).as(moved.err()).isZero();
            assertThat(moved.out()).contains("force off", "started on target");
            try (HostSession t = ItLab.open(1); HostSession s = ItLab.open(0)) {
                assertThat(s.findVm(name)).isEmpty();
                long first = LabVm.awaitRunning(t, name, Duration.ofSeconds(120));
                assertThat(Poll.until(Duration.ofSeconds(30), Duration.ofMillis(200),
                        () -> LabVm.passCounter(t, name).orElse(0) > first)).isTrue();
            }
        } finally {
            LabDisks.removeEverywhere(name, List.of(boot));
        }
    }

    @Test
    void offlineMove_targetPoolTooSmall_clearErrorSourceUntouchedNothingLeftThenRerunWorks() throws Exception {
        Vm vm = threeDiskVm("cold-small");
        Lab.LabHost target = ItLab.host(1);
        Path smallOnHost = target.dir().resolve("var/lib/libvirt/small");
        Files.createDirectories(smallOnHost);
        long pid = target.daemon().orElseThrow().pid();
        // A 4 MiB tmpfs inside the target host's mount namespace: a pool too small for the 8 MiB of data.
        run(List.of("nsenter", "-t", Long.toString(pid), "-m", "mount", "-t", "tmpfs", "-o", "size=4m", "kvmigrate-small", "/var/lib/libvirt/small"));
        try {
            try (HostSession t = ItLab.open(1)) {
                t.ensureDirPool("small", "/var/lib/libvirt/small");
            }
            ItLab.Run run = ItLab.cli("migrate", vm.name(), "--from", ItLab.host(0).name(), "--to", target.name(), "--offline",
                    "--map-pool", "local=small");

            assertThat(run.exit()).isNotZero();
            assertThat(run.err()).contains("Target pool 'small'", "free", "--map-pool");
            try (HostSession s = ItLab.open(0); HostSession t = ItLab.open(1)) {
                assertThat(s.findVm(vm.name()).orElseThrow().persistent()).isTrue();
                assertThat(LabDisks.sha(s, vm.paths().get(0))).isEqualTo(vm.bootSha());
                assertThat(LabDisks.sha(s, vm.paths().get(1))).isEqualTo(vm.qcowSha());
                assertThat(LabDisks.sha(s, vm.paths().get(2))).isEqualTo(vm.rawSha());
                assertThat(t.findVm(vm.name())).isEmpty();
                for (String p : vm.paths()) assertThat(t.volume(p.replace(LabDisks.DIR, "/var/lib/libvirt/small"))).isEmpty();
            }
            try (var files = Files.list(smallOnHost)) {
                // the host's view of the directory is the empty directory under the tmpfs; libvirt's view was checked above
                assertThat(files.toList()).isEmpty();
            }

            ItLab.Run again = ItLab.cli("migrate", vm.name(), "--from", ItLab.host(0).name(), "--to", target.name(), "--offline");
            assertThat(again.exit()).as(again.err()).isZero();
            try (HostSession t = ItLab.open(1)) {
                assertThat(LabDisks.sha(t, vm.paths().get(2))).isEqualTo(vm.rawSha());
            }
        } finally {
            LabDisks.removeEverywhere(vm.name(), vm.paths());
            run(List.of("nsenter", "-t", Long.toString(pid), "-m", "umount", "/var/lib/libvirt/small"));
        }
    }

    private static void run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).inheritIO().start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", command)).isZero();
    }

    @Test
    void offlineMove_targetFillsUpDuringCopy_failsCleansTargetSourceUntouchedThenRerunWorks() throws Exception {
        Vm vm = threeDiskVm("cold-full");
        Lab.LabHost target = ItLab.host(1);
        Files.createDirectories(target.dir().resolve("var/lib/libvirt/small"));
        long pid = target.daemon().orElseThrow().pid();
        run(List.of("nsenter", "-t", Long.toString(pid), "-m", "mount", "-t", "tmpfs", "-o", "size=16m", "kvmigrate-small", "/var/lib/libvirt/small"));
        String filler = "/var/lib/libvirt/small/filler.raw";
        try {
            try (HostSession t = ItLab.open(1)) {
                t.ensureDirPool("small", "/var/lib/libvirt/small");
            }
            // 16 MiB hold the 9.2 MiB of data, so the plan passes; then, as the copy starts, someone else takes 12 MiB.
            EventListener fillWhenCopyStarts = e -> {
                if (e instanceof MigrationEvent.PhaseStarted p && p.phase() == Phase.COPY_STORAGE) {
                    try (HostSession t = ItLab.open(1)) {
                        t.createVolume("small", "filler.raw", "raw", 12 * MIB);
                        byte[] junk = new byte[(int) (12 * MIB)];
                        new java.util.Random(1).nextBytes(junk);
                        try (var up = t.uploadVolume(filler, false)) {
                            up.data(junk, junk.length);
                            up.finish();
                        }
                    }
                }
            };
            io.kvmigrate.core.api.MoveRequest request = new io.kvmigrate.core.api.MoveRequest(vm.name(), ItLab.host(0).ref(), target.ref(),
                    io.kvmigrate.core.job.JobKind.OFFLINE, null, 0, 0, null, 0, false, Map.of(Lab.LOCAL_POOL, "small"), Map.of(),
                    java.util.Set.of(), false, Duration.ofSeconds(60), false, false, false, false, false);

            assertThatThrownBy(() -> {
                try (var k = ItLab.facade()) {
                    k.submit(request.validate(), fillWhenCopyStarts).await();
                }
            })
                    .isInstanceOf(KvmigrateException.class)
                    .satisfies(e -> {
                        KvmigrateException k = (KvmigrateException) e;
                        System.out.println("expected failure: " + k.describe());
                        assertThat(k.code()).isEqualTo(ErrorCode.MIGRATION_FAILED);
                        assertThat(k.getMessage()).contains("source is untouched", "Nothing of it is left on '" + target.name() + "'");
                    });
            try (HostSession s = ItLab.open(0); HostSession t = ItLab.open(1)) {
                assertThat(s.findVm(vm.name()).orElseThrow().persistent()).isTrue();
                assertThat(LabDisks.sha(s, vm.paths().get(2))).isEqualTo(vm.rawSha());
                assertThat(t.findVm(vm.name())).isEmpty();
                for (String p : vm.paths()) assertThat(t.volume(p.replace(LabDisks.DIR, "/var/lib/libvirt/small"))).as(p).isEmpty();
                t.deleteVolume(filler);
            }

            ItLab.Run again = ItLab.cli("migrate", vm.name(), "--from", ItLab.host(0).name(), "--to", target.name(), "--offline",
                    "--map-pool", "local=small");
            assertThat(again.exit()).as(again.err()).isZero();
            try (HostSession t = ItLab.open(1)) {
                assertThat(LabDisks.sha(t, "/var/lib/libvirt/small/cold-full-c.raw")).isEqualTo(vm.rawSha());
            }
        } finally {
            LabDisks.removeEverywhere(vm.name(), vm.paths());
            try (HostSession t = ItLab.open(1)) {
                t.deleteVolume(filler);
                for (String p : vm.paths()) t.deleteVolume(p.replace(LabDisks.DIR, "/var/lib/libvirt/small"));
            }
            run(List.of("nsenter", "-t", Long.toString(pid), "-m", "umount", "/var/lib/libvirt/small"));
        }
    }

    /** Polls both hosts while a move runs and records every moment the VM was defined persistently on neither. */
    private static final class InvariantWatcher {
        private final String vm;
        private final List<String> violations = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        private final java.util.concurrent.atomic.AtomicInteger samples = new java.util.concurrent.atomic.AtomicInteger();
        private Thread thread;

        private InvariantWatcher(String vm) {
            this.vm = vm;
        }

        static InvariantWatcher start(String vm) {
            InvariantWatcher w = new InvariantWatcher(vm);
            w.thread = new Thread(() -> {
                try (HostSession a = ItLab.open(0); HostSession b = ItLab.open(1)) {
                    Poll.until(Duration.ofMinutes(5), Duration.ofMillis(20), () -> {
                        // read the target first: the move defines there before it undefines on the source
                        boolean onB = b.findVm(vm).map(v -> v.persistent()).orElse(false);
                        boolean onA = a.findVm(vm).map(v -> v.persistent()).orElse(false);
                        if (!onA && !onB) w.violations.add("neither host at sample " + w.samples.get());
                        w.samples.incrementAndGet();
                        return w.stop.get();
                    });
                }
            }, "invariant-watcher");
            w.thread.start();
            return w;
        }

        List<String> stop() throws InterruptedException {
            stop.set(true);
            thread.join();
            return violations;
        }

        int samples() {
            return samples.get();
        }
    }
}
