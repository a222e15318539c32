package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.PoolInfo;
import io.kvmigrate.lab.Lab;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.Poll;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The safety invariants every fault IT checks after its fault, read from every lab host (libvirt, the hosts' QEMU pid
 * files, their pool directories), never from kvmigrate's own report:
 * <ul>
 * <li>exactly one running copy of the VM, on the host it must be on (or none, where the fault killed the guest);
 * <li>at least one persistent definition;
 * <li>nothing left on the target after a failure: no domain, no QEMU, no file the job created in any of its pools;
 * <li>the VM's disk contents unchanged ({@link LabDisks#sha});
 * <li>the guest still counting where it runs (its loop position grows);
 * <li>the error names the job, the step, a lab host and the VM;
 * <li>a retry of the same move succeeds (and leaves the VM running, defined, counting on the target only).
 * </ul>
 * Take a {@link #before} snapshot before injecting the fault, then call {@link Before#failedCleanly} (VM still on the source)
 * or the single checks.
 */
final class FaultInvariants {
    /** How long the hosts get to settle after a failure (a target daemon finishing its abort, a restarted daemon). */
    static final Duration SETTLE = Duration.ofSeconds(60);

    private FaultInvariants() {
    }

    /**
     * What the lab held before the fault: the VM's disk digests (read on {@code source}) and, for every host, the files in
     * each of its pools.
     *
     * @param disks paths of the VM's disks as {@code source} sees them (in one of its pools); may be empty
     */
    static Before before(String vm, int source, int target, List<String> disks) {
        Map<String, String> sha = new LinkedHashMap<>();
        try (HostSession s = ItLab.open(source)) {
            for (String d : disks) sha.put(d, LabDisks.sha(s, d));
        }
        return new Before(vm, source, target, Map.copyOf(sha), poolFiles(target));
    }

    /** The state before a fault, and the checks against it. */
    record Before(String vm, int source, int target, Map<String, String> diskSha, Map<String, TreeSet<String>> targetPoolFiles) {
        /**
         * The move failed and everything is as it was: the VM runs (counting) on the source only, defined there persistently,
         * nothing of it on the target, disks unchanged, and the error names job, step, host and VM.
         */
        Before failedCleanly(JsonNode result) {
            errorNamesJobStepHostAndVm(result, vm);
            awaitRunningOnlyOn(vm, source);
            definedPersistentlyOn(vm, source);
            nothingLeftOnTarget();
            disksUnchanged();
            counting(source, vm);
            return this;
        }

        /** No domain or QEMU of the VM on the target, and no file in its pools that was not there before. */
        Before nothingLeftOnTarget() {
            try (HostSession t = ItLab.open(target)) {
                assertThat(Poll.until(SETTLE, Duration.ofMillis(200), () -> t.findVm(vm).isEmpty()))
                        .as("no domain '%s' left on %s: %s", vm, name(target), ItLab.vmNames(target)).isTrue();
            }
            assertThat(qemuPid(target, vm)).as("no QEMU of '%s' alive on %s", vm, name(target)).isEmpty();
            assertThat(Poll.until(SETTLE, Duration.ofMillis(500), () -> newFiles(targetPoolFiles, poolFiles(target)).isEmpty()))
                    .as("no file the job created left in %s's pools: %s", name(target), newFiles(targetPoolFiles, poolFiles(target)))
                    .isTrue();
            return this;
        }

        /** The VM's disks hold what they held before (read through libvirt on the host that has it defined). */
        Before disksUnchanged() {
            if (diskSha.isEmpty()) return this;
            try (HostSession s = ItLab.open(source)) {
                for (Map.Entry<String, String> e : diskSha.entrySet()) {
                    assertThat(LabDisks.sha(s, e.getKey())).as("content of %s on %s", e.getKey(), name(source)).isEqualTo(e.getValue());
                }
            }
            return this;
        }

        /**
         * The same move again, without the fault: it must succeed and leave the VM running (counting) and persistently
         * defined on the target only, nothing on the source.
         */
        Before retrySucceeds(String... migrateArgs) {
            ItLab.Run r = ItLab.cli(migrateArgs);
            assertThat(r.exit()).as("the retry of the same move: %s%s", r.out(), r.err()).isZero();
            awaitRunningOnlyOn(vm, target);
            definedPersistentlyOn(vm, target);
            try (HostSession s = ItLab.open(source)) {
                assertThat(s.findVm(vm)).as("nothing left on the source after the retry").isEmpty();
            }
            counting(target, vm);
            return this;
        }
    }

    /**
     * The error of a failed {@code migrate --json}: a code, the job's id, a step, a host of this lab and the VM, each
     * non-empty (what an operator needs to find the job and act on it).
     */
    static void errorNamesJobStepHostAndVm(JsonNode result, String vm) {
        JsonNode e = result.path("error");
        assertThat(result.path("ok").asBoolean(true)).as("a failure: %s", result).isFalse();
        assertThat(e.path("code").asText("")).as("error code: %s", result).isNotBlank();
        assertThat(result.path("jobId").asText("")).as("the job: %s", result).isNotBlank();
        assertThat(e.path("step").asText("")).as("the step: %s", result).isNotBlank();
        List<String> hosts = ItLab.get().hosts().stream().map(Lab.LabHost::name).toList();
        assertThat(e.path("host").asText("")).as("a lab host: %s", result).isIn(hosts);
        assertThat(e.path("vm").asText("")).as("the VM: %s", result).isEqualTo(vm);
        assertThat(e.path("message").asText("")).as("a message: %s", result).isNotBlank();
    }

    /**
     * Exactly one running copy, on {@code host}, and no QEMU of it on any other host (a paused incoming copy included),
     * waiting up to {@link #SETTLE} for the hosts to settle (a target daemon ends its incoming copy when it notices the
     * source's connection gone).
     */
    static void awaitRunningOnlyOn(String vm, int host) {
        boolean settled = Poll.until(SETTLE, Duration.ofMillis(200), () -> runningOn(vm).equals(List.of(host)));
        assertThat(settled).as("'%s' running on exactly %s; runs on %s", vm, name(host), runningOn(vm)).isTrue();
        for (int i = 0; i < ItLab.get().hosts().size(); i++) {
            int other = i;
            if (i != host) {
                long from = System.nanoTime();
                assertThat(Poll.until(SETTLE, Duration.ofMillis(200), () -> qemuPid(other, vm).isEmpty()))
                        .as("no QEMU of '%s' on %s: %s", vm, name(i), qemuPid(i, vm)).isTrue();
                long waited = (System.nanoTime() - from) / 1_000_000;
                if (waited > 500) System.out.println("FaultInvariants: the QEMU of " + vm + " on " + name(i) + " ended " + waited + " ms later");
            }
        }
        assertThat(qemuPid(host, vm)).as("the QEMU of '%s' on %s", vm, name(host)).isPresent();
    }

    /** No host runs the VM (after a fault that killed its only QEMU); waits for the hosts to notice. */
    static void awaitRunningNowhere(String vm) {
        assertThat(Poll.until(SETTLE, Duration.ofMillis(200), () -> runningOn(vm).isEmpty())).as("'%s' runs on %s", vm, runningOn(vm))
                .isTrue();
    }

    /** The lab hosts (indexes) on which libvirt reports the VM running (a paused incoming copy is not running). */
    static List<Integer> runningOn(String vm) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < ItLab.get().hosts().size(); i++) {
            try (HostSession s = ItLab.open(i)) {
                if (s.findVm(vm).map(v -> v.state() == VmState.RUNNING).orElse(false)) out.add(i);
            }
        }
        return out;
    }

    /** Defined persistently on {@code host} (so at least one persistent definition exists). */
    static void definedPersistentlyOn(String vm, int host) {
        try (HostSession s = ItLab.open(host)) {
            assertThat(s.findVm(vm).map(VmInfo::persistent)).as("'%s' defined persistently on %s", vm, name(host)).contains(true);
        }
    }

    /** The guest's rewrite loop moves on where it runs (it is alive, not just listed as running). */
    static void counting(int host, String vm) {
        try (HostSession s = ItLab.open(host)) {
            LabVm.Position before = LabVm.position(s, vm);
            assertThat(Poll.until(Duration.ofSeconds(30), Duration.ofMillis(200), () -> LabVm.position(s, vm).compareTo(before) > 0))
                    .as("the guest '%s' keeps counting on %s (from %s)", vm, name(host), before).isTrue();
        }
    }

    /** The live QEMU of the VM on lab host {@code host}, from that host's pid file (never another lab's process). */
    static Optional<ProcessHandle> qemuPid(int host, String vm) {
        Path pidFile = ItLab.host(host).dir().resolve("run/libvirt/qemu").resolve(vm + ".pid");
        try {
            long pid = Long.parseLong(Files.readString(pidFile).trim());
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).filter(p -> p.info().command().orElse("").contains("qemu"));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * The files in each pool of lab host {@code host}, by pool path, read in the host's own mount namespace (its daemon's
     * {@code /proc/PID/root}: pool directories may be private to it, or a file system mounted only there).
     */
    static Map<String, TreeSet<String>> poolFiles(int host) {
        ProcessHandle daemon = ItLab.host(host).daemon().orElseThrow(() -> new AssertionError(name(host) + "'s daemon is not running"));
        Path root = Path.of("/proc", Long.toString(daemon.pid()), "root");
        Map<String, TreeSet<String>> out = new TreeMap<>();
        List<PoolInfo> pools;
        try (HostSession s = ItLab.open(host)) {
            pools = s.pools();
        }
        for (PoolInfo p : pools) {
            if (p.path() == null || p.path().isBlank() || !p.active()) continue;
            TreeSet<String> names = new TreeSet<>();
            try (Stream<Path> files = Files.list(root.resolve(p.path().substring(1)))) {
                files.forEach(f -> names.add(f.getFileName().toString()));
            } catch (IOException e) {
                // a pool whose directory is gone: it holds nothing
            }
            out.put(p.path(), names);
        }
        return out;
    }

    /** Files in {@code now} that were not in {@code before}, as full paths. */
    static List<String> newFiles(Map<String, TreeSet<String>> before, Map<String, TreeSet<String>> now) {
        List<String> out = new ArrayList<>();
        now.forEach((dir, names) -> {
            for (String n : names) {
                if (!before.getOrDefault(dir, new TreeSet<>()).contains(n)) out.add(dir + "/" + n);
            }
        });
        return out;
    }

    private static String name(int host) {
        return ItLab.host(host).name();
    }
}
