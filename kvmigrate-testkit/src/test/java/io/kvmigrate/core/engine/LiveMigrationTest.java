package io.kvmigrate.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.DiskSpec;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.model.MigrationRequest;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.FaultPlan.Op;
import io.kvmigrate.testkit.ManualScheduler;
import io.kvmigrate.testkit.MutableClock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class LiveMigrationTest {
    private final FakeHypervisor hv = new FakeHypervisor();
    private final MutableClock clock = new MutableClock();
    private final ManualScheduler scheduler = new ManualScheduler(clock);
    private final List<MigrationEvent> events = new CopyOnWriteArrayList<>();
    private FakeHypervisor.FakeHost src;
    private FakeHypervisor.FakeHost dst;

    static VmSpec vm(String name, String diskPath) {
        return new VmSpec(name, "uuid-" + name, "kvm", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", 1 << 20, 1, null,
                List.of(new DiskSpec("vda", "disk", "file", diskPath, "raw", null, null, false, false)), List.of(), List.of(), "<domain/>");
    }

    static JobStats stats(long remaining, long iteration) {
        return new JobStats(1000, 1 << 30, 1 << 29, remaining, 1 << 30, (1 << 30) - remaining, remaining, 100 << 20, 1000, 4096,
                iteration, 40, 0, 0, 0, 0, 0);
    }

    @BeforeEach
    void hosts() {
        src = hv.addHost("a");
        dst = hv.addHost("b");
        hv.shareDirectory("/nfs");
        src.put(vm("web", "/nfs/web.img"), VmState.RUNNING, true);
        src.putFile("/nfs/web.img", new byte[4096]);
    }

    private LiveMigration migration() {
        return new LiveMigration(src, dst, clock, scheduler, events::add, Duration.ofMillis(500), ConvergencePolicy.PLAIN);
    }

    private MigrationRequest request(Duration timeout) {
        return new MigrationRequest("web", src.host(), dst.host(), 100, 300, timeout);
    }

    @Test
    void start_unknownVm_throwsUnknownVmNamingHost() {
        MigrationRequest r = new MigrationRequest("nope", src.host(), dst.host(), 0, 0, null);
        assertThatThrownBy(() -> migration().start(r)).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.UNKNOWN_VM);
            assertThat(e.host()).isEqualTo("a");
            assertThat(e.step()).isEqualTo("resolve");
        });
        assertThat(src.lastMigration).isNull();
    }

    @Test
    void start_vmShutOff_throwsVmNotRunning() {
        src.put(vm("web", "/nfs/web.img"), VmState.SHUTOFF, true);
        assertThatThrownBy(() -> migration().start(request(null)))
                .isInstanceOfSatisfying(KvmigrateException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.VM_NOT_RUNNING));
        assertThat(src.lastMigration).isNull();
    }

    @Test
    void start_sameHostUuid_throwsSameHost() {
        dst.withHostUuid(src.facts().hostUuid());
        assertThatThrownBy(() -> migration().start(request(null)))
                .isInstanceOfSatisfying(KvmigrateException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.SAME_HOST));
    }

    @Test
    void start_nameOrUuidOnTarget_throwsConflict() {
        dst.put(vm("web", "/nfs/other.img"), VmState.SHUTOFF, true);
        assertThatThrownBy(() -> migration().start(request(null)))
                .isInstanceOfSatisfying(KvmigrateException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.TARGET_CONFLICT));
        dst.removeVm("web");
        VmSpec sameUuid = new VmSpec("web2", "uuid-web", "kvm", "x86_64", "pc", null, 1, 1, null, List.of(), List.of(), List.of(), "");
        dst.put(sameUuid, VmState.RUNNING, true);
        assertThatThrownBy(() -> migration().start(request(null)))
                .isInstanceOfSatisfying(KvmigrateException.class, e -> assertThat(e.getMessage()).contains("same UUID"));
    }

    @Test
    void start_diskInLocalDirectory_throwsStorageNotSharedAndLeavesNoProbe() {
        src.put(vm("web", "/var/lib/libvirt/images/web.img"), VmState.RUNNING, true);
        src.putFile("/var/lib/libvirt/images/web.img", new byte[4096]);
        assertThatThrownBy(() -> migration().start(request(null))).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.STORAGE_NOT_SHARED);
            assertThat(e.getMessage()).contains("vda").contains("/var/lib/libvirt/images");
        });
        assertThat(src.readProbe("/var/lib/libvirt/images", "web.img", 10)).isPresent();
        assertThat(src.lastMigration).isNull();
    }

    @Test
    void start_sharedDisk_migratesReportsAndVerifiesPlacement() {
        CompletableFuture<MigrationReport> f = migration().start(request(null));
        assertThat(src.lastOptions.storageVerifiedShared()).isTrue();
        assertThat(src.lastOptions.bandwidthMiBps()).isEqualTo(100);
        src.lastMigration.setStats(stats(500 << 20, 1));
        scheduler.advance(Duration.ofSeconds(1), Duration.ofMillis(100));
        src.lastMigration.setStats(stats(10 << 20, 3));
        scheduler.advance(Duration.ofSeconds(1), Duration.ofMillis(100));
        src.lastMigration.succeed(new JobStats(2100, 1 << 30, 700 << 20, 0, 1 << 30, 700 << 20, 0, 0, 0, 4096, 4, 27, 0, 0, 0, 0, 0));

        MigrationReport r = f.join();
        assertThat(r.downtimeMs()).isEqualTo(27);
        assertThat(r.migrationMs()).isEqualTo(2100);
        assertThat(r.iterations()).isEqualTo(4);
        assertThat(r.placement().runsOnlyOn("b")).isTrue();
        assertThat(events).filteredOn(e -> e instanceof MigrationEvent.Progress).hasSize(4);
        assertThat(events).filteredOn(e -> e instanceof MigrationEvent.StorageVerified).hasSize(1);
        assertThat(scheduler.activeTasks()).isZero();
    }

    @Test
    void tick_timeoutReached_abortsAndVmStaysOnSource() {
        CompletableFuture<MigrationReport> f = migration().start(request(Duration.ofSeconds(5)));
        src.lastMigration.setStats(stats(400 << 20, 9));
        scheduler.advance(Duration.ofMillis(4500), Duration.ofMillis(500));
        assertThat(src.lastMigration.aborted()).isFalse();
        scheduler.advance(Duration.ofMillis(500), Duration.ofMillis(500));
        assertThat(src.lastMigration.aborted()).isTrue();

        assertThatThrownBy(f::join).hasCauseInstanceOf(KvmigrateException.class).cause().satisfies(c -> {
            KvmigrateException e = (KvmigrateException) c;
            assertThat(e.code()).isEqualTo(ErrorCode.TIMEOUT);
            assertThat(e.getMessage()).contains("5 s").contains("still running on 'a'").contains("400 MiB remaining");
        });
        assertThat(src.findVm("web")).get().satisfies(v -> assertThat(v.state()).isEqualTo(VmState.RUNNING));
        assertThat(events).filteredOn(e -> e instanceof MigrationEvent.Decision).singleElement()
                .satisfies(d -> assertThat(((MigrationEvent.Decision) d).action()).isEqualTo("abort"));
    }

    @Test
    void tick_abortNotActedOn_isSentAgainAfterRetryInterval() {
        CompletableFuture<MigrationReport> f = migration().start(request(Duration.ofSeconds(2)));
        hv.faults().on("a", Op.ABORT).ignore();
        src.lastMigration.setStats(stats(400 << 20, 1));
        scheduler.advance(Duration.ofSeconds(2), Duration.ofMillis(500));
        assertThat(src.lastMigration.calls).containsExactly("abort");
        scheduler.advance(LiveMigration.ABORT_RETRY.minusMillis(500), Duration.ofMillis(500));
        assertThat(src.lastMigration.calls).containsExactly("abort");
        scheduler.advance(Duration.ofMillis(500), Duration.ofMillis(500));
        assertThat(src.lastMigration.calls).containsExactly("abort", "abort");
        assertThat(f).isNotDone();
        src.lastMigration.fail(new KvmigrateException(ErrorCode.CANCELLED, null, "a", "web", "canceled by client", null));
        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(KvmigrateException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.TIMEOUT));
    }

    /**
     * A cancel during a step before the transfer (Ctrl-C in check, say) ends the move after that step: no migration is
     * started (it used to start one and abort it at once), the VM runs on the source.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(value = Phase.class, names = {"RESOLVE", "CHECK", "VERIFY_STORAGE"})
    void cancel_duringAStepBeforeTheTransfer_cancelledInThatStepAndNoMigrationStarted(Phase phase) {
        java.util.concurrent.atomic.AtomicReference<LiveMigration> self = new java.util.concurrent.atomic.AtomicReference<>();
        LiveMigration m = new LiveMigration(src, dst, clock, scheduler, e -> {
            events.add(e);
            if (e instanceof MigrationEvent.PhaseStarted p && p.phase() == phase) self.get().cancel();
        }, Duration.ofMillis(500), ConvergencePolicy.PLAIN);
        self.set(m);

        assertThatThrownBy(() -> m.start(request(null))).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.CANCELLED);
            assertThat(e.step()).isEqualTo(phase.label());
            assertThat(e.host()).isEqualTo("a");
            assertThat(e.vm()).isEqualTo("web");
            assertThat(e.getMessage()).contains("nothing was started").contains("still running on 'a'");
        });
        assertThat(src.lastMigration).as("no migration started").isNull();
        assertThat(src.findVm("web")).get().matches(v -> v.state() == VmState.RUNNING);
        assertThat(dst.findVm("web")).isEmpty();
    }

    /**
     * A cancel that comes right as the policy decides to switch to post-copy (a Ctrl-C on the "switch to post-copy"
     * line) is refused: it used to be taken in the moment between the decision and the switch, aborting a job that was
     * switching to post-copy (and keeping the recovery from resuming it forward if the link then broke).
     */
    @Test
    void cancel_whenTheSwitchToPostCopyIsDecided_refusedAndTheJobNotAborted() {
        ConvergencePolicy toPostCopy = new ConvergencePolicy() {
            @Override
            public io.kvmigrate.core.spi.MigrationOptions initialOptions(MigrationRequest r) {
                return new io.kvmigrate.core.spi.MigrationOptions(r.bandwidthMiBps(), r.maxDowntimeMs(), true, false, true, false, 0);
            }

            @Override
            public List<Action> onStats(JobStats s, Duration elapsed) {
                return List.of(Action.postCopy("the test asks for it"));
            }
        };
        java.util.concurrent.atomic.AtomicReference<LiveMigration> self = new java.util.concurrent.atomic.AtomicReference<>();
        LiveMigration m = new LiveMigration(src, dst, clock, scheduler, e -> {
            events.add(e);
            if (e instanceof MigrationEvent.Decision d && d.action().equals("switch to post-copy")) self.get().cancel();
        }, Duration.ofMillis(500), toPostCopy);
        self.set(m);
        m.start(request(null));

        src.lastMigration.setStats(stats(1 << 20, 1));
        scheduler.advance(Duration.ofSeconds(1), Duration.ofMillis(500));

        assertThat(events).filteredOn(MigrationEvent.Decision.class::isInstance).map(e -> ((MigrationEvent.Decision) e).action())
                .contains("switch to post-copy", "cancel refused").doesNotContain("abort");
        assertThat(src.lastMigration.aborted()).isFalse();
        assertThat(m.postCopyStarted()).isTrue();
    }

    @Test
    void cancel_whileRunning_failsWithCancelled() {
        LiveMigration m = migration();
        CompletableFuture<MigrationReport> f = m.start(request(null));
        m.cancel();
        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(KvmigrateException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.CANCELLED));
    }

    /**
     * Issue 12, finding 1: the target's daemon killed mid-transfer made the report say "running on no host; defined on
     * no host" while the VM ran on the source. A host that cannot be read is unknown, named, with what the other showed.
     */
    @Test
    void completion_targetUnreadableAfterFailure_placementSaysUnknownOnTargetAndRunningOnSource_neverNoHost() {
        CompletableFuture<MigrationReport> f = migration().start(request(null));
        hv.faults().on("b", Op.ANY).loseConnection();
        src.lastMigration.fail(new KvmigrateException(ErrorCode.LIBVIRT_ERROR, null, "a", "web", "Tried to migrate but failed because: "
                + "End of file while reading data: Input/output error", null));
        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.MIGRATION_FAILED);
            assertThat(e.getMessage()).contains("The VM is still running on 'a'; 'b' could not be read")
                    .contains("whether anything of it is left there is unknown").doesNotContain("no host");
        });
        Placement p = events.stream().filter(MigrationEvent.Failed.class::isInstance).map(ev -> ((MigrationEvent.Failed) ev).placement())
                .findFirst().orElseThrow();
        assertThat(p.runningOn()).containsExactly("a");
        assertThat(p.unreadable()).containsOnlyKeys("b");
        assertThat(p.known()).isFalse();
        assertThat(p.toString()).contains("unknown on b (could not be read");
    }

    /** Issue 12, finding 3: a VM already migrating (another controller, virsh) is refused before anything starts. */
    @Test
    void start_vmAlreadyInAMigration_refusedWithVmBusyBeforeAnythingStarts() {
        migration().start(request(null));
        FakeHypervisor.FakeMigration first = src.lastMigration;
        assertThatThrownBy(() -> migration().start(request(null))).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.VM_BUSY);
            assertThat(e.step()).isEqualTo("resolve");
            assertThat(e.host()).isEqualTo("a");
            assertThat(e.vm()).isEqualTo("web");
            assertThat(e.getMessage()).contains("Another migration of this VM").contains("nothing was started");
        });
        assertThat(src.lastMigration).as("no second migration").isSameAs(first);
        assertThat(first.calls).as("the first one is left alone").isEmpty();
    }

    /**
     * Issue 12, finding 2: a migration stream cut in pre-copy (packets dropped) froze the job for as long as the cut
     * lasted, 180 s tried. No data moved for the no-progress timeout: aborted cleanly, VM on the source, link named.
     */
    @Test
    void tick_noDataMovedForTheNoProgressTimeout_abortsAsACutLinkWithVmOnSource() {
        CompletableFuture<MigrationReport> f = migration().noProgressTimeout(Duration.ofSeconds(30)).start(request(null));
        src.lastMigration.setStats(stats(400 << 20, 1));
        scheduler.advance(Duration.ofSeconds(29), Duration.ofMillis(500));
        assertThat(src.lastMigration.calls).as("not before the timeout").isEmpty();
        scheduler.advance(Duration.ofSeconds(2), Duration.ofMillis(500));
        assertThat(src.lastMigration.calls).containsExactly("abort");
        src.lastMigration.fail(new KvmigrateException(ErrorCode.CANCELLED, null, "a", "web", "canceled by client", null));
        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.MIGRATION_FAILED);
            assertThat(e.getMessage()).contains("no data moved for 30 s").contains("the migration stream to 'b' looks cut")
                    .contains("still running on 'a'");
        });
    }

    @Test
    void tick_dataKeepsMovingSlowly_neverAbortedForNoProgress() {
        CompletableFuture<MigrationReport> f = migration().noProgressTimeout(Duration.ofSeconds(30)).start(request(null));
        for (int s = 0; s < 120; s++) {
            src.lastMigration.setStats(stats((400L << 20) - s * 4096L, 1));
            scheduler.advance(Duration.ofSeconds(1), Duration.ofMillis(500));
        }
        assertThat(src.lastMigration.calls).isEmpty();
        assertThat(f).isNotDone();
    }

    @Test
    void placement_targetsPausedIncomingCopy_isNotARunningCopy() {
        dst.put(vm("web", "/nfs/web.img"), VmState.PAUSED, false);
        Placement p = migration().placement("web");
        assertThat(p.runningOn()).containsExactly("a");
        assertThat(p.presentOn()).containsExactly("a", "b");
        dst.put(vm("web", "/nfs/web.img"), VmState.PAUSED, true);
        assertThat(migration().placement("web").runningOn()).as("a persistent paused VM is a copy").containsExactly("a", "b");
    }

    @Test
    void completion_hypervisorError_failsWithMigrationFailedNamingVm() {
        CompletableFuture<MigrationReport> f = migration().start(request(null));
        src.lastMigration.fail(new KvmigrateException(ErrorCode.LIBVIRT_ERROR, null, "a", "web", "Tried to migrate but failed because: boom", "h"));
        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.MIGRATION_FAILED);
            assertThat(e.vm()).isEqualTo("web");
            assertThat(e.step()).isEqualTo("migrate");
            assertThat(e.getMessage()).contains("boom");
        });
    }

    @Test
    void completion_successButVmNotOnTarget_failsVerification() {
        CompletableFuture<MigrationReport> f = migration().start(request(null));
        src.lastMigration.claimSuccessWithoutMoving();
        assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.VERIFY_FAILED);
            assertThat(e.getMessage()).contains("running on a");
        });
    }
}
