package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.PoolSpec;
import io.kvmigrate.core.spi.PoolStatus;
import io.kvmigrate.core.spi.StoragePools;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.guest.TestGuest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code kvmigrate storage share} and {@code storage list} on the real lab: a directory both lab hosts see (under the
 * lab's root, outside every per-host bind mount) is shared storage; {@code /var/lib/libvirt/images/...} is private to
 * each host. NFS cannot be mounted by this machine's kernel, so the NFS pools are defined in real libvirt (which
 * validates their XML) and their start is shown to fail cleanly. Every pool a test creates is removed after it.
 */
class StorageShareIT {
    private final List<String> pools = new ArrayList<>();

    @AfterEach
    void removePools() {
        for (int i = 0; i < 2; i++) {
            try (HostSession s = ItLab.open(i)) {
                StoragePools sp = s.storagePools();
                for (String name : pools) {
                    Optional<PoolStatus> p = sp.find(name);
                    if (p.isEmpty()) continue;
                    if (p.get().active()) sp.stop(name);
                    if (p.get().persistent()) sp.undefine(name);
                }
            }
        }
    }

    /** A fresh directory both lab hosts see at the same path; the pool of that name is removed after the test. */
    private Path sharedDir(String pool) throws IOException {
        pools.add(pool);
        Path dir = ItLab.get().config().root().resolve("pools").resolve(pool);
        Files.createDirectories(dir);
        return dir;
    }

    private static String hosts() {
        return ItLab.host(0).name() + "," + ItLab.host(1).name();
    }

    /** Every pool of a lab host, as "name type path source active autostart persistent", sorted. */
    private static List<String> poolsOf(int host) {
        try (HostSession s = ItLab.open(host)) {
            return s.storagePools().list().stream().map(p -> p.name() + " " + p.spec().type() + " " + p.spec().path() + " " + p.spec().source()
                    + " active=" + p.active() + " autostart=" + p.autostart() + " persistent=" + p.persistent()).sorted().toList();
        }
    }

    private static Optional<PoolStatus> pool(int host, String name) {
        try (HostSession s = ItLab.open(host)) {
            return s.storagePools().find(name);
        }
    }

    private static JsonNode json(ItLab.Run run) throws IOException {
        return Output.json().readTree(run.out());
    }

    private static long timed(Runnable r) {
        long t = System.nanoTime();
        r.run();
        return (System.nanoTime() - t) / 1_000_000;
    }

    @Test
    void share_dirBothHostsSee_samePoolActiveAutostartOnBothProvedSharedAndSecondRunChangesNothing() throws Exception {
        Path dir = sharedDir("itshare");
        ItLab.Run[] first = new ItLab.Run[1];
        long firstMs = timed(() -> first[0] = ItLab.cli("storage", "share", "itshare", "--path", dir.toString(), "--hosts", hosts(), "--dir", "--json"));

        assertThat(first[0].exit()).as(first[0].out() + first[0].err()).isZero();
        JsonNode j = json(first[0]);
        assertThat(j.get("ok").asBoolean()).isTrue();
        assertThat(j.get("hosts")).extracting(h -> h.get("action").asText()).containsExactly("define", "define");
        assertThat(j.get("changedHosts")).extracting(JsonNode::asText).containsExactly(ItLab.host(0).name(), ItLab.host(1).name());
        assertThat(j.get("pairs")).hasSize(2).allMatch(p -> p.get("shared").asBoolean());
        for (int i = 0; i < 2; i++) {
            PoolStatus p = pool(i, "itshare").orElseThrow();
            assertThat(p.spec()).isEqualTo(PoolSpec.dir("itshare", dir.toString()));
            assertThat(p.active()).isTrue();
            assertThat(p.autostart()).isTrue();
            assertThat(p.persistent()).isTrue();
        }
        List<String> before0 = poolsOf(0);
        List<String> before1 = poolsOf(1);

        ItLab.Run[] second = new ItLab.Run[1];
        long secondMs = timed(() -> second[0] = ItLab.cli("storage", "share", "itshare", "--path", dir + "/", "--hosts", hosts(), "--dir"));

        assertThat(second[0].exit()).as(second[0].out() + second[0].err()).isZero();
        assertThat(second[0].out()).contains("leave").contains("unchanged").contains(ItLab.host(0).name() + " -> " + ItLab.host(1).name() + "  shared")
                .contains(ItLab.host(1).name() + " -> " + ItLab.host(0).name() + "  shared").doesNotContain("changed: ");
        assertThat(poolsOf(0)).isEqualTo(before0);
        assertThat(poolsOf(1)).isEqualTo(before1);

        ItLab.Run[] list = new ItLab.Run[1];
        long listMs = timed(() -> list[0] = ItLab.cli("storage", "list", "--hosts", hosts(), "--json"));
        assertThat(list[0].exit()).isZero();
        JsonNode row = findPool(json(list[0]), "itshare");
        assertThat(row.get("mismatch").asBoolean()).isFalse();
        assertThat(row.get("hosts")).hasSize(2).allMatch(h -> h.get("active").asBoolean() && h.get("autostart").asBoolean()
                && h.get("path").asText().equals(dir.toString()) && h.get("capacityBytes").asLong() > 0);
        assertThat(row.get("pairs")).hasSize(2).allMatch(p -> p.get("shared").asBoolean());
        System.out.printf("[timing] storage share (define on 2 hosts + proof) %d ms, again (leave + proof) %d ms, storage list %d ms%n",
                firstMs, secondMs, listMs);
    }

