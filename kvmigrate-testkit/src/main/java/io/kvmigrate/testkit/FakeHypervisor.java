package io.kvmigrate.testkit;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.spi.ComposedHostSession;
import io.kvmigrate.core.spi.Domains;
import io.kvmigrate.core.spi.GuestProbes;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.HypervisorConnector;
import io.kvmigrate.core.spi.Inventory;
import io.kvmigrate.core.spi.MigrationHandle;
import io.kvmigrate.core.spi.MigrationOptions;
import io.kvmigrate.core.spi.Migrations;
import io.kvmigrate.core.spi.Volumes;
import io.kvmigrate.testkit.FaultPlan.Op;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * In-memory hosts for unit tests of pure logic. Each {@link FakeHost} is made of one fake per role ({@link FakeDomains},
 * {@link FakeVolumes}, {@link FakeMigrations}, {@link FakeInventory}, {@link FakeGuestProbes}), each holding its own
 * state; files live in a shared or per-host map, VMs in per-host maps; a migration is a {@link FakeMigration} the test
 * scripts (statistics, then success or failure). Faults come from one {@link FaultPlan} for all hosts.
 */
public final class FakeHypervisor implements HypervisorConnector {
    private final Map<String, FakeHost> hosts = new LinkedHashMap<>();
    final Map<String, byte[]> sharedFiles = new HashMap<>();
    private final List<String> sharedDirs = new ArrayList<>();
    final Map<String, FakeVolumes.FakeVolume> sharedVolumes = new HashMap<>();
    private final FaultPlan faults = new FaultPlan();
    /** Every host's mutating calls, in order, as "host: call". */
    public final List<String> log = Collections.synchronizedList(new ArrayList<>());
    private final List<Consumer<String>> afterCall = new CopyOnWriteArrayList<>();
    private final List<Consumer<FakeMigration>> afterMigration = new CopyOnWriteArrayList<>();
    private final MigrationCounter counter = new MigrationCounter();
    private volatile java.util.function.Function<VmInfo, java.time.Duration> autoComplete;
    private java.util.concurrent.ScheduledExecutorService completer;

