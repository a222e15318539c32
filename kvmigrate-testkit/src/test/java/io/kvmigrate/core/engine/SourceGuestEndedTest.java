package io.kvmigrate.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.MigrationRequest;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.ManualScheduler;
import io.kvmigrate.testkit.MutableClock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The source's QEMU ends mid-transfer (killed, crashed): the report says the guest died there and what is kept. */
class SourceGuestEndedTest {
    @Test
    void completion_sourceGuestEndedMidTransfer_saysItStoppedRunningThereAndIsStillDefined() {
        FakeHypervisor hv = new FakeHypervisor();
        FakeHypervisor.FakeHost src = hv.addHost("a");
        FakeHypervisor.FakeHost dst = hv.addHost("b");
        hv.shareDirectory("/nfs");
        src.put(LiveMigrationTest.vm("web", "/nfs/web.img"), VmState.RUNNING, true);
        src.putFile("/nfs/web.img", new byte[4096]);
        MutableClock clock = new MutableClock();
        CompletableFuture<MigrationReport> f = new LiveMigration(src, dst, clock, new ManualScheduler(clock), e -> { }, Duration.ofMillis(500),
                ConvergencePolicy.PLAIN).start(new MigrationRequest("web", src.host(), dst.host(), 100, 300, null));
        src.put(LiveMigrationTest.vm("web", "/nfs/web.img"), VmState.SHUTOFF, true); // its QEMU was killed
        src.lastMigration.fail(new KvmigrateException(ErrorCode.LIBVIRT_ERROR, null, "a", "web",
                "Tried to migrate to 'b' but failed because: operation failed: domain 'web' is not running", "libvirt log"));
        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.MIGRATION_FAILED);
            assertThat(e.host()).isEqualTo("a");
            assertThat(e.vm()).isEqualTo("web");
            assertThat(e.getMessage()).contains("The VM stopped running on 'a' during the migration").contains("runs on no host now")
                    .contains("stays defined on 'a' with its disks").contains("nothing of it is left on 'b'").contains("domain 'web' is not running");
            assertThat(e.hint()).contains("Start it again on 'a'");
        });
    }
}