    @Test
    void share_oneHostHasPoolOfThatNameAtAnotherPath_refusedWithNothingChangedAndListShowsMismatch() throws Exception {
        Path wanted = sharedDir("itconflict");
        Path other = ItLab.get().config().root().resolve("pools").resolve("itconflict-other");
        Files.createDirectories(other);
        try (HostSession s = ItLab.open(1)) {
            s.storagePools().define(PoolSpec.dir("itconflict", other.toString()));
            s.storagePools().start("itconflict");
        }
        List<String> before0 = poolsOf(0);
        List<String> before1 = poolsOf(1);

        ItLab.Run run = ItLab.cli("storage", "share", "itconflict", "--path", wanted.toString(), "--hosts", hosts(), "--dir", "--json");

        assertThat(run.exit()).isEqualTo(ErrorCode.TARGET_CONFLICT.exitCode());
        JsonNode j = json(run);
        assertThat(j.get("ok").asBoolean()).isFalse();
        assertThat(j.get("error").get("message").asText()).contains("host '" + ItLab.host(1).name() + "'").contains(other.toString())
                .contains(wanted.toString()).contains("Nothing was changed on any host");
        assertThat(j.get("hosts")).extracting(h -> h.get("action").asText() + "/" + h.get("status").asText())
                .containsExactly("define/unchanged", "conflict/unchanged");
        assertThat(poolsOf(0)).as("nothing changed on the host that had no such pool").isEqualTo(before0);
        assertThat(poolsOf(1)).isEqualTo(before1);

        // The same name on the first host at the wanted path: now each host has 'itconflict', at different paths.
        try (HostSession s = ItLab.open(0)) {
            s.storagePools().define(PoolSpec.dir("itconflict", wanted.toString()));
            s.storagePools().start("itconflict");
        }
        ItLab.Run list = ItLab.cli("storage", "list", "--hosts", hosts(), "--json");
        JsonNode row = findPool(json(list), "itconflict");
        assertThat(row.get("mismatch").asBoolean()).isTrue();
        assertThat(row.get("differences")).extracting(JsonNode::asText).containsExactly(ItLab.host(1).name() + ": path " + other + " ("
                + ItLab.host(0).name() + ": " + wanted + ")");
        assertThat(row.get("pairs")).as("pools at different paths are not probed as one").isEmpty();
        ItLab.Run text = ItLab.cli("storage", "list", "--hosts", hosts());
        assertThat(text.out()).contains("MISMATCH: " + ItLab.host(1).name() + ": path " + other);
    }

