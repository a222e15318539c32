package io.kvmigrate.testkit;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.HostFacts;
import io.kvmigrate.core.model.HostInventory;
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
    private final Map<String, FakeVolume> sharedVolumes = new HashMap<>();
    /** Every host's mutating calls, in order, as "host: call". */
    public final List<String> log = java.util.Collections.synchronizedList(new ArrayList<>());
    private final List<java.util.function.Consumer<String>> afterCall = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** Runs {@code check} after every mutating call of any host (for invariants that must hold at every moment). */
    public void afterEveryCall(java.util.function.Consumer<String> check) {
        afterCall.add(check);
    }

    /** An in-memory volume: the data prefix of its file; a raw volume's remainder up to its capacity is a hole. */
    private static final class FakeVolume {
        final String format;
        final long capacity;
        byte[] content;

        FakeVolume(String format, long capacity, byte[] content) {
            this.format = format;
            this.capacity = capacity;
            this.content = content;
        }
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
        /** Mutating calls in order ("define vm", "undefine vm", "create-volume path", "delete-volume path", ...), for ordering assertions. */
        public final List<String> calls = new ArrayList<>() {
            @Override
            public synchronized boolean add(String call) {
                super.add(call);
                log.add(ref.name() + ": " + call);
                afterCall.forEach(r -> r.accept(ref.name() + ": " + call));
                return true;
            }
        };
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
        public synchronized VmInfo defineVm(String xml) {
            // The fake has no XML parser: the VM is the one named in <name>, as some host knows it from put().
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("<name>([^<]*)</name>").matcher(xml);
            if (!m.find()) throw new UnsupportedOperationException("FakeHost.defineVm needs a <name> element");
            VmSpec known = hosts.values().stream().map(h -> h.findVm(m.group(1))).flatMap(Optional::stream).findFirst()
                    .map(VmInfo::spec).orElseThrow(() -> new UnsupportedOperationException("define an unknown VM: use put() first"));
            VmSpec spec = new VmSpec(known.name(), known.uuid(), known.domainType(), known.arch(), known.machine(), known.emulator(),
                    known.memoryKiB(), known.vcpus(), known.cpuMode(), known.disks(), known.nics(), known.hostDevices(), xml);
            VmInfo old = vms.get(spec.name());
            VmInfo v = new VmInfo(spec, old == null ? VmState.SHUTOFF : old.state(), true);
            vms.put(spec.name(), v);
            calls.add("define " + spec.name());
            return v;
        }

        @Override
        public synchronized void startVm(String name) {
            VmInfo v = require(name);
            vms.put(name, new VmInfo(v.spec(), VmState.RUNNING, v.persistent()));
            calls.add("start " + name);
        }

        @Override
        public synchronized void destroyVm(String name) {
            VmInfo v = require(name);
            if (v.persistent()) vms.put(name, new VmInfo(v.spec(), VmState.SHUTOFF, true));
            else vms.remove(name);
            calls.add("destroy " + name);
        }

        @Override
        public synchronized void undefineVm(String name) {
            VmInfo v = require(name);
            if (v.state().isActive()) vms.put(name, new VmInfo(v.spec(), v.state(), false));
            else vms.remove(name);
            calls.add("undefine " + name);
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
            Optional<Long> vol = volume(directory + "/" + fileName).map(io.kvmigrate.core.spi.VolumeInfo::physical);
            if (vol.isPresent()) return vol;
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

        private FakeStoragePools storagePools;

        /** The host's pools for {@link io.kvmigrate.core.storage} logic (apart from {@link #addPool}, which cold migration reads). */
        @Override
        public synchronized FakeStoragePools storagePools() {
            if (storagePools == null) storagePools = new FakeStoragePools(ref.name(), calls::add);
            return storagePools;
        }

        @Override
        public synchronized MigrationHandle startLiveMigration(String vm, HostRef target, MigrationOptions options) {
            VmInfo v = require(vm);
            lastOptions = options;
            lastMigration = new FakeMigration(this, (FakeHost) open(target), v);
            return lastMigration;
        }

        /** The migration started from this host that has not ended, as another controller would find it. */
        @Override
        public synchronized Optional<MigrationHandle> activeMigration(String vm) {
            FakeMigration m = lastMigration;
            return m != null && m.vm.name().equals(vm) && !m.done.isDone() ? Optional.of(m) : Optional.empty();
        }

        @Override
        public synchronized Optional<JobStats> completedJobStats(String vm) {
            return Optional.ofNullable(completed.get(vm));
        }

        // ---- storage volumes (in memory; volumes under a shared directory are the same on every host) ----
        private final Map<String, io.kvmigrate.core.spi.PoolInfo> pools = new LinkedHashMap<>();
        private final Map<String, FakeVolume> localVolumes = new HashMap<>();
        private long failWritesAfterBytes = -1;
        private boolean shutsDownOnRequest = true;

        /** Adds a dir pool on {@code path} with {@code capacity} bytes (all free at first). */
        public synchronized FakeHost addPool(String name, String path, long capacity) {
            pools.put(name, new io.kvmigrate.core.spi.PoolInfo(name, "dir", path, capacity, capacity, true));
            return this;
        }

        /** Puts a volume with the given content; content beyond the array is a hole up to {@code physical}. */
        public synchronized void putVolume(String path, String format, long capacity, byte[] content) {
            volumes(path).put(path, new FakeVolume(format, capacity, content.clone()));
        }

        /** Content of a volume, or empty. */
        public synchronized Optional<byte[]> volumeContent(String path) {
            return Optional.ofNullable(volumes(path).get(path)).map(v -> v.content.clone());
        }

        /** Uploads fail (as a full disk would) once this many bytes were written in one upload; -1 = never. */
        public synchronized void failWritesAfter(long bytes) {
            failWritesAfterBytes = bytes;
        }

        /** Whether a shutdown request makes the guest power off (false: a guest that ignores ACPI). */
        public synchronized void shutsDownOnRequest(boolean b) {
            shutsDownOnRequest = b;
        }

        private Map<String, FakeVolume> volumes(String path) {
            return sharedDirs.stream().anyMatch(path::startsWith) ? sharedVolumes : localVolumes;
        }

        @Override
        public synchronized void shutdownVm(String name) {
            VmInfo v = require(name);
            if (shutsDownOnRequest) vms.put(name, new VmInfo(v.spec(), VmState.SHUTOFF, v.persistent()));
            calls.add("shutdown " + name);
        }

        @Override
        public synchronized Optional<io.kvmigrate.core.spi.VolumeInfo> volume(String path) {
            FakeVolume v = volumes(path).get(path);
            if (v == null) return Optional.empty();
            String dir = path.substring(0, path.lastIndexOf('/'));
            String pool = pools.values().stream().filter(p -> p.path().equals(dir)).map(io.kvmigrate.core.spi.PoolInfo::name)
                    .findFirst().orElse(null);
            return Optional.of(new io.kvmigrate.core.spi.VolumeInfo(path, pool, path.substring(path.lastIndexOf('/') + 1), v.format,
                    v.capacity, v.content.length, "raw".equals(v.format) ? v.capacity : v.content.length));
        }

        @Override
        public synchronized List<io.kvmigrate.core.spi.PoolInfo> pools() {
            List<io.kvmigrate.core.spi.PoolInfo> out = new ArrayList<>();
            for (io.kvmigrate.core.spi.PoolInfo p : pools.values()) {
                long used = volumes(p.path() + "/").entrySet().stream().filter(e -> e.getKey().startsWith(p.path() + "/"))
                        .mapToLong(e -> e.getValue().content.length).sum();
                out.add(new io.kvmigrate.core.spi.PoolInfo(p.name(), p.type(), p.path(), p.capacity(), Math.max(0, p.capacity() - used), true));
            }
            return out;
        }

        @Override
        public synchronized io.kvmigrate.core.spi.VolumeInfo createVolume(String pool, String name, String format, long capacityBytes) {
            io.kvmigrate.core.spi.PoolInfo p = pools.get(pool);
            if (p == null) throw new KvmigrateException(ErrorCode.LIBVIRT_ERROR, null, ref.name(), null, "no pool " + pool, null);
            String path = p.path() + "/" + name;
            if (volumes(path).containsKey(path)) {
                throw new KvmigrateException(ErrorCode.LIBVIRT_ERROR, null, ref.name(), null, "volume " + path + " exists", null);
            }
            volumes(path).put(path, new FakeVolume(format, capacityBytes, new byte[0]));
            calls.add("create-volume " + path);
            return volume(path).orElseThrow();
        }

        @Override
        public synchronized void deleteVolume(String path) {
            if (volumes(path).remove(path) != null) calls.add("delete-volume " + path);
        }

        @Override
        public void downloadVolume(String path, boolean sparse, io.kvmigrate.core.spi.VolumeSink sink) {
            FakeVolume v;
            synchronized (this) {
                v = volumes(path).get(path);
            }
            if (v == null) throw new KvmigrateException(ErrorCode.LIBVIRT_ERROR, null, ref.name(), null, "no volume " + path, null);
            if (v.content.length > 0) sink.data(v.content.clone(), v.content.length);
            long tail = "raw".equals(v.format) ? v.capacity - v.content.length : 0;
            if (tail > 0) {
                if (sparse) sink.hole(tail);
                else sink.data(new byte[(int) tail], (int) tail);
            }
        }

        @Override
        public io.kvmigrate.core.spi.VolumeUpload uploadVolume(String path, boolean sparse) {
            FakeHost self = this;
            java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
            return new io.kvmigrate.core.spi.VolumeUpload() {
                private long written;

                @Override
                public void data(byte[] data, int length) {
                    written += length;
                    synchronized (self) {
                        if (failWritesAfterBytes >= 0 && written > failWritesAfterBytes) {
                            throw new KvmigrateException(ErrorCode.LIBVIRT_ERROR, null, ref.name(), null,
                                    "Tried to write to " + path + " but failed because: No space left on device", null);
                        }
                    }
                    buf.write(data, 0, length);
                }

                @Override
                public void hole(long length) {
                    // Only the data prefix is kept; a trailing hole is implied by the capacity of a raw volume.
                }

                @Override
                public void finish() {
                    synchronized (self) {
                        FakeVolume v = volumes(path).get(path);
                        if (v == null) throw new KvmigrateException(ErrorCode.LIBVIRT_ERROR, null, ref.name(), null, "no volume " + path, null);
                        v.content = buf.toByteArray();
                    }
                }

                @Override
                public void close() {
                }
            };
        }

        private VmInfo require(String name) {
            VmInfo v = vms.get(name);
            if (v == null) throw new KvmigrateException(ErrorCode.UNKNOWN_VM, null, ref.name(), name, "no VM " + name, null);
            return v;
        }

        @Override
        public void close() {
        }

        /** A consistent, unremarkable inventory: same CPU everywhere, enough memory, no networks or pools, the VM's CPU runs. */
        @Override
        public synchronized HostInventory inventory(VmSpec guest) {
            List<HostInventory.Domain> domains = vms.values().stream()
                    .map(v -> new HostInventory.Domain(v.name(), v.spec().uuid(), v.state().isActive())).toList();
            HostInventory.GuestSupport x86 = new HostInventory.GuestSupport("hvm", "x86_64", 64, "/usr/bin/qemu-system-x86_64",
                    List.of("pc", "pc-i440fx-7.2", "q35", "pc-q35-7.2"), List.of("qemu", "kvm"));
            return new HostInventory(facts(), new HostInventory.Cpu("x86_64", "Intel", "Skylake-Client", java.util.Set.of("lm", "nx", "vmx"), true),
                    List.of(x86), List.of(), List.of("lo"), List.of(), domains,
                    new HostInventory.GuestView(HostInventory.CpuVerdict.IDENTICAL, null, guest == null ? null : guest.machine(), null,
                            vms.containsKey(guest == null ? "" : guest.name()) ? 0 : -1, List.of()));
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
        public synchronized boolean pausedInPostCopy(String vm) {
            FakeMigration m = lastMigration;
            return m != null && m.vm.name().equals(vm) && m.inPostCopy() && findVm(vm).isPresent();
        }

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
        private volatile boolean ignoreAborts;
        private volatile boolean postCopyTakesEffect = true;
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

        /** Simulates a hypervisor that records an abort but keeps migrating. */
        public void ignoreAborts() {
            ignoreAborts = true;
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
            if (!done.isDone() && !ignoreAborts) {
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
            if (postCopyTakesEffect) {
                inPostCopy = true;
                target.put(vm.spec(), VmState.RUNNING, false); // the guest now runs on the target, pulling pages
            }
        }

        /** The target's QEMU ends during post-copy: its VM is gone (and with it the pages only it held). */
        public void targetQemuEnded() {
            target.removeVm(vm.name());
        }

        /** The switch to post-copy is asked for but has not taken effect when the migration fails (as on a real link cut). */
        public void postCopyNotYetInEffect() {
            postCopyTakesEffect = false;
        }

        /** Whether the switch to post-copy took effect (a resumed migration is in post-copy from its start). */
        boolean inPostCopy() {
            return inPostCopy || calls.contains("resume-postcopy");
        }

        @Override
        public CompletionStage<Void> completion() {
            return done;
        }
    }
}
