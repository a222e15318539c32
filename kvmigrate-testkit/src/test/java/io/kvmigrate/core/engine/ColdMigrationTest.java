package io.kvmigrate.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.ColdMigrationRequest;
import io.kvmigrate.core.model.DiskSpec;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.spi.DefinitionRewriter;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.FaultPlan;
import io.kvmigrate.testkit.FaultPlan.Op;
import io.kvmigrate.testkit.ManualScheduler;
import io.kvmigrate.testkit.MutableClock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ColdMigrationTest {
    private static final long MIB = 1 << 20;
    private final FakeHypervisor hv = new FakeHypervisor();
    private final MutableClock clock = new MutableClock();
    private final ManualScheduler scheduler = new ManualScheduler(clock);
    private final List<MigrationEvent> events = new CopyOnWriteArrayList<>();
    private final List<String> violations = new CopyOnWriteArrayList<>();
    private final DefinitionRewriter rewriter = (xml, disks, nets) -> xml + "<!--" + disks + nets + "-->";
    private FakeHypervisor.FakeHost src;
    private FakeHypervisor.FakeHost dst;
    private byte[] bootContent;
    private byte[] dataContent;

    static VmSpec vm(String name, String... diskPaths) {
        List<DiskSpec> disks = new java.util.ArrayList<>();
        for (int i = 0; i < diskPaths.length; i++) {
            disks.add(new DiskSpec("vd" + (char) ('a' + i), "disk", "file", diskPaths[i], "raw", null, null, false, false));
        }
        return new VmSpec(name, "uuid-" + name, "kvm", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", 1 << 20, 1, null, disks,
                List.of(), List.of(), "<domain><name>" + name + "</name></domain>");
    }

    @BeforeEach
    void hosts() {
        src = hv.addHost("a").addPool("local", "/var/lib/libvirt/images", 1024 * MIB);
        dst = hv.addHost("b").addPool("local", "/var/lib/libvirt/images", 1024 * MIB).addPool("big", "/big", 1024 * MIB);
        bootContent = new byte[4096];
        Arrays.fill(bootContent, (byte) 7);
        dataContent = new byte[2 * (int) MIB];
        for (int i = 0; i < dataContent.length; i++) dataContent[i] = (byte) (i * 31);
        src.putVolume("/var/lib/libvirt/images/db.img", "raw", 64 * MIB, bootContent);
        src.putVolume("/var/lib/libvirt/images/db-data.qcow2", "qcow2", 256 * MIB, dataContent);
        src.put(vm("db", "/var/lib/libvirt/images/db.img", "/var/lib/libvirt/images/db-data.qcow2"), VmState.SHUTOFF, true);
        // The safety invariant, checked after every single mutating call on any host.
        hv.afterEveryCall(call -> {
            boolean defined = src.findVm("db").map(VmInfo::persistent).orElse(false) || dst.findVm("db").map(VmInfo::persistent).orElse(false);
            if (!defined) violations.add("no persistent definition after " + call);
            boolean sourceDisksGone = src.volume("/var/lib/libvirt/images/db.img").isEmpty();
            boolean verifiedCopy = dst.volumeContent("/var/lib/libvirt/images/db.img").map(b -> Arrays.equals(b, bootContent)).orElse(false)
                    || dst.volumeContent("/big/db.img").map(b -> Arrays.equals(b, bootContent)).orElse(false);
            if (sourceDisksGone && !verifiedCopy) violations.add("source disk deleted without a verified copy after " + call);
        });
    }

    private ColdMigration migration() {
        return new ColdMigration(src, dst, clock, scheduler, events::add, rewriter, Duration.ofMillis(500));
    }

    private ColdMigrationRequest request(boolean keepSource, Map<String, String> pools) {
        return new ColdMigrationRequest("db", src.host(), dst.host(), false, Duration.ofSeconds(60), false, false, keepSource, pools, Map.of());
    }

    @Test
    void run_localDisks_copiesVerifiesDefinesThenRemovesSource() {
        ColdMigrationReport report = migration().run(request(false, Map.of()));

        assertThat(report.storage()).isEqualTo("copied");
        assertThat(report.disks()).hasSize(2);
        assertThat(dst.volumeContent("/var/lib/libvirt/images/db.img")).get().isEqualTo(bootContent);
        assertThat(dst.volumeContent("/var/lib/libvirt/images/db-data.qcow2")).get().isEqualTo(dataContent);
        assertThat(dst.volume("/var/lib/libvirt/images/db-data.qcow2").orElseThrow().format()).isEqualTo("qcow2");
        assertThat(dst.volume("/var/lib/libvirt/images/db.img").orElseThrow().capacity()).isEqualTo(64 * MIB);
        assertThat(dst.findVm("db")).get().matches(VmInfo::persistent);
        assertThat(src.findVm("db")).isEmpty();
        assertThat(src.volume("/var/lib/libvirt/images/db.img")).isEmpty();
        assertThat(src.volume("/var/lib/libvirt/images/db-data.qcow2")).isEmpty();
        assertThat(violations).isEmpty();
        List<String> log = hv.log;
        assertThat(log.indexOf("b: define db")).isLessThan(log.indexOf("a: undefine db"));
        assertThat(log.indexOf("a: undefine db")).isLessThan(log.indexOf("a: delete-volume /var/lib/libvirt/images/db.img"));
        // holes are skipped: only the data prefix of the raw disk travels, not its 64 MiB
        assertThat(report.disks().get(0).bytesSent()).isEqualTo(bootContent.length);
        assertThat(events).anyMatch(e -> e instanceof MigrationEvent.DiskCopied);
    }

    /**
     * Issue 12: the verify-failed branch of the cold copy was reached by no test (removing the verification kept the
     * suite green). One byte of the target copy flipped between its upload and its read-back: VERIFY_FAILED, the source
     * untouched, nothing of the VM left on the target.
     */
    @Test
    void run_targetCopyCorruptedAfterUpload_verifyFailedSourceUntouchedTargetCleaned() {
        String path = "/var/lib/libvirt/images/db-data.qcow2";
        hv.faults().on("b", FaultPlan.Op.DOWNLOAD).of(path).once().run(() -> {
            byte[] copy = dst.volumeContent(path).orElseThrow();
            copy[copy.length / 2] ^= 0x40;
            dst.putVolume(path, "qcow2", 256 * MIB, copy);
        });
        assertThatThrownBy(() -> migration().run(request(false, Map.of()))).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.VERIFY_FAILED);
            assertThat(e.host()).isEqualTo("b");
            assertThat(e.vm()).isEqualTo("db");
            assertThat(e.getMessage()).contains("does not match").contains("The source is untouched");
        });
        assertThat(hv.faults().fired()).containsExactly("b: DOWNLOAD " + path);
        assertThat(src.findVm("db")).get().matches(VmInfo::persistent);
        assertThat(src.volumeContent(path)).get().isEqualTo(dataContent);
        assertThat(src.volumeContent("/var/lib/libvirt/images/db.img")).get().isEqualTo(bootContent);
        assertThat(dst.findVm("db")).isEmpty();
        assertThat(dst.volume(path)).isEmpty();
        assertThat(dst.volume("/var/lib/libvirt/images/db.img")).isEmpty();
        assertThat(violations).isEmpty();
    }

    @Test
    void run_keepSource_leavesDefinitionAndDisksOnBoth() {
        migration().run(request(true, Map.of()));

        assertThat(src.findVm("db")).get().matches(VmInfo::persistent);
        assertThat(dst.findVm("db")).get().matches(VmInfo::persistent);
        assertThat(src.volumeContent("/var/lib/libvirt/images/db.img")).get().isEqualTo(bootContent);
        assertThat(dst.volumeContent("/var/lib/libvirt/images/db.img")).get().isEqualTo(bootContent);
        assertThat(hv.log).noneMatch(c -> c.startsWith("a: undefine") || c.startsWith("a: delete-volume"));
    }

    @Test
    void run_mapPool_putsDisksInMappedPoolAndRewritesPaths() {
        migration().run(request(false, Map.of("local", "big")));

        assertThat(dst.volumeContent("/big/db.img")).get().isEqualTo(bootContent);
        assertThat(dst.findVm("db").orElseThrow().spec().xml()).contains("vda=/big/db.img").contains("vdb=/big/db-data.qcow2");
        assertThat(violations).isEmpty();
    }

    @Test
    void run_writeFailsDuringCopy_removesTargetVolumesLeavesSourceAndRerunWorks() {
        hv.faults().on("b", Op.UPLOAD_DATA).afterBytes(MIB).fail(ErrorCode.LIBVIRT_ERROR, "No space left on device");

        assertThatThrownBy(() -> migration().run(request(false, Map.of())))
                .isInstanceOf(KvmigrateException.class)
                .satisfies(e -> {
                    KvmigrateException k = (KvmigrateException) e;
                    assertThat(k.code()).isEqualTo(ErrorCode.MIGRATION_FAILED);
                    assertThat(k.vm()).isEqualTo("db");
                    assertThat(k.getMessage()).contains("No space left", "source is untouched", "Nothing of it is left on 'b'");
                });
        assertThat(dst.volume("/var/lib/libvirt/images/db.img")).isEmpty();
        assertThat(dst.volume("/var/lib/libvirt/images/db-data.qcow2")).isEmpty();
        assertThat(dst.findVm("db")).isEmpty();
        assertThat(src.findVm("db")).get().matches(VmInfo::persistent);
        assertThat(src.volumeContent("/var/lib/libvirt/images/db-data.qcow2")).get().isEqualTo(dataContent);

        hv.faults().clear();
        ColdMigrationReport again = migration().run(request(false, Map.of()));
        assertThat(again.placement().persistentOn()).containsExactly("b");
        assertThat(violations).isEmpty();
    }

    @Test
    void run_cancelledDuringCopy_failsCancelledAndCleansTarget() {
        ColdMigration m = migration();
        m.cancel();

        assertThatThrownBy(() -> m.run(request(false, Map.of())))
                .isInstanceOf(KvmigrateException.class)
                .satisfies(e -> assertThat(((KvmigrateException) e).code()).isEqualTo(ErrorCode.CANCELLED));
        assertThat(dst.volume("/var/lib/libvirt/images/db.img")).isEmpty();
        assertThat(src.findVm("db")).get().matches(VmInfo::persistent);
    }

    /** A cancel that arrives while {@code phase} runs (the listener hears the step start on the engine's own thread). */
    private ColdMigration cancelledDuring(Phase phase) {
        java.util.concurrent.atomic.AtomicReference<ColdMigration> self = new java.util.concurrent.atomic.AtomicReference<>();
        ColdMigration m = new ColdMigration(src, dst, clock, scheduler, e -> {
            events.add(e);
            if (e instanceof MigrationEvent.PhaseStarted p && p.phase() == phase) self.get().cancel();
        }, rewriter, Duration.ofMillis(500));
        self.set(m);
        return m;
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(value = Phase.class, names = {"CHECK", "VERIFY_STORAGE", "PLAN_STORAGE", "COPY_STORAGE",
            "VERIFY_COPY", "DEFINE"})
    void run_cancelledDuringAStepBeforeTheSourceIsTouched_cancelledInThatStepNothingLeftOnTarget(Phase phase) {
        ColdMigration m = cancelledDuring(phase);

        assertThatThrownBy(() -> m.run(request(false, Map.of()))).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.CANCELLED);
            // verify-storage ends in plan-storage here (the disks are local): the cancel is taken at the end of that one;
            // the read-back of a copy is the copier's, which stops mid-read and names its step copy-storage
            Phase named = phase == Phase.VERIFY_STORAGE ? Phase.PLAN_STORAGE : phase == Phase.VERIFY_COPY ? Phase.COPY_STORAGE : phase;
            assertThat(e.step()).isEqualTo(named.label());
            assertThat(e.vm()).isEqualTo("db");
            assertThat(e.host()).isNotBlank();
        });
        assertThat(dst.findVm("db")).isEmpty();
        assertThat(dst.volume("/var/lib/libvirt/images/db.img")).isEmpty();
        assertThat(dst.volume("/var/lib/libvirt/images/db-data.qcow2")).isEmpty();
        assertThat(src.findVm("db")).get().matches(VmInfo::persistent);
        assertThat(src.volumeContent("/var/lib/libvirt/images/db.img")).get().isEqualTo(bootContent);
        assertThat(violations).isEmpty();
    }

    @Test
    void run_cancelledDuringShutdown_startsTheVmAgainOnTheSource() {
        src.put(vm("db", "/var/lib/libvirt/images/db.img", "/var/lib/libvirt/images/db-data.qcow2"), VmState.RUNNING, true);
        ColdMigration m = cancelledDuring(Phase.SHUTDOWN);
        ColdMigrationRequest r = new ColdMigrationRequest("db", src.host(), dst.host(), true, Duration.ofSeconds(60), true, false, false,
                Map.of(), Map.of());

        assertThatThrownBy(() -> m.run(r)).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.CANCELLED);
            assertThat(e.step()).isEqualTo("shutdown");
            assertThat(e.getMessage()).contains("started again on 'a'");
        });
        assertThat(src.findVm("db")).get().matches(v -> v.state() == VmState.RUNNING && v.persistent());
        assertThat(dst.findVm("db")).isEmpty();
        assertThat(dst.volume("/var/lib/libvirt/images/db.img")).isEmpty();
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(value = Phase.class, names = {"CLEANUP", "VERIFY"})
    void run_cancelledOnceTheTargetHoldsVerifiedDisksAndTheDefinition_isRefusedAndTheMoveCompletes(Phase phase) {
        ColdMigration m = cancelledDuring(phase);

        ColdMigrationReport report = m.run(request(false, Map.of()));

        assertThat(report.placement().persistentOn()).containsExactly("b");
        assertThat(src.findVm("db")).isEmpty();
        assertThat(events).anySatisfy(e -> assertThat(e).isInstanceOfSatisfying(MigrationEvent.Decision.class,
                d -> assertThat(d.action()).isEqualTo("cancel refused")));
        assertThat(violations).isEmpty();
    }

    @Test
    void run_targetPoolTooSmall_failsBeforeCreatingAnything() {
        dst.addPool("tiny", "/tiny", MIB);

        assertThatThrownBy(() -> migration().run(request(false, Map.of("local", "tiny"))))
                .isInstanceOf(KvmigrateException.class)
                .satisfies(e -> {
                    KvmigrateException k = (KvmigrateException) e;
                    assertThat(k.code()).isEqualTo(ErrorCode.PREFLIGHT_FAILED);
                    assertThat(k.host()).isEqualTo("b");
                    assertThat(k.getMessage()).contains("'tiny'", "free");
                });
        assertThat(hv.log).noneMatch(c -> c.contains("create-volume") || c.contains("define"));
    }

    @Test
    void run_sharedStorage_movesDefinitionOnly() {
        hv.shareDirectory("/nfs");
        src.addPool("nfs", "/nfs", 1024 * MIB);
        dst.addPool("nfs", "/nfs", 1024 * MIB);
        src.removeVm("db");
        src.putVolume("/nfs/web.img", "raw", 8 * MIB, bootContent);
        src.put(vm("web", "/nfs/web.img"), VmState.SHUTOFF, true);

        ColdMigrationReport r = new ColdMigration(src, dst, clock, scheduler, events::add, rewriter, Duration.ofMillis(500))
                .run(new ColdMigrationRequest("web", src.host(), dst.host(), false, Duration.ofSeconds(60), false, false, false, Map.of(), Map.of()));

        assertThat(r.storage()).isEqualTo("shared");
        assertThat(hv.log).noneMatch(c -> c.contains("volume"));
        assertThat(dst.volumeContent("/nfs/web.img")).get().isEqualTo(bootContent);
        assertThat(dst.findVm("web")).get().matches(VmInfo::persistent);
        assertThat(src.findVm("web")).isEmpty();
    }

    @Test
    void run_runningWithoutShutdown_refusedBeforeTouchingAnything() {
        src.startVm("db");
        hv.log.clear();

        assertThatThrownBy(() -> migration().run(request(false, Map.of())))
                .isInstanceOf(KvmigrateException.class)
                .satisfies(e -> assertThat(((KvmigrateException) e).hint()).contains("{shutdown}"));
        assertThat(hv.log).isEmpty();
    }

    @Test
    void run_shutdownAndStart_shutsDownCopiesAndStartsOnTarget() {
        src.startVm("db");

        ColdMigrationReport r = migration().run(new ColdMigrationRequest("db", src.host(), dst.host(), true, Duration.ofSeconds(60), false,
                true, false, Map.of(), Map.of()));

        assertThat(r.placement().runningOn()).containsExactly("b");
        assertThat(hv.log.indexOf("a: shutdown db")).isLessThan(hv.log.indexOf("b: create-volume /var/lib/libvirt/images/db.img"));
        assertThat(violations).isEmpty();
    }

    @Test
    void run_guestIgnoresShutdown_timesOutLeavingItRunning() throws Exception {
        src.startVm("db");
        hv.faults().on("a", Op.SHUTDOWN).ignore();
        var result = new java.util.concurrent.CompletableFuture<ColdMigrationReport>();
        Thread t = new Thread(() -> {
            try {
                result.complete(migration().run(new ColdMigrationRequest("db", src.host(), dst.host(), true, Duration.ofSeconds(30), false,
                        false, false, Map.of(), Map.of())));
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
        t.start();
        while (!result.isDone()) {
            scheduler.advance(Duration.ofSeconds(1), Duration.ofMillis(500));
            Thread.onSpinWait();
        }
        t.join();

        assertThatThrownBy(result::join).hasCauseInstanceOf(KvmigrateException.class)
                .satisfies(e -> assertThat(((KvmigrateException) e.getCause()).code()).isEqualTo(ErrorCode.TIMEOUT));
        assertThat(src.findVm("db").orElseThrow().state()).isEqualTo(VmState.RUNNING);
        assertThat(hv.log).noneMatch(c -> c.startsWith("b:") || c.contains("destroy"));
    }

    @Test
    void run_oneSharedOneLocalDisk_copiesOnlyTheLocalOneAndKeepsTheSharedFile() {
        hv.shareDirectory("/nfs");
        src.addPool("nfs", "/nfs", 1024 * MIB);
        dst.addPool("nfs", "/nfs", 1024 * MIB);
        src.removeVm("db");
        src.putVolume("/nfs/mix.img", "raw", 8 * MIB, bootContent);
        src.putVolume("/var/lib/libvirt/images/mix-data.raw", "raw", 8 * MIB, dataContent);
        src.put(vm("mix", "/nfs/mix.img", "/var/lib/libvirt/images/mix-data.raw"), VmState.SHUTOFF, true);

        ColdMigrationReport r = new ColdMigration(src, dst, clock, scheduler, events::add, rewriter, Duration.ofMillis(500))
                .run(new ColdMigrationRequest("mix", src.host(), dst.host(), false, Duration.ofSeconds(60), false, false, false, Map.of(), Map.of()));

        assertThat(r.disks()).extracting(ColdMigrationReport.DiskCopy::disk).containsExactly("vdb");
        assertThat(dst.volumeContent("/nfs/mix.img")).get().isEqualTo(bootContent);
        assertThat(hv.log).noneMatch(c -> c.contains("delete-volume /nfs/"));
        assertThat(dst.volumeContent("/var/lib/libvirt/images/mix-data.raw")).get().isEqualTo(dataContent);
        assertThat(src.volume("/var/lib/libvirt/images/mix-data.raw")).isEmpty();
    }

    @Test
    void run_poolVolumeDisk_refusedBeforeTouchingAnything() {
        src.removeVm("db");
        VmSpec v = new VmSpec("vol", "uuid-vol", "kvm", "x86_64", "pc", null, 1 << 20, 1, null,
                List.of(new DiskSpec("vda", "disk", "volume", null, "qcow2", "local", "vol.qcow2", false, false)), List.of(), List.of(),
                "<domain><name>vol</name></domain>");
        src.put(v, VmState.SHUTOFF, true);

        assertThatThrownBy(() -> new ColdMigration(src, dst, clock, scheduler, events::add, rewriter, Duration.ofMillis(500))
                .run(new ColdMigrationRequest("vol", src.host(), dst.host(), false, Duration.ofSeconds(60), false, false, false, Map.of(), Map.of())))
                .isInstanceOf(KvmigrateException.class)
                .hasMessageContaining("pool volume");
        assertThat(hv.log).isEmpty();
    }
}