    @Test
    void share_thenVmWithDiskInNewPool_migratesLiveWithSharingProved() throws Exception {
        Path dir = sharedDir("itvmpool");
        ItLab.Run share = ItLab.cli("storage", "share", "itvmpool", "--path", dir.toString(), "--hosts", hosts(), "--dir");
        assertThat(share.exit()).as(share.out() + share.err()).isZero();
        String vm = "it-share-vm";
        ItLab.removeEverywhere(vm);
        LabVm.Definition d = LabVm.definition(vm, dir, TestGuest.Params.defaults().withSpanMiB(8).withDelay(200_000), ItLab.get().kvmAvailable());
        try {
            try (HostSession s = ItLab.open(0)) {
                LabVm.create(s, d);
                s.startVm(vm);
                LabVm.awaitRunning(s, vm, Duration.ofSeconds(120));
            }
            ItLab.Run check = ItLab.cli("check", vm, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name());
            assertThat(check.exit()).as(check.out()).isZero();
            assertThat(check.out()).contains("Storage pool 'itvmpool' is active on the target");

            ItLab.Run run = ItLab.cli("migrate", vm, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name());

            assertThat(run.exit()).as(run.out() + run.err()).isZero();
            assertThat(run.out()).contains("> verify-storage").contains("shared (probe written through " + ItLab.host(0).name())
                    .contains(dir.resolve(vm + ".img").toString()).contains("Verified: running on " + ItLab.host(1).name());
            try (HostSession src = ItLab.open(0); HostSession dst = ItLab.open(1)) {
                assertThat(src.findVm(vm)).isEmpty();
                VmInfo there = dst.findVm(vm).orElseThrow();
                assertThat(there.state()).isEqualTo(VmState.RUNNING);
                assertThat(there.spec().disks().get(0).sourcePath()).isEqualTo(dir.resolve(vm + ".img").toString());
            }
        } finally {
            ItLab.removeEverywhere(vm);
        }
    }

    @Test
    void share_nfsExportThatCannotBeMounted_errorNamesHostServerAndExportAndNoHostIsChanged() throws Exception {
        Path mountPoint = ItLab.get().config().root().resolve("pools").resolve("itnfs");
        pools.add("itnfs");
        pools.add("itnfs-def");
        // libvirt validates the XML kvmigrate builds: defined (not started) on the second host, read back as the same pool.
        PoolSpec nfs = PoolSpec.nfs("itnfs-def", mountPoint + "-def", "127.0.0.1", "/export/kvm-def", "4.1");
        try (HostSession s = ItLab.open(1)) {
            s.storagePools().define(nfs);
            PoolStatus back = s.storagePools().find("itnfs-def").orElseThrow();
            assertThat(back.spec()).isEqualTo(nfs);
            assertThat(back.active()).isFalse();
            assertThat(back.persistent()).isTrue();
        }
        ItLab.Run listed = ItLab.cli("storage", "list", "--hosts", hosts(), "--no-probe");
        assertThat(listed.out()).contains("itnfs-def").contains("netfs").contains("inactive").contains("[127.0.0.1:/export/kvm-def (nfs, version 4.1)]");
        List<String> before0 = poolsOf(0);
        List<String> before1 = poolsOf(1);

        ItLab.Run run = ItLab.cli("storage", "share", "itnfs", "--path", mountPoint.toString(), "--hosts", hosts(), "--nfs", "127.0.0.1:/export/kvm",
                "--nfs-version", "4.2", "--rollback-on-failure", "--json");

        assertThat(run.exit()).isEqualTo(ErrorCode.LIBVIRT_ERROR.exitCode());
        JsonNode j = json(run);
        JsonNode error = j.get("error");
        assertThat(error.get("host").asText()).isEqualTo(ItLab.host(0).name());
        assertThat(error.get("message").asText()).contains("Host '" + ItLab.host(0).name() + "'").contains("127.0.0.1:/export/kvm")
                .contains("step start").contains("nfsvers=4.2").doesNotContain("\n");
        assertThat(error.get("hint").asText()).contains(ItLab.host(0).name()).contains("127.0.0.1:/export/kvm").contains("4.2");
        assertThat(j.get("hosts")).extracting(h -> h.get("status").asText()).containsExactly("failed", "unchanged");
        assertThat(j.get("changedHosts")).isEmpty();
        assertThat(poolsOf(0)).isEqualTo(before0);
        assertThat(poolsOf(1)).isEqualTo(before1);
    }

