package io.kvmigrate.core.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.PoolSpec;
import io.kvmigrate.core.spi.PoolStatus;
import io.kvmigrate.core.storage.ShareStorage.Action;
import io.kvmigrate.core.storage.ShareStorage.HostOutcome;
import io.kvmigrate.core.storage.ShareStorage.Status;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.FakeHypervisor.FakeHost;
import io.kvmigrate.testkit.FaultPlan.Op;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ShareStorageTest {
    private static final String PATH = "/kvm/disk";
    private static final PoolSpec DIR = PoolSpec.dir("vmstore", PATH);
    private static final PoolSpec NFS = PoolSpec.nfs("vmstore", PATH, "192.168.20.4", "/nfsshare", "4.2");

    private final FakeHypervisor hv = new FakeHypervisor();
    private final FakeHost a = hv.addHost("kvm1");
    private final FakeHost b = hv.addHost("kvm2");
    private final FakeHost c = hv.addHost("kvm3");
    private final List<ShareStorage.Event> events = new ArrayList<>();
    private final ShareStorage share = new ShareStorage(new io.kvmigrate.core.engine.SharedStorageVerifier(), events::add);

    private List<HostSession> all() {
        return List.of(a, b, c);
    }

    private static List<Status> statuses(ShareReport r) {
        return r.hosts().stream().map(HostOutcome::status).toList();
    }

    /** Every change on any host, without the probe's file traffic (the fakes log pool calls only). */
    private List<String> poolCalls() {
        return hv.log.stream().filter(l -> l.contains(": pool-")).toList();
    }

    @Test
    void share_noHostHasPool_definesStartsAndAutostartsOnEveryHostThenProvesEveryOrderedPair() {
        hv.shareDirectory(PATH);

        ShareReport r = share.share(NFS, all(), false);

        assertThat(r.ok()).as(String.valueOf(r.failure())).isTrue();
        assertThat(r.hosts()).extracting(h -> h.plan().action()).containsOnly(Action.DEFINE);
        assertThat(statuses(r)).containsOnly(Status.CHANGED);
        assertThat(r.changedHosts()).containsExactly("kvm1", "kvm2", "kvm3");
        for (FakeHost h : List.of(a, b, c)) {
            PoolStatus p = h.storagePools().find("vmstore").orElseThrow();
            assertThat(p.spec()).isEqualTo(NFS);
            assertThat(p.active()).isTrue();
            assertThat(p.autostart()).isTrue();
            assertThat(p.persistent()).isTrue();
        }
        assertThat(poolCalls()).containsExactly("kvm1: pool-define vmstore", "kvm1: pool-start vmstore", "kvm1: pool-autostart vmstore=true",
                "kvm2: pool-define vmstore", "kvm2: pool-start vmstore", "kvm2: pool-autostart vmstore=true",
                "kvm3: pool-define vmstore", "kvm3: pool-start vmstore", "kvm3: pool-autostart vmstore=true");
        assertThat(r.pairs()).extracting(p -> p.writer() + ">" + p.reader()).containsExactlyInAnyOrder("kvm1>kvm2", "kvm1>kvm3",
                "kvm2>kvm1", "kvm2>kvm3", "kvm3>kvm1", "kvm3>kvm2");
        assertThat(r.pairs()).allMatch(PairProof::shared);
        assertThat(events).extracting(ShareStorage.Event::step).contains("define", "start", "autostart", "prove");
    }

    @Test
    void share_runTwice_secondRunLeavesEveryHostAloneAndProvesAgain() {
        hv.shareDirectory(PATH);
        share.share(DIR, all(), false);
        int before = poolCalls().size();

        ShareReport again = share.share(DIR, all(), false);

        assertThat(again.ok()).isTrue();
        assertThat(again.hosts()).extracting(h -> h.plan().action()).containsOnly(Action.LEAVE);
        assertThat(statuses(again)).containsOnly(Status.UNCHANGED);
        assertThat(again.changedHosts()).isEmpty();
        assertThat(poolCalls()).hasSize(before);
        assertThat(again.pairs()).hasSize(6).allMatch(PairProof::shared);
    }

    @Test
    void share_identicalPoolInactiveOrNotAutostart_onlyStartsOrMarksIt() {
        hv.shareDirectory(PATH);
        a.storagePools().put(DIR, false, true, true);
        b.storagePools().put(DIR, true, false, true);

        ShareReport r = share.share(DIR, List.of(a, b), false);

        assertThat(r.ok()).isTrue();
        assertThat(r.hosts()).extracting(h -> h.plan().action()).containsExactly(Action.COMPLETE, Action.COMPLETE);
        assertThat(poolCalls()).containsExactly("kvm1: pool-start vmstore", "kvm2: pool-autostart vmstore=true");
    }

    @Test
    void share_oneHostHasPoolOfThatNameAtAnotherPath_conflictAndNothingChangedAnywhere() {
        hv.shareDirectory(PATH);
        b.storagePools().put(PoolSpec.dir("vmstore", "/var/lib/libvirt/images"), true, true, true);

        ShareReport r = share.share(DIR, all(), true);

        assertThat(r.ok()).isFalse();
        assertThat(r.failure().code()).isEqualTo(ErrorCode.TARGET_CONFLICT);
        assertThat(r.failure().host()).isEqualTo("kvm2");
        assertThat(r.failure().getMessage()).contains("kvm2").contains("path /var/lib/libvirt/images (wanted: /kvm/disk)")
                .contains("Nothing was changed on any host");
        assertThat(r.failure().hint()).doesNotContain("--");
        assertThat(r.hosts()).extracting(h -> h.plan().action()).containsExactly(Action.DEFINE, Action.CONFLICT, Action.DEFINE);
        assertThat(statuses(r)).containsOnly(Status.UNCHANGED);
        assertThat(hv.log).as("no call on any host, not even a probe").isEmpty();
        assertThat(r.pairs()).isEmpty();
    }

    @Test
    void share_otherNfsVersionOrFormatOnOneHost_conflictNamingTheDifference() {
        hv.shareDirectory(PATH);
        a.storagePools().put(PoolSpec.nfs("vmstore", PATH, "192.168.20.4", "/nfsshare", "4.2"), true, true, true);
        b.storagePools().put(new PoolSpec("vmstore", "netfs", PATH, "192.168.20.4", "/nfsshare", "auto", null), true, true, true);

        ShareReport r = share.share(NFS, List.of(a, b), false);

        assertThat(r.failure().code()).isEqualTo(ErrorCode.TARGET_CONFLICT);
        assertThat(r.hosts().get(0).plan().action()).isEqualTo(Action.LEAVE);
        assertThat(r.hosts().get(1).plan().reason()).contains("format auto (wanted: nfs)").contains("NFS version unset (wanted: 4.2)");
        assertThat(poolCalls()).isEmpty();
    }

    @Test
    void share_anotherPoolHoldsTheDirectory_conflict() {
        a.storagePools().put(PoolSpec.dir("images", PATH), true, true, true);

        ShareReport r = share.share(DIR, List.of(a, b), false);

        assertThat(r.failure().code()).isEqualTo(ErrorCode.TARGET_CONFLICT);
        assertThat(r.hosts().get(0).plan().reason()).contains("pool 'images' already uses /kvm/disk");
        assertThat(poolCalls()).isEmpty();
    }

    @Test
    void share_anotherPoolMountsTheSameExport_conflict() {
        b.storagePools().put(PoolSpec.nfs("nfs1", "/mnt/nfs1", "192.168.20.4", "/nfsshare", "4.2"), true, true, true);

        ShareReport r = share.share(NFS, List.of(a, b), false);

        assertThat(r.hosts().get(1).plan().reason()).contains("pool 'nfs1' already mounts 192.168.20.4:/nfsshare");
        assertThat(poolCalls()).isEmpty();
    }

    @Test
    void share_identicalButTransientPool_conflict() {
        a.storagePools().put(DIR, true, false, false);

        ShareReport r = share.share(DIR, List.of(a, b), false);

        assertThat(r.hosts().get(0).plan().action()).isEqualTo(Action.CONFLICT);
        assertThat(r.hosts().get(0).plan().reason()).contains("transient");
    }

    @Test
    void share_startFailsOnLaterHost_failingHostLeftAsItWasAndChangedHostsReportedAndKept() {
        hv.shareDirectory(PATH);
        hv.faults().on("kvm2", Op.POOL_START).of("vmstore").once().fail(b.storagePools().libvirtError(
                "Tried to start storage pool 'vmstore' but failed because: mount.nfs: Connection timed out"));

        ShareReport r = share.share(NFS, all(), false);

        assertThat(r.ok()).isFalse();
        assertThat(statuses(r)).containsExactly(Status.CHANGED, Status.FAILED, Status.UNCHANGED);
        assertThat(r.changedHosts()).containsExactly("kvm1");
        KvmigrateException e = r.failure();
        assertThat(e.code()).isEqualTo(ErrorCode.LIBVIRT_ERROR);
        assertThat(e.host()).isEqualTo("kvm2");
        assertThat(e.getMessage()).contains("Host 'kvm2'").contains("192.168.20.4:/nfsshare").contains("Connection timed out")
                .contains("host 'kvm1' (define, start, autostart) kept its changes");
        assertThat(e.hint()).contains("kvm2").contains("192.168.20.4:/nfsshare").contains("4.2").doesNotContain("--");
        assertThat(a.storagePools().find("vmstore")).get().matches(PoolStatus::active);
        assertThat(b.storagePools().find("vmstore")).as("the failing host's own define is undone").isEmpty();
        assertThat(c.storagePools().find("vmstore")).isEmpty();
        assertThat(poolCalls()).containsExactly("kvm1: pool-define vmstore", "kvm1: pool-start vmstore", "kvm1: pool-autostart vmstore=true",
                "kvm2: pool-define vmstore", "kvm2: pool-undefine vmstore");
        assertThat(r.pairs()).as("no proof after a failure").isEmpty();
    }

    @Test
    void share_startFailsOnLaterHostWithRollback_everyChangedHostUndoneLastFirst() {
        hv.shareDirectory(PATH);
        a.storagePools().put(DIR, false, false, true); // identical but inactive: started and marked, then both undone
        hv.faults().on("kvm3", Op.POOL_START).of("vmstore").once().fail(c.storagePools().libvirtError("cannot open directory '/kvm/disk': No such file"));

        ShareReport r = share.share(DIR, all(), true);

        assertThat(statuses(r)).containsExactly(Status.ROLLED_BACK, Status.ROLLED_BACK, Status.FAILED);
        assertThat(r.changedHosts()).isEmpty();
        assertThat(r.failure().getMessage()).contains("host 'kvm1' (start, autostart) was rolled back")
                .contains("host 'kvm2' (define, start, autostart) was rolled back");
        assertThat(r.failure().hint()).contains("/kvm/disk exists on host 'kvm3'");
        assertThat(a.storagePools().find("vmstore")).get().matches(p -> !p.active() && !p.autostart(), "inactive, not autostart again");
        assertThat(b.storagePools().find("vmstore")).isEmpty();
        assertThat(c.storagePools().find("vmstore")).isEmpty();
        assertThat(poolCalls()).containsSubsequence("kvm3: pool-undefine vmstore", "kvm2: pool-autostart vmstore=false", "kvm2: pool-stop vmstore",
                "kvm2: pool-undefine vmstore", "kvm1: pool-autostart vmstore=false", "kvm1: pool-stop vmstore");
    }

    @Test
    void share_undoFails_reportedAsRollbackFailedWithTheStepsDone() {
        hv.shareDirectory(PATH);
        hv.faults().on("kvm2", Op.POOL_AUTOSTART).of("vmstore").once().fail(b.storagePools().libvirtError("autostart link: permission denied"));
        hv.faults().on("kvm2", Op.POOL_STOP).of("vmstore").once().fail(b.storagePools().libvirtError("device busy"));

        ShareReport r = share.share(DIR, List.of(a, b), true);

        assertThat(statuses(r)).containsExactly(Status.ROLLED_BACK, Status.ROLLBACK_FAILED);
        assertThat(r.hosts().get(1).detail()).contains("Could not undo start").contains("device busy");
        assertThat(r.failure().getMessage()).contains("Could not undo start of pool 'vmstore' on host 'kvm2'");
    }

    @Test
    void share_directoryNotSharedBetweenHosts_storageNotSharedNamingThePairsAndPoolsKept() {
        ShareReport r = share.share(DIR, List.of(a, b), false);

        assertThat(r.failure().code()).isEqualTo(ErrorCode.STORAGE_NOT_SHARED);
        assertThat(r.failure().getMessage()).contains("through 'kvm1' is not there through 'kvm2'").contains("through 'kvm2' is not there through 'kvm1'")
                .contains("kept its changes");
        assertThat(r.pairs()).hasSize(2).noneMatch(PairProof::shared);
        assertThat(statuses(r)).containsOnly(Status.CHANGED);
        assertThat(r.failure().hint()).doesNotContain("--");
    }

    @Test
    void share_notSharedWithRollback_poolsUndone() {
        ShareReport r = share.share(DIR, List.of(a, b), true);

        assertThat(r.failure().code()).isEqualTo(ErrorCode.STORAGE_NOT_SHARED);
        assertThat(statuses(r)).containsOnly(Status.ROLLED_BACK);
        assertThat(a.storagePools().list()).isEmpty();
        assertThat(b.storagePools().list()).isEmpty();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "vm store|/kvm/disk|Pool name",
            "-vmstore|/kvm/disk|Pool name",
            "vm'store|/kvm/disk|Pool name",
            "vmstore|kvm/disk|not an absolute path",
            "vmstore|/kvm/../etc|unusual component",
            "vmstore|/kvm//disk|unusual component",
            "vmstore|/kvm/di sk|unusual component",
            "vmstore|/kvm/disk'$(reboot)|unusual component",
            "vmstore|/|root directory"})
    void share_oddNameOrPath_invalidInputBeforeAnyHostIsTouched(String name, String path, String complaint) {
        assertThatThrownBy(() -> share.share(PoolSpec.dir(name, path), List.of(a, b), false))
                .isInstanceOfSatisfying(KvmigrateException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_INPUT);
                    assertThat(e.getMessage()).contains(complaint);
                });
        assertThat(hv.log).isEmpty();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "nfs server;rm|/nfsshare|4.2|NFS server",
            "-bad.example|/nfsshare|4.2|NFS server",
            "192.168.20.4|nfsshare|4.2|NFS export",
            "192.168.20.4|/nfs share|4.2|NFS export",
            "192.168.20.4|/nfsshare|4.7|NFS version",
            "192.168.20.4|/nfsshare|4.2,nolock|NFS version"})
    void share_oddNfsSource_invalidInput(String server, String export, String version, String complaint) {
        assertThatThrownBy(() -> share.share(PoolSpec.nfs("vmstore", PATH, server, export, version), List.of(a, b), false))
                .isInstanceOfSatisfying(KvmigrateException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_INPUT);
                    assertThat(e.getMessage()).contains(complaint);
                });
        assertThat(hv.log).isEmpty();
    }

    @Test
    void share_trailingSlashOnPathOrExport_isTheSamePool() {
        hv.shareDirectory(PATH);
        a.storagePools().put(NFS, true, true, true);
        b.storagePools().put(NFS, true, true, true);

        ShareReport r = share.share(PoolSpec.nfs("vmstore", PATH + "/", "192.168.20.4", "/nfsshare/", "4.2"), List.of(a, b), false);

        assertThat(r.ok()).isTrue();
        assertThat(r.hosts()).extracting(h -> h.plan().action()).containsOnly(Action.LEAVE);
    }

    @Test
    void share_oneHostOrHostNamedTwiceOrSameHostByTwoNames_invalidInput() {
        assertThatThrownBy(() -> share.share(DIR, List.of(a), false)).hasMessageContaining("at least two hosts");
        assertThatThrownBy(() -> share.share(DIR, List.of(a, b, a), false)).hasMessageContaining("'kvm1' is named twice");
        b.withHostUuid("0b5e7e3e-0000-4000-8000-000000000001");
        c.withHostUuid("0B5E7E3E-0000-4000-8000-000000000001");
        assertThatThrownBy(() -> share.share(DIR, List.of(a, b, c), false)).isInstanceOfSatisfying(KvmigrateException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_INPUT)).hasMessageContaining("'kvm2' and 'kvm3' are the same host");
        assertThat(hv.log).isEmpty();
    }
}
