package io.kvmigrate.core.preflight;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.engine.ConvergencePolicy;
import io.kvmigrate.core.engine.LiveMigration;
import io.kvmigrate.core.engine.MigrationEvent;
import io.kvmigrate.core.model.DiskSpec;
import io.kvmigrate.core.model.MigrationRequest;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.ManualScheduler;
import io.kvmigrate.testkit.MutableClock;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class PreflightTest {
    private final FakeHypervisor hv = new FakeHypervisor();
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    private final CountDownLatch bothGathering = new CountDownLatch(2);

    private static VmSpec vm(String disk) {
        return new VmSpec("web", "uuid-web", "kvm", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", 1 << 20, 1, null,
                List.of(new DiskSpec("vda", "disk", "file", disk, "raw", null, null, false, false)), List.of(), List.of(),
                "<domain><devices><disk type='file'><driver name='qemu' cache='none'/><target dev='vda'/></disk></devices></domain>");
    }

    /**
     * Wraps a host so each call is counted; an inventory call waits (bounded) until the other host's inventory call
     * has started too, so the run only completes quickly when both are gathered at the same time.
     */
    private HostSession counting(HostSession real, String name) {
        return (HostSession) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {HostSession.class}, (p, m, args) -> {
            calls.computeIfAbsent(name + "." + m.getName(), k -> new AtomicInteger()).incrementAndGet();
            if (m.getName().equals("inventory")) {
                bothGathering.countDown();
                calls.computeIfAbsent(name + ".overlapped", k -> new AtomicInteger())
                        .addAndGet(bothGathering.await(10, TimeUnit.SECONDS) ? 1 : 0);
            }
            try {
                return m.invoke(real, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }

    @Test
    void run_twoHosts_gathersEachInventoryOnceAndInParallel() {
        FakeHypervisor.FakeHost a = hv.addHost("a");
        FakeHypervisor.FakeHost b = hv.addHost("b");
        hv.shareDirectory("/nfs");
        a.put(vm("/nfs/web.img"), VmState.RUNNING, true);
        a.putFile("/nfs/web.img", new byte[4096]);
        VmInfo info = a.findVm("web").orElseThrow();

        PreflightReport r = Preflight.standard().run(counting(a, "a"), counting(b, "b"), info, Mode.LIVE);

        assertThat(calls.get("a.inventory").get()).isEqualTo(1);
        assertThat(calls.get("b.inventory").get()).isEqualTo(1);
        assertThat(calls.get("a.overlapped").get()).as("source gathered while the target was gathering").isEqualTo(1);
        assertThat(calls.get("b.overlapped").get()).isEqualTo(1);
        assertThat(calls).doesNotContainKeys("a.facts", "b.facts", "a.listVms", "b.listVms");
        assertThat(r.passes(List.of())).as(r.findings().toString()).isTrue();
        assertThat(r.verifiedDisks()).hasSize(1);
    }

    @Test
    void run_oneDiskShared_oneLocal_reportsEachDiskOnItsOwn() {
        FakeHypervisor.FakeHost a = hv.addHost("a");
        FakeHypervisor.FakeHost b = hv.addHost("b");
        hv.shareDirectory("/nfs");
        VmSpec base = vm("/nfs/web.img");
        VmSpec two = new VmSpec(base.name(), base.uuid(), base.domainType(), base.arch(), base.machine(), base.emulator(), base.memoryKiB(),
                base.vcpus(), base.cpuMode(), List.of(base.disks().get(0),
                new DiskSpec("vdb", "disk", "file", "/var/lib/libvirt/images/data.img", "raw", null, null, false, false)),
                List.of(), List.of(), base.xml().replace("</devices>", "<disk type='file'><driver cache='none'/><target dev='vdb'/></disk></devices>"));
        a.put(two, VmState.RUNNING, true);
        a.putFile("/nfs/web.img", new byte[4096]);
        a.putFile("/var/lib/libvirt/images/data.img", new byte[8192]);

        PreflightReport r = Preflight.standard().run(a, b, a.findVm("web").orElseThrow(), Mode.LIVE);

        assertThat(r.with(Severity.FAIL)).extracting(Finding::code).containsExactly("STORAGE_NOT_SHARED");
        assertThat(r.with(Severity.FAIL).get(0).message()).contains("vdb");
        assertThat(r.findings()).filteredOn(f -> f.check().equals("STORAGE") && f.severity() == Severity.PASS).hasSize(1);
    }

    @Test
    void run_diskInDirectoryNotShared_failureOffersSharingThatDirectoryOnBothHosts() {
        FakeHypervisor.FakeHost a = hv.addHost("a");
        FakeHypervisor.FakeHost b = hv.addHost("b");
        a.put(vm("/var/lib/libvirt/images/web.img"), VmState.RUNNING, true);
        a.putFile("/var/lib/libvirt/images/web.img", new byte[4096]);

        PreflightReport r = Preflight.standard().run(a, b, a.findVm("web").orElseThrow(), Mode.LIVE);

        Finding f = r.with(Severity.FAIL).get(0);
        assertThat(f.code()).isEqualTo("STORAGE_NOT_SHARED");
        assertThat(f.remedy()).isEqualTo(new Remedy.SharePool("images", "/var/lib/libvirt/images", List.of("a", "b")));
        assertThat(f.hint()).contains("/var/lib/libvirt/images").doesNotContain("--");
    }

    @Test
    void run_blockDeviceDisk_notSharedWithoutSharingRemedy() {
        FakeHypervisor.FakeHost a = hv.addHost("a");
        FakeHypervisor.FakeHost b = hv.addHost("b");
        VmSpec base = vm("/dev/vg0/web");
        a.put(base.withDisks(List.of(new DiskSpec("vda", "disk", "block", "/dev/vg0/web", "raw", null, null, false, false))), VmState.RUNNING, true);

        PreflightReport r = Preflight.standard().run(a, b, a.findVm("web").orElseThrow(), Mode.LIVE);

        Finding f = r.with(Severity.FAIL).stream().filter(x -> x.code().equals("STORAGE_NOT_SHARED")).findFirst().orElseThrow();
        assertThat(f.remedy()).isNull();
    }

    @Test
    void liveMigrationStart_overridableFailureAccepted_migratesElseRefuses() {
        FakeHypervisor.FakeHost a = hv.addHost("a");
        FakeHypervisor.FakeHost b = hv.addHost("b");
        hv.shareDirectory("/nfs");
        VmSpec base = vm("/nfs/web.img");
        VmSpec eight = new VmSpec(base.name(), base.uuid(), base.domainType(), base.arch(), base.machine(), base.emulator(), base.memoryKiB(),
                8, base.cpuMode(), base.disks(), base.nics(), base.hostDevices(), base.xml());
        a.put(eight, VmState.RUNNING, true);
        a.putFile("/nfs/web.img", new byte[4096]);
        MutableClock clock = new MutableClock();
        List<MigrationEvent> events = new java.util.concurrent.CopyOnWriteArrayList<>();
        LiveMigration m = new LiveMigration(a, b, clock, new ManualScheduler(clock), events::add, Duration.ofMillis(500), ConvergencePolicy.PLAIN);
        MigrationRequest request = new MigrationRequest("web", a.host(), b.host(), 0, 0, null);

        assertThatThrownBy(() -> m.start(request)).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.PREFLIGHT_FAILED);
            assertThat(e.getMessage()).contains("TARGET_CPUS_INSUFFICIENT");
        });
        assertThat(a.lastMigration).isNull();

        m.start(request, Set.of("TARGET_CPUS_INSUFFICIENT"));
        assertThat(a.lastMigration).isNotNull();
        assertThat(events).filteredOn(e -> e instanceof MigrationEvent.PreflightFinished).hasSize(2);
    }

    @Test
    void liveMigrationStart_hostDeviceAccepted_stillRefused() {
        FakeHypervisor.FakeHost a = hv.addHost("a");
        FakeHypervisor.FakeHost b = hv.addHost("b");
        hv.shareDirectory("/nfs");
        VmSpec base = vm("/nfs/web.img");
        VmSpec withDev = new VmSpec(base.name(), base.uuid(), base.domainType(), base.arch(), base.machine(), base.emulator(),
                base.memoryKiB(), base.vcpus(), base.cpuMode(), base.disks(), base.nics(), List.of("pci"), base.xml());
        a.put(withDev, VmState.RUNNING, true);
        a.putFile("/nfs/web.img", new byte[4096]);
        MutableClock clock = new MutableClock();
        LiveMigration m = new LiveMigration(a, b, clock, new ManualScheduler(clock), e -> { }, Duration.ofMillis(500), ConvergencePolicy.PLAIN);
        MigrationRequest request = new MigrationRequest("web", a.host(), b.host(), 0, 0, null);

        assertThatThrownBy(() -> m.start(request, Set.of("HOSTDEV_PRESENT"))).isInstanceOfSatisfying(KvmigrateException.class,
                e -> assertThat(e.getMessage()).contains("HOSTDEV_PRESENT"));
        assertThat(a.lastMigration).isNull();
    }
}
