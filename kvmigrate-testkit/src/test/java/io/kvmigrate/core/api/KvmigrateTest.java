package io.kvmigrate.core.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.engine.MigrationEvent;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.core.job.JobFilter;
import io.kvmigrate.core.job.JobKind;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.core.job.JobUpdate;
import io.kvmigrate.core.model.DiskSpec;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.plan.PolicyKind;
import io.kvmigrate.core.spi.MigrationOptions;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.InMemoryJobStore;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The facade on the fake hypervisor and the in-memory store: jobs, their events, VM locks, cancel and crash recovery. */
@org.junit.jupiter.api.Timeout(60)
class KvmigrateTest {
    private final FakeHypervisor hv = new FakeHypervisor();
    private final InMemoryJobStore store = new InMemoryJobStore();
    private FakeHypervisor.FakeHost src;
    private FakeHypervisor.FakeHost dst;

    @BeforeEach
    void hosts() {
        src = hv.addHost("a");
        dst = hv.addHost("b");
        hv.shareDirectory("/nfs");
        src.put(new VmSpec("web", "uuid-web", "kvm", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", 1 << 20, 1, null,
                List.of(new DiskSpec("vda", "disk", "file", "/nfs/web.img", "raw", null, null, false, false)), List.of(), List.of(), "<domain/>"),
                VmState.RUNNING, true);
        src.putFile("/nfs/web.img", new byte[4096]);
    }

    private Kvmigrate facade(String owner) {
        return Kvmigrate.configure().connector(hv).rewriter((xml, disks, nets) -> xml).store(store).owner(owner)
                .pollInterval(Duration.ofMillis(20)).load();
    }

    /** A plain live move (no plan: the fake has no guest to measure). */
    private MoveRequest move() {
        return new MoveRequest("web", src.host(), dst.host(), JobKind.LIVE, PolicyKind.PLAIN, 0, 0, null, 0, false, null, null, Set.of(),
                false, null, false, false, false, false, true);
    }

