package io.kvmigrate.testkit;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.HostFacts;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.HypervisorConnector;
import io.kvmigrate.core.spi.MigrationHandle;
import io.kvmigrate.core.spi.MigrationOptions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * In-memory hosts for unit tests of pure logic. Files live in a shared or per-host map, VMs in per-host maps;
 * a migration is a {@link FakeMigration} the test scripts (statistics, then success or failure).
 */
public final class FakeHypervisor implements HypervisorConnector {
    private final Map<String, FakeHost> hosts = new LinkedHashMap<>();
    private final Map<String, byte[]> sharedFiles = new HashMap<>();
    private final List<String> sharedDirs = new ArrayList<>();

    public FakeHost addHost(String name) {
        FakeHost h = new FakeHost(new HostRef(name, "qemu+tcp://" + name + "/system"));
        hosts.put(h.host().uri(), h);
        return h;
    }

    /** Files under {@code dir} are the same on every host. */
    public void shareDirectory(String dir) {
        sharedDirs.add(dir);
    }

    @Override
    public HostSession open(HostRef ref) {
        FakeHost h = hosts.get(ref.uri());
        if (h == null) {
            throw new KvmigrateException(ErrorCode.HOST_UNREACHABLE, "connect", ref.name(), null, "no such fake host", null);
        }
        return h;
    }

    /** One fake host. */
    public final class FakeHost implements HostSession {
        private final HostRef ref;
        private final Map<String, VmInfo> vms = new LinkedHashMap<>();
        private final Map<String, byte[]> localFiles = new HashMap<>();
        private final Map<String, JobStats> completed = new HashMap<>();
        private String hostUuid = java.util.UUID.randomUUID().toString();
        public FakeMigration lastMigration;
        public MigrationOptions lastOptions;

        FakeHost(HostRef ref) {
            this.ref = ref;
        }

        public FakeHost withHostUuid(String uuid) {
            this.hostUuid = uuid;
            return this;
        }

        public synchronized void put(VmSpec spec, VmState state, boolean persistent) {
            vms.put(spec.name(), new VmInfo(spec, state, persistent));
        }

        public synchronized void removeVm(String name) {
            vms.remove(name);
        }

        /** Creates a file (a disk) on this host, in shared storage if its directory is shared. */
        public void putFile(String path, byte[] content) {
            files(path).put(path, content);
        }

        private Map<String, byte[]> files(String path) {
            return sharedDirs.stream().anyMatch(path::startsWith) ? sharedFiles : localFiles;
        }

        @Override
        public HostRef host() {
            return ref;
        }

        @Override
        public HostFacts facts() {
            return new HostFacts(ref.name(), hostUuid, "x86_64", "Intel", "Skylake-Client", 4, 16 << 20, 8 << 20, 9_000_000, 7_002_000,
                    (int) vms.values().stream().filter(v -> v.state().isActive()).count());
        }

        @Override
        public synchronized List<VmInfo> listVms() {
            return List.copyOf(vms.values());
        }

        @Override
        public synchronized Optional<VmInfo> findVm(String name) {
            return Optional.ofNullable(vms.get(name));
        }

        @Override
        public synchronized Optional<VmInfo> findVmByUuid(String uuid) {
            return vms.values().stream().filter(v -> v.spec().uuid().equals(uuid)).findFirst();
        }

        @Override
        public VmInfo defineVm(String xml) {
            throw new UnsupportedOperationException("FakeHost.defineVm takes specs: use put()");
        }

        @Override
        public synchronized void startVm(String name) {
            VmInfo v = require(name);
            vms.put(name, new VmInfo(v.spec(), VmState.RUNNING, v.persistent()));
        }

        @Override
        public synchronized void destroyVm(String name) {
            VmInfo v = require(name);
            if (v.persistent()) vms.put(name, new VmInfo(v.spec(), VmState.SHUTOFF, true));
            else vms.remove(name);
        }

        @Override
        public synchronized void undefineVm(String name) {
            VmInfo v = require(name);
            if (v.state().isActive()) vms.put(name, new VmInfo(v.spec(), v.state(), false));
            else vms.remove(name);
        }

        @Override
        public void suspendVm(String name) {
            require(name);
        }

        @Override
        public void resumeVm(String name) {
            require(name);
        }

        @Override
        public byte[] peekPhysicalMemory(String vm, long address, int length) {
            require(vm);
            return new byte[length];
        }

