package io.kvmigrate.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.spi.MigrationHandle;
import io.kvmigrate.core.spi.MigrationOptions;
import io.kvmigrate.core.spi.VolumeUpload;
import io.kvmigrate.testkit.FakeHypervisor.FakeHost;
import io.kvmigrate.testkit.FaultPlan.Op;
import java.util.List;
import org.junit.jupiter.api.Test;

class FaultPlanTest {
    private final FakeHypervisor hv = new FakeHypervisor();
    private final FakeHost a = hv.addHost("a");
    private final FakeHost b = hv.addHost("b");
    private static final VmSpec WEB = new VmSpec("web", "uuid-web", "kvm", "x86_64", "pc", null, 1 << 20, 1, null, List.of(), List.of(),
            List.of(), "<domain><name>web</name></domain>");

    FaultPlanTest() {
        a.put(WEB, VmState.RUNNING, true);
    }

    private static ErrorCode code(Throwable t) {
        return ((KvmigrateException) t).code();
    }

    @Test
    void fail_defineOnHostB_throwsThatCodeOnBOnlyAndChangesNothing() {
        hv.faults().on("b", Op.DEFINE).fail(ErrorCode.TARGET_CONFLICT, "domain 'web' already exists");

        assertThatThrownBy(() -> b.defineVm(WEB.xml())).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.TARGET_CONFLICT);
            assertThat(e.host()).isEqualTo("b");
            assertThat(e.vm()).isEqualTo("web");
            assertThat(e.getMessage()).isEqualTo("Tried to define VM but failed because: domain 'web' already exists");
        });
        assertThat(b.findVm("web")).isEmpty();
        assertThat(b.calls).isEmpty();
        a.defineVm(WEB.xml());
        assertThat(hv.faults().fired()).containsExactly("b: DEFINE web");
    }

    @Test
    void loseConnection_onThirdCall_thatAndLaterCallsFailUntilTheHostIsOpenedAgain() {
        hv.faults().on("a", Op.ANY).onCall(3).loseConnection();
        a.findVm("web");
        a.facts();

        assertThatThrownBy(() -> a.listVms()).satisfies(e -> assertThat(code(e)).isEqualTo(ErrorCode.HOST_UNREACHABLE));
        assertThatThrownBy(() -> a.findVm("web")).satisfies(e -> assertThat(code(e)).isEqualTo(ErrorCode.HOST_UNREACHABLE));
        assertThat(b.listVms()).isEmpty();
        hv.open(a.host());
        assertThat(a.findVm("web")).isPresent();
    }

    @Test
    void killMigration_atPostCopySwitch_switchTakesEffectThenTheJobFails() {
        hv.faults().on("a", Op.POSTCOPY_SWITCH).killMigration(ErrorCode.LIBVIRT_ERROR, "connection reset by peer");
        MigrationHandle m = a.startLiveMigration("web", b.host(), new MigrationOptions(0, 0, true, false, true, false, 0));
        assertThat(m.completion().toCompletableFuture()).isNotDone();

        m.startPostCopy();

        assertThat(m.completion().toCompletableFuture()).isCompletedExceptionally();
        assertThat(b.findVm("web")).get().matches(v -> v.state() == VmState.RUNNING && !v.persistent());
        assertThat(a.pausedInPostCopy("web")).isTrue();
    }

    @Test
    void killMigration_atTheSecondPoll_failsTheJobThen() {
        hv.faults().on("a", Op.JOB_STATS).onCall(2).killMigration(ErrorCode.MIGRATION_FAILED, "qemu unexpectedly closed the monitor");
        MigrationHandle m = a.startLiveMigration("web", b.host(), new MigrationOptions(0, 0, true, false, false, false, 0));
        m.stats();
        assertThat(m.completion().toCompletableFuture()).isNotDone();
        m.stats();
        assertThat(m.completion().toCompletableFuture()).isCompletedExceptionally();
    }

    @Test
    void afterBytes_upload_failsTheWriteThatGoesPastAndKeepsNothing() {
        b.addPool("local", "/images", 10 << 20);
        b.createVolume("local", "web.img", "raw", 4 << 20);
        hv.faults().on("b", Op.UPLOAD_DATA).afterBytes(1 << 20).fail(ErrorCode.LIBVIRT_ERROR, "No space left on device");
        VolumeUpload up = b.uploadVolume("/images/web.img", true);
        up.data(new byte[1 << 20], 1 << 20);

        assertThatThrownBy(() -> up.data(new byte[1], 1)).hasMessage("Tried to write to /images/web.img but failed because: No space left on device");
        assertThat(b.volumeContent("/images/web.img")).get().satisfies(c -> assertThat(c).isEmpty());
    }

    @Test
    void ignore_shutdown_guestKeepsRunningAndTheCallIsLogged() {
        hv.faults().on("a", Op.SHUTDOWN).ignore();
        a.shutdownVm("web");
        assertThat(a.findVm("web")).get().matches(v -> v.state() == VmState.RUNNING);
        assertThat(a.calls).containsExactly("shutdown web");
    }

    @Test
    void rule_ignoreOnDefineOrKillOnFacts_isRefused() {
        assertThatThrownBy(() -> hv.faults().on("a", Op.DEFINE).ignore()).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> hv.faults().on("a", Op.FACTS).killMigration(ErrorCode.INTERNAL, "x"))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