    private static void await(BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not met within 10 s");
            java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
        }
    }

    private static final JobStats DONE = new JobStats(900, 1 << 20, 1 << 20, 0, 1 << 20, 1 << 20, 0, 100 << 20, 0, 4096, 2, 30, 0, 0, 0, 0, 0);

    @Test
    void submit_liveMove_recordsTheJobItsEventsAndHowItEnded() throws Exception {
        List<String> seenWhenStored = new CopyOnWriteArrayList<>();
        try (Kvmigrate k = facade("me:1:aa")) {
            String[] id = new String[1];
            java.util.concurrent.atomic.AtomicInteger shown = new java.util.concurrent.atomic.AtomicInteger();
            JobHandle h = k.submit(move(), e -> {
                // the store has every event before the front end sees it: as many stored as shown, this one included
                int n = shown.incrementAndGet();
                String jobId = id[0] != null ? id[0] : k.jobs(JobFilter.all().vm("web")).get(0).id();
                seenWhenStored.add(e.getClass().getSimpleName() + "=" + (k.events(jobId, 0).size() - n));
            });
            id[0] = h.id();
            await(() -> src.lastMigration != null);
            assertThat(k.job(h.id()).orElseThrow().state()).isEqualTo(JobState.RUNNING);
            src.lastMigration.succeed(DONE);
            JobHandle.Outcome o = h.outcome().get(10, TimeUnit.SECONDS);
            assertThat(o.live().placement().runsOnlyOn("b")).isTrue();
            Job j = k.job(h.id()).orElseThrow();
            assertThat(j.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(j.vmUuid()).isEqualTo("uuid-web");
            assertThat(j.placement().runningOn()).containsExactly("b");
            assertThat(j.figures().totalMs()).isNotNull();
            assertThat(j.request()).containsEntry("policy", "plain").containsEntry("fromUri", "qemu+tcp://a/system");
            List<JobEvent> events = k.events(h.id(), 0);
            assertThat(events).extracting(JobEvent::type).contains(JobEvent.STEP, JobEvent.FINDING);
            assertThat(events).extracting(JobEvent::step).contains("resolve", "check", "migrate", "verify");
            assertThat(k.jobs(JobFilter.all().vm("web"))).extracting(Job::id).containsExactly(h.id());
            // the VM's lock went with the end of the job
            assertThat(store.vmLock("uuid:uuid-web")).isEmpty();
        }
        assertThat(seenWhenStored).isNotEmpty().allSatisfy(s -> assertThat(Integer.parseInt(s.substring(s.indexOf('=') + 1))).as(s).isNotNegative());
    }

    @Test
    void submit_adapterErrorWithoutStepOrVm_theJobsErrorNamesStepHostAndVm() throws Exception {
        // an adapter reports what it tried on which host, as libvirt's pool refresh did in CI: the job's record adds the rest
        hv.faults().on("b", io.kvmigrate.testkit.FaultPlan.Op.READ_PROBE).fail(ErrorCode.LIBVIRT_ERROR, "pool 'shared' has asynchronous jobs running");
        try (Kvmigrate k = facade("me:1:aa")) {
            JobHandle h = k.submit(move(), null);
            assertThatThrownBy(() -> h.outcome().get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(KvmigrateException.class);
            Job j = k.job(h.id()).orElseThrow();
            assertThat(j.state()).isEqualTo(JobState.FAILED);
            assertThat(j.error().message()).contains("asynchronous jobs running");
            assertThat(j.error()).satisfies(e -> {
                assertThat(e.step()).isEqualTo("check"); // the storage check reads the probe
                assertThat(e.host()).isEqualTo("b");
                assertThat(e.vm()).isEqualTo("web");
            });
            assertThat(src.findVm("web").orElseThrow().state()).isEqualTo(VmState.RUNNING);
        }
    }

    @Test
    void submit_sameVmWhileAJobHoldsIt_refusedWithVmBusyNamingThatJobAndNothingStarted() throws Exception {
        try (Kvmigrate first = facade("me:1:aa"); Kvmigrate second = facade("other:2:bb")) {
            JobHandle h = first.submit(move(), null);
            await(() -> src.lastMigration != null);
            FakeHypervisor.FakeMigration running = src.lastMigration;
            assertThatThrownBy(() -> second.submit(move(), null)).isInstanceOfSatisfying(KvmigrateException.class, e -> {
                assertThat(e.code()).isEqualTo(ErrorCode.VM_BUSY);
                assertThat(e.getMessage()).contains("Another migration of this VM is in progress", h.id());
                assertThat(e.vm()).isEqualTo("web");
            });
            assertThat(src.lastMigration).isSameAs(running);
            assertThat(first.jobs(new JobFilter("web", null, JobState.FAILED, 0))).singleElement()
                    .satisfies(j -> assertThat(j.error().code()).isEqualTo("VM_BUSY"));
            running.succeed(DONE);
            h.outcome().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void cancel_fromAnotherControllerThroughTheStore_ownerAbortsAndVmStaysOnSource() throws Exception {
        try (Kvmigrate owner = facade("me:1:aa"); Kvmigrate elsewhere = facade("other:2:bb")) {
            JobHandle h = owner.submit(move(), null);
            await(() -> src.lastMigration != null);
            elsewhere.cancel(h.id());
            assertThatThrownBy(() -> h.outcome().get(10, TimeUnit.SECONDS)).cause().isInstanceOfSatisfying(KvmigrateException.class,
                    e -> assertThat(e.code()).isEqualTo(ErrorCode.CANCELLED));
            assertThat(src.lastMigration.aborted()).isTrue();
            Job j = owner.job(h.id()).orElseThrow();
            assertThat(j.state()).isEqualTo(JobState.CANCELLED);
            assertThat(j.placement().runningOn()).containsExactly("a");
            assertThat(owner.events(h.id(), 0)).extracting(JobEvent::message).anyMatch(m -> m.startsWith("cancel requested"));
        }
    }

    /** A job as a controller that was killed left it: running, VM locked, its hypervisor job still going on the source. */
    private Job orphan(String deadOwner, boolean migrationStillRunning) {
        Instant longAgo = Instant.now().minusSeconds(60);
        MoveRequest r = move();
        Job j = Job.queued("j-orphan", JobKind.LIVE, "web", "uuid-web", "a", "b", r.asMap(), deadOwner, longAgo);
        store.create(j);
        store.lockVm(j.vmKey(), j.id(), deadOwner, longAgo);
        store.update(j.id(), deadOwner, JobUpdate.state(JobState.RUNNING, longAgo).withPhase("migrate"));
        src.startLiveMigration("web", dst.host(), new MigrationOptions(0, 300, true, false, false, false, 0));
        if (!migrationStillRunning) src.lastMigration.succeed(DONE);
        return j;
    }

    @Test
    void reconcile_silentControllerWithMigrationRunning_adoptsItSupervisesItAndRecordsTheEnd() throws Exception {
        Job j = orphan("gone:999999:00", true);
        try (Kvmigrate k = facade("me:1:aa")) {
            List<Reconciler.Outcome> out = k.reconcile();
            assertThat(out).singleElement().satisfies(o -> assertThat(o.action()).isEqualTo("adopted"));
            assertThat(k.job(j.id()).orElseThrow().owner()).isEqualTo("me:1:aa");
            // a second reconciler finds nothing to take: the job is owned by a live controller now
            try (Kvmigrate other = facade("other:2:bb")) {
                assertThat(other.reconcile()).isEmpty();
            }
            src.lastMigration.succeed(DONE);
            k.awaitRunning();
            Job after = k.job(j.id()).orElseThrow();
            assertThat(after.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(after.placement().runningOn()).containsExactly("b");
            assertThat(k.events(j.id(), 0)).extracting(JobEvent::message).anyMatch(m -> m.startsWith("adopted: controller gone:999999:00"));
            assertThat(store.vmLock(j.vmKey())).isEmpty();
        }
    }

    @Test
    void reconcile_adoptedMigrationCancelled_abortsAndVmStaysOnSource() throws Exception {
        Job j = orphan("gone:999999:00", true);
        try (Kvmigrate k = facade("me:1:aa")) {
            k.reconcile();
            k.cancel(j.id());
            k.awaitRunning();
            assertThat(src.lastMigration.aborted()).isTrue();
            assertThat(k.job(j.id()).orElseThrow().state()).isEqualTo(JobState.CANCELLED);
        }
    }

    @Test
    void reconcile_migrationEndedWhileNobodyWatched_recordsTheRealPlacement() {
        Job j = orphan("gone:999999:00", false);
        try (Kvmigrate k = facade("me:1:aa")) {
            assertThat(k.reconcile()).singleElement().satisfies(o -> assertThat(o.action()).isEqualTo("succeeded"));
            Job after = k.job(j.id()).orElseThrow();
            assertThat(after.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(after.placement().runningOn()).containsExactly("b");
            assertThat(after.figures().downtimeMs()).isEqualTo(30L);
        }
    }

    /** Each step before the transfer is a crash point: nothing moved, so the job ends interrupted with the VM where it was. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"resolve", "check", "verify-storage", "plan-storage", "migrate"})
    void reconcile_controllerDiedBeforeTheHypervisorJobStarted_interruptedWithVmOnSource(String phase) {
        Instant longAgo = Instant.now().minusSeconds(60);
        Job j = Job.queued("j-early", JobKind.LIVE, "web", "uuid-web", "a", "b", move().asMap(), "gone:999999:00", longAgo);
        store.create(j);
        store.update(j.id(), "gone:999999:00", JobUpdate.state(JobState.RUNNING, longAgo).withPhase(phase));
        try (Kvmigrate k = facade("me:1:aa")) {
            assertThat(k.reconcile()).singleElement().satisfies(o -> assertThat(o.action()).isEqualTo("interrupted"));
            Job after = k.job(j.id()).orElseThrow();
            assertThat(after.state()).isEqualTo(JobState.INTERRUPTED);
            assertThat(after.placement().runningOn()).containsExactly("a");
            assertThat(after.error().message()).contains("still runs on a");
        }
    }

    @Test
    void moveRequest_badCombinations_invalidInputNamingTheFieldsAsTokens() {
        assertThatThrownBy(() -> new MoveRequest("web", src.host(), dst.host(), JobKind.LIVE, PolicyKind.FINISH, 0, 0, null, 4, false, null,
                null, null, false, null, false, false, false, false, false).validate()).isInstanceOfSatisfying(KvmigrateException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_INPUT);
                    assertThat(e.getMessage()).contains("{parallel}", "{policy}");
                });
        assertThat(MoveRequest.wordFields("{maxDowntime} and {mapPool}", f -> "<" + f + ">")).isEqualTo("<maxDowntime> and <mapPool>");
        assertThat(MoveRequest.wordFields("VM {web} and {timeout}", f -> "<" + f + ">")).as("only fields are tokens").isEqualTo("VM {web} and <timeout>");
        // out of range: bad input before anything is touched, not a libvirt error later
        assertThatThrownBy(() -> new MoveRequest("web", src.host(), dst.host(), JobKind.LIVE, PolicyKind.SAFE, 0, 0, null, 256, false, null,
                null, null, false, null, false, false, false, false, false).validate()).hasMessageContaining("{parallel} must be 0..255");
        assertThatThrownBy(() -> new MoveRequest("web", src.host(), dst.host(), JobKind.LIVE, PolicyKind.SAFE, Long.MAX_VALUE, 0, null, 0, false,
                null, null, null, false, null, false, false, false, false, false).validate()).isInstanceOfSatisfying(KvmigrateException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_INPUT));
        MoveRequest r = move();
        assertThat(MoveRequest.fromMap("web", src.host(), dst.host(), r.asMap())).isEqualTo(r);
        assertThatThrownBy(() -> new MoveRequest("web", src.host(), src.host(), JobKind.LIVE, null, 0, 0, null, 0, false, null, null, null,
                false, null, false, false, false, false, false).validate()).isInstanceOfSatisfying(KvmigrateException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.SAME_HOST));
        assertThatThrownBy(() -> new MoveRequest("web", src.host(), dst.host(), JobKind.LIVE, null, 0, 0, null, 0, false, null,
                Map.of("a", "b"), null, false, null, false, false, false, false, false).validate()).hasMessageContaining("{offline}");
    }

    @Test
    void check_runsThePreflightOfTheMoveAndOpensNoStore() {
        java.util.concurrent.atomic.AtomicInteger opened = new java.util.concurrent.atomic.AtomicInteger();
        try (Kvmigrate k = Kvmigrate.configure().connector(hv).rewriter((xml, disks, nets) -> xml).store(() -> {
            opened.incrementAndGet();
            return store;
        }).load()) {
            io.kvmigrate.core.preflight.PreflightReport live = k.check("web", src.host(), dst.host(), null);
            assertThat(live.mode()).isEqualTo(io.kvmigrate.core.preflight.Mode.LIVE);
            assertThat(live.passes(Set.of())).as("%s", live.findings()).isTrue();
            assertThat(k.check("web", src.host(), dst.host(), io.kvmigrate.core.preflight.Mode.OFFLINE).mode())
                    .isEqualTo(io.kvmigrate.core.preflight.Mode.OFFLINE);
            assertThat(opened).as("a check records nothing, so it opens no store").hasValue(0);
            assertThat(k.jobs(JobFilter.all())).isEmpty();
            assertThat(opened).as("the history opens it, once").hasValue(1);
        }
    }

    @Test
    void check_unknownVm_namesTheHostAndNoFrontEndFlag() {
        try (Kvmigrate k = facade("me:1:aa")) {
            assertThatThrownBy(() -> k.check("nope", src.host(), dst.host(), null)).isInstanceOfSatisfying(KvmigrateException.class, e -> {
                assertThat(e.code()).isEqualTo(ErrorCode.UNKNOWN_VM);
                assertThat(e.step()).isEqualTo("resolve");
                assertThat(e.host()).isEqualTo("a");
                assertThat(e.getMessage() + e.hint()).contains("'a'").doesNotContain("--").doesNotContain("kvmigrate ");
            });
            assertThatThrownBy(() -> k.check("bad/name", src.host(), dst.host(), null))
                    .isInstanceOfSatisfying(KvmigrateException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_INPUT));
        }
    }

    /** An offline move of "db" (a local disk) whose controller died at {@code phase}, having shut the VM down. */
    private Job offlineOrphan(String phase) {
        src.addPool("local", "/var/lib/libvirt/images", 1 << 30);
        dst.addPool("local", "/var/lib/libvirt/images", 1 << 30);
        src.putVolume("/var/lib/libvirt/images/db.img", "raw", 1 << 20, new byte[] {1, 2, 3});
        VmSpec db = new VmSpec("db", "uuid-db", "kvm", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", 1 << 20, 1, null,
                List.of(new DiskSpec("vda", "disk", "file", "/var/lib/libvirt/images/db.img", "raw", null, null, false, false)), List.of(),
                List.of(), "<domain/>");
        src.put(db, VmState.SHUTOFF, true); // shut down by the dead controller
        Instant longAgo = Instant.now().minusSeconds(60);
        MoveRequest r = MoveRequest.live("db", src.host(), dst.host()).withKind(JobKind.OFFLINE);
        Job j = Job.queued("j-cold", JobKind.OFFLINE, "db", "uuid-db", "a", "b", r.asMap(), "gone:999999:00", longAgo);
        store.create(j);
        store.update(j.id(), "gone:999999:00", JobUpdate.state(JobState.RUNNING, longAgo).withPhase(phase));
        store.append(JobEvent.of(j.id(), longAgo, JobEvent.STEP, "shutdown", "graceful, up to 120 s", Map.of()));
        store.append(JobEvent.of(j.id(), longAgo, JobEvent.DECISION, "copy-storage", "created /var/lib/libvirt/images/db.img: target volume",
                Map.of("action", "created /var/lib/libvirt/images/db.img", "reason", "target volume")));
        dst.putVolume("/var/lib/libvirt/images/db.img", "raw", 1 << 20, new byte[] {1}); // half copied
        return j;
    }

    @Test
    void reconcile_offlineMoveDiedMidCopy_removesWhatItCreatedOnTheTargetAndStartsTheVmAgainOnTheSource() {
        Job j = offlineOrphan("copy-storage");
        try (Kvmigrate k = facade("me:1:aa")) {
            assertThat(k.reconcile()).singleElement().satisfies(o -> assertThat(o.action()).isEqualTo("interrupted"));
            Job after = k.job(j.id()).orElseThrow();
            assertThat(after.state()).isEqualTo(JobState.INTERRUPTED);
            assertThat(after.placement().runningOn()).containsExactly("a");
            assertThat(after.error().message()).contains("removed 1 volume(s)").contains("started it again on a");
        }
        assertThat(dst.volume("/var/lib/libvirt/images/db.img")).isEmpty();
        assertThat(src.volumeContent("/var/lib/libvirt/images/db.img")).get().isEqualTo(new byte[] {1, 2, 3});
        assertThat(src.findVm("db").orElseThrow().state()).isEqualTo(VmState.RUNNING);
    }

    @Test
    void reconcile_offlineMoveDiedAfterDefiningOnTheTargetAndCleaningTheSource_recordedAsDone() {
        Job j = offlineOrphan("cleanup");
        src.removeVm("db");
        VmSpec db = src.findVm("db").map(v -> v.spec()).orElse(null);
        dst.put(new VmSpec("db", "uuid-db", "kvm", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", 1 << 20, 1, null,
                List.of(new DiskSpec("vda", "disk", "file", "/var/lib/libvirt/images/db.img", "raw", null, null, false, false)), List.of(),
                List.of(), "<domain/>"), VmState.SHUTOFF, true);
        assertThat(db).isNull();
        try (Kvmigrate k = facade("me:1:aa")) {
            assertThat(k.reconcile()).singleElement().satisfies(o -> assertThat(o.action()).isEqualTo("succeeded"));
            Job after = k.job(j.id()).orElseThrow();
            assertThat(after.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(after.placement().definedOn()).containsExactly("b");
        }
        assertThat(dst.volume("/var/lib/libvirt/images/db.img")).as("a done move's disks stay").isPresent();
    }
}