        @Override
        public String writeProbe(String directory, String fileName, byte[] content) {
            putFile(directory + "/" + fileName, content);
            return directory + "/" + fileName;
        }

        @Override
        public Optional<byte[]> readProbe(String directory, String fileName, int maxBytes) {
            String p = directory + "/" + fileName;
            return Optional.ofNullable(files(p).get(p));
        }

        @Override
        public Optional<Long> fileSize(String directory, String fileName) {
            return readProbe(directory, fileName, Integer.MAX_VALUE).map(b -> (long) b.length);
        }

        @Override
        public void deleteProbe(String directory, String fileName) {
            String p = directory + "/" + fileName;
            files(p).remove(p);
        }

        @Override
        public void ensureDirPool(String name, String directory) {
        }

        @Override
        public synchronized MigrationHandle startLiveMigration(String vm, HostRef target, MigrationOptions options) {
            VmInfo v = require(vm);
            lastOptions = options;
            lastMigration = new FakeMigration(this, (FakeHost) open(target), v);
            return lastMigration;
        }

        @Override
        public synchronized Optional<JobStats> completedJobStats(String vm) {
            return Optional.ofNullable(completed.get(vm));
        }

        private VmInfo require(String name) {
            VmInfo v = vms.get(name);
            if (v == null) throw new KvmigrateException(ErrorCode.UNKNOWN_VM, null, ref.name(), name, "no VM " + name, null);
            return v;
        }

        @Override
        public void close() {
        }

        // ---- dirty rate (issue 5) ----
        private final Map<String, io.kvmigrate.core.model.DirtyRate> dirtyRates = new HashMap<>();
        private final Map<String, Long> scriptedDirtyMiBps = new HashMap<>();
        private long dirtyStarts;

        /** The dirty rate the next measurement of {@code vm} will report, finished at once. */
        public synchronized void scriptDirtyRate(String vm, long mibPerSecond) {
            scriptedDirtyMiBps.put(vm, mibPerSecond);
        }

        @Override
        public synchronized void startDirtyRateMeasurement(String vm, int seconds) {
            require(vm);
            dirtyRates.put(vm, new io.kvmigrate.core.model.DirtyRate(scriptedDirtyMiBps.getOrDefault(vm, 0L), seconds, "dirty-bitmap",
                    ++dirtyStarts));
        }

        @Override
        public synchronized Optional<io.kvmigrate.core.model.DirtyRate> lastDirtyRate(String vm) {
            require(vm);
            return Optional.ofNullable(dirtyRates.get(vm));
        }

        // ---- post-copy recovery (issue 5) ----
        /** How many times a post-copy resume was asked for. */
        public int postCopyResumes;

        @Override
        public synchronized MigrationHandle resumePostCopy(String vm, HostRef target, MigrationOptions options) {
            VmInfo v = require(vm);
            postCopyResumes++;
            lastMigration = new FakeMigration(this, (FakeHost) open(target), v);
            lastMigration.calls.add("resume-postcopy");
            return lastMigration;
        }
    }

    /** A scripted migration: the test sets statistics, then calls {@link #succeed} or {@link #fail}. */
    public static final class FakeMigration implements MigrationHandle {
        private final FakeHost source;
        private final FakeHost target;
        private final VmInfo vm;
        private final CompletableFuture<Void> done = new CompletableFuture<>();
        private volatile JobStats stats = JobStats.NONE;
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
            synchronized (target) {
                target.completed.put(vm.name(), completedStats);
            }
            done.complete(null);
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

        @Override
        public JobStats stats() {
            return done.isDone() ? JobStats.NONE : stats;
        }

        @Override
        public synchronized void abort() {
            calls.add("abort");
            if (!done.isDone()) {
                done.completeExceptionally(new KvmigrateException(ErrorCode.CANCELLED, null, source.host().name(), vm.name(),
                        "operation aborted: migration out job: canceled by client", null));
            }
        }

        @Override
        public synchronized void setMaxDowntime(long millis) {
            calls.add("downtime=" + millis);
        }

        @Override
        public synchronized void setBandwidth(long mibPerSecond) {
            calls.add("bandwidth=" + mibPerSecond);
        }

        @Override
        public synchronized void startPostCopy() {
            calls.add("postcopy");
        }

        @Override
        public CompletionStage<Void> completion() {
            return done;
        }
    }
}