    @Test
    void share_directoryMissingOnSecondHost_changedFirstHostReportedAndKeptOrRolledBackOnRequest() throws Exception {
        // /var/lib/libvirt is private to each lab host: this directory exists on the first host only.
        String path = "/var/lib/libvirt/images/itpriv";
        Files.createDirectories(ItLab.host(0).dir().resolve("var/lib/libvirt/images/itpriv"));
        pools.add("itpriv");

        ItLab.Run kept = ItLab.cli("storage", "share", "itpriv", "--path", path, "--hosts", hosts(), "--dir", "--json");

        assertThat(kept.exit()).isEqualTo(ErrorCode.LIBVIRT_ERROR.exitCode());
        JsonNode j = json(kept);
        assertThat(j.get("error").get("host").asText()).isEqualTo(ItLab.host(1).name());
        assertThat(j.get("error").get("message").asText()).contains(path).contains("host '" + ItLab.host(0).name() + "' (define, start, autostart) kept its changes");
        assertThat(j.get("hosts")).extracting(h -> h.get("status").asText()).containsExactly("changed", "failed");
        assertThat(j.get("changedHosts")).extracting(JsonNode::asText).containsExactly(ItLab.host(0).name());
        assertThat(pool(0, "itpriv")).get().matches(p -> p.active() && p.autostart());
        assertThat(pool(1, "itpriv")).isEmpty();

        removePools();
        ItLab.Run rolledBack = ItLab.cli("storage", "share", "itpriv", "--path", path, "--hosts", hosts(), "--dir", "--rollback-on-failure", "--json");

        assertThat(rolledBack.exit()).isEqualTo(ErrorCode.LIBVIRT_ERROR.exitCode());
        assertThat(json(rolledBack).get("hosts")).extracting(h -> h.get("status").asText()).containsExactly("rolled_back", "failed");
        assertThat(json(rolledBack).get("changedHosts")).isEmpty();
        assertThat(pool(0, "itpriv")).isEmpty();
        assertThat(pool(1, "itpriv")).isEmpty();
    }

    @Test
    void share_directoryPrivateToEachHost_definedOnBothButProofFailsAndRollbackRemovesBoth() throws Exception {
        String path = "/var/lib/libvirt/images/itboth";
        for (int i = 0; i < 2; i++) Files.createDirectories(ItLab.host(i).dir().resolve("var/lib/libvirt/images/itboth"));
        pools.add("itboth");

        ItLab.Run run = ItLab.cli("storage", "share", "itboth", "--path", path, "--hosts", hosts(), "--dir", "--rollback-on-failure", "--json");

        assertThat(run.exit()).isEqualTo(ErrorCode.STORAGE_NOT_SHARED.exitCode());
        JsonNode j = json(run);
        assertThat(j.get("error").get("message").asText()).contains("is not there through '" + ItLab.host(1).name() + "'")
                .contains("is not there through '" + ItLab.host(0).name() + "'");
        assertThat(j.get("pairs")).hasSize(2).noneMatch(p -> p.get("shared").asBoolean());
        assertThat(j.get("hosts")).extracting(h -> h.get("status").asText()).containsExactly("rolled_back", "rolled_back");
        assertThat(pool(0, "itboth")).isEmpty();
        assertThat(pool(1, "itboth")).isEmpty();
    }

    private static JsonNode findPool(JsonNode list, String name) {
        for (JsonNode p : list.get("pools")) if (p.get("name").asText().equals(name)) return p;
        throw new AssertionError("pool " + name + " not listed: " + list);
    }
}