    /**
     * From now on every live migration succeeds by itself after {@code delay(vm)} (real time, on a timer thread of this
     * fake), for tests that run many moves through the facade without scripting each one.
     */
    public synchronized void completeMigrationsAfter(java.util.function.Function<VmInfo, java.time.Duration> delay) {
        if (completer == null) {
            completer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "fake-migration-completer");
                t.setDaemon(true);
                return t;
            });
        }
        autoComplete = delay;
    }

    /** Runs {@code check} right after every migration that succeeded has moved its VM (for invariants such as no overcommit). */
    public void afterEveryMigration(Consumer<FakeMigration> check) {
        afterMigration.add(check);
    }

    /** How many live migrations ran at once, at most, in all, out of one host and into one host, since the fake was made. */
    public MigrationCounter.Peaks migrationPeaks() {
        return counter.peaks();
    }

    /** Counts running migrations as they start and end, and records the most seen at once. */
    void migrationStarted(FakeMigration m) {
        counter.started(m.source().host().name(), m.target().host().name());
        m.completion().whenComplete((ok, err) -> counter.ended(m.source().host().name(), m.target().host().name()));
        java.util.function.Function<VmInfo, java.time.Duration> delay = autoComplete;
        if (delay != null) {
            completer.schedule(() -> {
                if (!m.ended()) m.succeed(new JobStats(1, m.vm.spec().memoryKiB() << 10, m.vm.spec().memoryKiB() << 10, 0,
                        m.vm.spec().memoryKiB() << 10, m.vm.spec().memoryKiB() << 10, 0, 1 << 30, 0, 4096, 1, 20, 0, 0, 0, 0, 0));
            }, delay.apply(m.vm).toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
        }
    }

    /** Runs {@code check} after every mutating call of any host (for invariants that must hold at every moment). */
    public void afterEveryCall(Consumer<String> check) {
        afterCall.add(check);
    }

    /** The faults every host injects. */
    public FaultPlan faults() {
        return faults;
    }

    public FakeHost addHost(String name) {
        FakeHost h = new FakeHost(new HostRef(name, "qemu+tcp://" + name + "/system"));
        hosts.put(h.host().uri(), h);
        return h;
    }

    /** Files under {@code dir} are the same on every host. */
    public void shareDirectory(String dir) {
        sharedDirs.add(dir);
    }

    /** The host's session; opening a host again restores a connection the fault plan had lost. */
    @Override
    public HostSession open(HostRef ref) {
        FakeHost h = hostAt(ref);
        faults.reconnect(h.host().name());
        return h;
    }

    FakeHost hostAt(HostRef ref) {
        FakeHost h = hosts.get(ref.uri());
        if (h == null) {
            throw new KvmigrateException(ErrorCode.HOST_UNREACHABLE, "connect", ref.name(), null, "no such fake host", null);
        }
        return h;
    }

    Collection<FakeHost> hosts() {
        return hosts.values();
    }

    boolean shared(String path) {
        return sharedDirs.stream().anyMatch(path::startsWith);
    }

    /** One fake host: its roles, the test's handles on them, and the calls it saw. */
    public final class FakeHost extends ComposedHostSession {
        final FakeDomains domains = new FakeDomains(this);
        final FakeVolumes volumes = new FakeVolumes(this);
        final FakeMigrations migrations = new FakeMigrations(this);
        final FakeInventory inventory = new FakeInventory(this);
        final FakeGuestProbes guestProbes = new FakeGuestProbes(this);
        /** The migration this host started last (a resumed post-copy included). */
        public volatile FakeMigration lastMigration;
        /** The options of the last live migration started from this host. */
        public volatile MigrationOptions lastOptions;
        /** How many times a post-copy resume was asked for. */
        public volatile int postCopyResumes;
        /** Mutating calls in order ("define vm", "undefine vm", "create-volume path", "delete-volume path", ...), for ordering assertions. */
        public final List<String> calls = new ArrayList<>() {
            @Override
            public synchronized boolean add(String call) {
                super.add(call);
                log.add(host().name() + ": " + call);
                afterCall.forEach(r -> r.accept(host().name() + ": " + call));
                return true;
            }
        };

        FakeHost(HostRef ref) {
            super(ref);
        }

        /** This host has {@code cpus} CPUs and {@code memoryKiB} of memory; its free memory is what its running VMs leave. */
        public FakeHost withCapacity(int cpus, long memoryKiB) {
            inventory.capacity(cpus, memoryKiB);
            return this;
        }

        /** This host has these libvirt networks (active); by default it has none. */
        public FakeHost withNetworks(String... names) {
            inventory.networks(List.of(names));
            return this;
        }

        public FakeHost withHostUuid(String uuid) {
            inventory.hostUuid(uuid);
            return this;
        }

        public void put(VmSpec spec, VmState state, boolean persistent) {
            domains.put(spec, state, persistent);
        }

        public void removeVm(String name) {
            domains.remove(name);
        }

        /** Creates a file (a disk) on this host, in shared storage if its directory is shared. */
        public void putFile(String path, byte[] content) {
            volumes.putFile(path, content);
        }

        /** Adds a dir pool on {@code path} with {@code capacity} bytes (all free at first). */
        public FakeHost addPool(String name, String path, long capacity) {
            volumes.addPool(name, path, capacity);
            return this;
        }

        /** Puts a volume with the given content; content beyond the array is a hole up to {@code physical}. */
        public void putVolume(String path, String format, long capacity, byte[] content) {
            volumes.putVolume(path, format, capacity, content);
        }

        /** Content of a volume, or empty. */
        public Optional<byte[]> volumeContent(String path) {
            return volumes.volumeContent(path);
        }

        /** The dirty rate the next measurement of {@code vm} will report, finished at once. */
        public void scriptDirtyRate(String vm, long mibPerSecond) {
            guestProbes.scriptDirtyRate(vm, mibPerSecond);
        }

        /** The host's pools for {@link io.kvmigrate.core.storage} logic (apart from {@link #addPool}, which cold migration reads). */
        @Override
        public FakeStoragePools storagePools() {
            return volumes.storagePools();
        }

        /** Asks the fault plan about a call of this host (see {@link FaultPlan}). */
        FaultPlan.Hit fault(Op op, String subject) {
            return faults.check(host().name(), op, subject, 0);
        }

        FaultPlan.Hit fault(Op op, String subject, long bytes) {
            return faults.check(host().name(), op, subject, bytes);
        }

        FakeHypervisor hypervisor() {
            return FakeHypervisor.this;
        }

        @Override
        protected Domains domainsRole() {
            return domains;
        }

        @Override
        protected Volumes volumesRole() {
            return volumes;
        }

        @Override
        protected Migrations migrationsRole() {
            return migrations;
        }

        @Override
        protected Inventory inventoryRole() {
            return inventory;
        }

        @Override
        protected GuestProbes guestProbesRole() {
            return guestProbes;
        }

        @Override
        public void close() {
        }
    }

    /**
     * A scripted migration: the test sets statistics, then calls {@link #succeed} or {@link #fail}. Its steps (stats, abort,
     * downtime, bandwidth, post-copy switch) ask the fault plan as the source host's calls.
     */
    public static final class FakeMigration implements MigrationHandle {
        private final FakeHost source;
        private final FakeHost target;
        final VmInfo vm;
        private final CompletableFuture<Void> done = new CompletableFuture<>();
        private volatile JobStats stats = JobStats.NONE;
        private volatile boolean inPostCopy;
        public final List<String> calls = new ArrayList<>();

        FakeMigration(FakeHost source, FakeHost target, VmInfo vm) {
            this.source = source;
            this.target = target;
            this.vm = vm;
        }

        public void setStats(JobStats s) {
            stats = s;
        }

        /** The VM now runs on the target, persistent there, gone from the source. */
        public void succeed(JobStats completedStats) {
            source.removeVm(vm.name());
            target.put(vm.spec(), VmState.RUNNING, true);
            target.migrations.completed(vm.name(), completedStats);
            source.hypervisor().afterMigration.forEach(c -> c.accept(this));
            done.complete(null);
        }

        public FakeHost source() {
            return source;
        }

        public FakeHost target() {
            return target;
        }

        public VmInfo vm() {
            return vm;
        }

        /** A hypervisor bug: reports success while the VM stayed where it was. */
        public void claimSuccessWithoutMoving() {
            done.complete(null);
        }

        public void fail(KvmigrateException e) {
            done.completeExceptionally(e);
        }

        public boolean aborted() {
            return calls.contains("abort");
        }

        /** Whether the job has ended (succeeded, failed or aborted). */
        boolean ended() {
            return done.isDone();
        }

        @Override
        public JobStats stats() {
            FaultPlan.Hit hit = source.fault(Op.JOB_STATS, vm.name());
            JobStats s = done.isDone() ? JobStats.NONE : stats;
            killIfPlanned(hit);
            return s;
        }

        @Override
        public synchronized void abort() {
            FaultPlan.Hit hit = source.fault(Op.ABORT, vm.name());
            calls.add("abort");
            if (!done.isDone() && !hit.ignored()) {
                done.completeExceptionally(new KvmigrateException(ErrorCode.CANCELLED, null, source.host().name(), vm.name(),
                        "operation aborted: migration out job: canceled by client", null));
            }
            killIfPlanned(hit);
        }

        @Override
        public synchronized void setMaxDowntime(long millis) {
            FaultPlan.Hit hit = source.fault(Op.SET_DOWNTIME, vm.name());
            calls.add("downtime=" + millis);
            killIfPlanned(hit);
        }

        @Override
        public synchronized void setBandwidth(long mibPerSecond) {
            FaultPlan.Hit hit = source.fault(Op.SET_BANDWIDTH, vm.name());
            calls.add("bandwidth=" + mibPerSecond);
            killIfPlanned(hit);
        }

        /** When set, a dirty limit is refused as QEMU refuses it for a guest without the dirty ring. */
        public volatile boolean refuseDirtyLimit;

        @Override
        public synchronized void setDirtyLimit(long mibPerSecondPerVcpu) {
            if (refuseDirtyLimit) {
                throw new KvmigrateException(ErrorCode.MIGRATION_FAILED, "migrate", source.host().name(), vm.name(),
                        "Tried to set the per-vCPU dirty limit but QEMU refused: dirty page limit feature requires KVM with accelerator"
                                + " property 'dirty-ring-size' set'", null);
            }
            calls.add("dirtylimit=" + mibPerSecondPerVcpu);
        }

        @Override
        public synchronized void startPostCopy() {
            FaultPlan.Hit hit = source.fault(Op.POSTCOPY_SWITCH, vm.name());
            calls.add("postcopy");
            if (!hit.ignored()) {
                inPostCopy = true;
                target.put(vm.spec(), VmState.RUNNING, false); // the guest now runs on the target, pulling pages
            }
            killIfPlanned(hit);
        }

        /** The target's QEMU ends during post-copy: its VM is gone (and with it the pages only it held). */
        public void targetQemuEnded() {
            target.removeVm(vm.name());
        }

        /** Whether the switch to post-copy took effect (a resumed migration is in post-copy from its start). */
        boolean inPostCopy() {
            return inPostCopy || calls.contains("resume-postcopy");
        }

        /** Ends the job with the plan's error when the plan kills the migration at this step. */
        void killIfPlanned(FaultPlan.Hit hit) {
            if (hit.kill() != null) done.completeExceptionally(hit.kill());
        }

        @Override
        public CompletionStage<Void> completion() {
            return done;
        }
    }
}
