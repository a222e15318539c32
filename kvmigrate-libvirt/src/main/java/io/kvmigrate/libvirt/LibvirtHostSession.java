package io.kvmigrate.libvirt;

import static io.kvmigrate.libvirt.DomainXml.attr;
import static io.kvmigrate.libvirt.DomainXml.child;
import static io.kvmigrate.libvirt.DomainXml.escape;
import static io.kvmigrate.libvirt.DomainXml.text;

import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.HostFacts;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.MigrationHandle;
import io.kvmigrate.core.spi.MigrationOptions;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import org.w3c.dom.Element;

/** A {@link HostSession} over one libvirt connection. */
final class LibvirtHostSession implements HostSession {
    private static final Libvirt LV = Libvirt.INSTANCE;
    private final HostRef host;
    private final Pointer conn;
    private volatile boolean closed;

    LibvirtHostSession(HostRef host, Pointer conn) {
        this.host = host;
        this.conn = conn;
    }

    @Override
    public HostRef host() {
        return host;
    }

    @Override
    public HostFacts facts() {
        String caps = takeString(LV.virConnectGetCapabilities(conn), "read capabilities");
        Element root = DomainXml.parseDocument(caps, "capabilities XML").getDocumentElement();
        Element h = child(root, "host");
        Element cpu = h == null ? null : child(h, "cpu");
        String hostname = takeString(LV.virConnectGetHostname(conn), "read hostname");
        LongByReference lib = new LongByReference();
        LongByReference hv = new LongByReference();
        check(LV.virConnectGetLibVersion(conn, lib), "read libvirt version", null);
        check(LV.virConnectGetVersion(conn, hv), "read hypervisor version", null);
        Libvirt.NodeInfo node = new Libvirt.NodeInfo();
        check(LV.virNodeGetInfo(conn, node), "read node info", null);
        long free = LV.virNodeGetFreeMemory(conn);
        int running = (int) listVms().stream().filter(v -> v.state().isActive()).count();
        return new HostFacts(hostname, h == null ? null : text(child(h, "uuid")), cpu == null ? null : text(child(cpu, "arch")),
                cpu == null ? null : text(child(cpu, "vendor")), cpu == null ? null : text(child(cpu, "model")), node.cpus,
                node.memory.longValue(), free / 1024, lib.getValue(), hv.getValue(), running);
    }

    @Override
    public List<VmInfo> listVms() {
        PointerByReference ref = new PointerByReference();
        int n = LV.virConnectListAllDomains(conn, ref, 0);
        if (n < 0) throw error("list VMs", null);
        List<VmInfo> out = new ArrayList<>();
        Pointer array = ref.getValue();
        try {
            for (int i = 0; i < n; i++) {
                Pointer dom = array.getPointer((long) i * Native.POINTER_SIZE);
                try {
                    out.add(info(dom, null));
                } catch (KvmigrateException e) {
                    if (e.code() != ErrorCode.UNKNOWN_VM) throw e; // vanished while listing
                } finally {
                    LV.virDomainFree(dom);
                }
            }
        } finally {
            if (array != null) Native.free(Pointer.nativeValue(array));
        }
        return out;
    }

    @Override
    public Optional<VmInfo> findVm(String name) {
        return withOptionalDomain(LV.virDomainLookupByName(conn, name), name, d -> info(d, name));
    }

    @Override
    public Optional<VmInfo> findVmByUuid(String uuid) {
        if (uuid == null) return Optional.empty();
        return withOptionalDomain(LV.virDomainLookupByUUIDString(conn, uuid), null, d -> info(d, null));
    }

    @Override
    public VmInfo defineVm(String xml) {
        io.kvmigrate.core.model.VmSpec spec = DomainXml.parse(xml);
        Pointer dom = LV.virDomainDefineXML(conn, xml);
        if (dom == null) throw error("define VM", spec.name());
        try {
            return info(dom, spec.name());
        } finally {
            LV.virDomainFree(dom);
        }
    }

    @Override
    public void startVm(String name) {
        withDomain(name, d -> check(LV.virDomainCreate(d), "start VM", name));
    }

    @Override
    public void destroyVm(String name) {
        withDomain(name, d -> check(LV.virDomainDestroy(d), "power off VM", name));
    }

    @Override
    public void undefineVm(String name) {
        int flags = Libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | Libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                | Libvirt.VIR_DOMAIN_UNDEFINE_NVRAM | Libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA;
        withDomain(name, d -> check(LV.virDomainUndefineFlags(d, flags), "undefine VM", name));
    }

    @Override
    public void suspendVm(String name) {
        withDomain(name, d -> check(LV.virDomainSuspend(d), "pause VM", name));
    }

    @Override
    public void resumeVm(String name) {
        withDomain(name, d -> check(LV.virDomainResume(d), "resume VM", name));
    }

    @Override
    public byte[] peekPhysicalMemory(String vm, long address, int length) {
        byte[] buf = new byte[length];
        withDomain(vm, d -> check(LV.virDomainMemoryPeek(d, address, new NativeLong(length), buf, Libvirt.VIR_MEMORY_PHYSICAL),
                "read guest memory at 0x" + Long.toHexString(address), vm));
        return buf;
    }

    // ---- storage probes: through a pool on the directory (existing, else transient) ----

    @Override
    public String writeProbe(String directory, String fileName, byte[] content) {
        try (DirPool pool = DirPool.open(this, directory, true)) {
            String volXml = "<volume><name>" + escape(fileName) + "</name><capacity unit='bytes'>" + content.length
                    + "</capacity><target><format type='raw'/></target></volume>";
            Pointer vol = LV.virStorageVolCreateXML(pool.pool, volXml, 0);
            if (vol == null) throw error("create probe file in " + directory, null);
            try {
                upload(vol, content, directory + "/" + fileName);
            } finally {
                LV.virStorageVolFree(vol);
            }
        }
        return directory + "/" + fileName;
    }

    @Override
    public Optional<byte[]> readProbe(String directory, String fileName, int maxBytes) {
        try (DirPool pool = DirPool.open(this, directory, false)) {
            if (pool == null) return Optional.empty();
            Pointer vol = LV.virStorageVolLookupByName(pool.pool, fileName);
            if (vol == null) {
                LV.virResetLastError();
                return Optional.empty();
            }
            try {
                return Optional.of(download(vol, maxBytes, directory + "/" + fileName));
            } finally {
                LV.virStorageVolFree(vol);
            }
        }
    }

    @Override
    public Optional<Long> fileSize(String directory, String fileName) {
        try (DirPool pool = DirPool.open(this, directory, false)) {
            if (pool == null) return Optional.empty();
            Pointer vol = LV.virStorageVolLookupByName(pool.pool, fileName);
            if (vol == null) {
                LV.virResetLastError();
                return Optional.empty();
            }
            try {
                Libvirt.VolInfo vi = new Libvirt.VolInfo();
                check(LV.virStorageVolGetInfo(vol, vi), "read size of " + directory + "/" + fileName, null);
                return Optional.of(vi.capacity);
            } finally {
                LV.virStorageVolFree(vol);
            }
        }
    }

    @Override
    public void deleteProbe(String directory, String fileName) {
        try (DirPool pool = DirPool.open(this, directory, false)) {
            if (pool == null) return;
            Pointer vol = LV.virStorageVolLookupByName(pool.pool, fileName);
            if (vol == null) {
                LV.virResetLastError();
                return;
            }
            try {
                check(LV.virStorageVolDelete(vol, 0), "delete probe " + directory + "/" + fileName, null);
            } finally {
                LV.virStorageVolFree(vol);
            }
        }
    }

    private void upload(Pointer vol, byte[] content, String what) {
        Pointer st = LV.virStreamNew(conn, 0);
        if (st == null) throw error("open a stream to " + what, null);
        try {
            check(LV.virStorageVolUpload(vol, st, 0, content.length, 0), "upload to " + what, null);
            int off = 0;
            while (off < content.length) {
                byte[] chunk = off == 0 ? content : java.util.Arrays.copyOfRange(content, off, content.length);
                int n = LV.virStreamSend(st, chunk, new NativeLong(chunk.length));
                if (n < 0) {
                    LV.virStreamAbort(st);
                    throw error("upload to " + what, null);
                }
                off += n;
            }
            check(LV.virStreamFinish(st), "finish upload to " + what, null);
        } finally {
            LV.virStreamFree(st);
        }
    }

    private byte[] download(Pointer vol, int maxBytes, String what) {
        Pointer st = LV.virStreamNew(conn, 0);
        if (st == null) throw error("open a stream from " + what, null);
        try {
            check(LV.virStorageVolDownload(vol, st, 0, maxBytes, 0), "download " + what, null);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[64 * 1024];
            while (true) {
                int n = LV.virStreamRecv(st, buf, new NativeLong(buf.length));
                if (n < 0) {
                    LV.virStreamAbort(st);
                    throw error("download " + what, null);
                }
                if (n == 0) break;
                out.write(buf, 0, n);
            }
            check(LV.virStreamFinish(st), "finish download of " + what, null);
            return out.toByteArray();
        } finally {
            LV.virStreamFree(st);
        }
    }

    /** A storage pool whose target is a directory: the host's own if it has one, else a transient one we destroy after use. */
    private static final class DirPool implements AutoCloseable {
        final Pointer pool;
        final boolean transientPool;

        private DirPool(Pointer pool, boolean transientPool) {
            this.pool = pool;
            this.transientPool = transientPool;
        }

        /** Returns null when the directory does not exist on the host and {@code mustExist} is false. */
        static DirPool open(LibvirtHostSession s, String directory, boolean mustExist) {
            String dir = directory.endsWith("/") && directory.length() > 1 ? directory.substring(0, directory.length() - 1) : directory;
            PointerByReference ref = new PointerByReference();
            int n = LV.virConnectListAllStoragePools(s.conn, ref, 0);
            if (n < 0) throw s.error("list storage pools", null);
            Pointer array = ref.getValue();
            Pointer found = null;
            try {
                for (int i = 0; i < n; i++) {
                    Pointer p = array.getPointer((long) i * Native.POINTER_SIZE);
                    if (found == null && LV.virStoragePoolIsActive(p) == 1 && dir.equals(poolPath(s, p))) {
                        found = p;
                    } else {
                        LV.virStoragePoolFree(p);
                    }
                }
            } finally {
                if (array != null) Native.free(Pointer.nativeValue(array));
            }
            if (found != null) {
                if (LV.virStoragePoolRefresh(found, 0) < 0) {
                    LV.virStoragePoolFree(found);
                    throw s.error("refresh the storage pool of " + dir, null);
                }
                return new DirPool(found, false);
            }
            String name = "kvmigrate-probe-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
            String xml = "<pool type='dir'><name>" + name + "</name><target><path>" + escape(dir) + "</path></target></pool>";
            Pointer p = LV.virStoragePoolCreateXML(s.conn, xml, 0);
            if (p == null) {
                LibvirtError err = LibvirtError.last();
                if (!mustExist) return null;
                throw err.toException("verify-storage", s.host.name(), null, "open directory " + dir + " as a transient storage pool");
            }
            return new DirPool(p, true);
        }

        private static String poolPath(LibvirtHostSession s, Pointer p) {
            Pointer xml = LV.virStoragePoolGetXMLDesc(p, 0);
            if (xml == null) return null;
            Element root = DomainXml.parseDocument(s.takeString(xml, "read pool XML"), "pool XML").getDocumentElement();
            Element target = child(root, "target");
            String path = target == null ? null : text(child(target, "path"));
            return path != null && path.endsWith("/") && path.length() > 1 ? path.substring(0, path.length() - 1) : path;
        }

        @Override
        public void close() {
            if (transientPool) LV.virStoragePoolDestroy(pool);
            LV.virStoragePoolFree(pool);
        }
    }

    @Override
    public void ensureDirPool(String name, String directory) {
        Pointer pool = LV.virStoragePoolLookupByName(conn, name);
        if (pool == null) {
            LibvirtError e = LibvirtError.last();
            if (e.code() != LibvirtError.VIR_ERR_NO_STORAGE_POOL) throw e.toException(null, host.name(), null, "look up pool " + name);
            String xml = "<pool type='dir'><name>" + escape(name) + "</name><target><path>" + escape(directory) + "</path></target></pool>";
            pool = LV.virStoragePoolDefineXML(conn, xml, 0);
            if (pool == null) throw error("define storage pool " + name + " on " + directory, null);
        }
        try {
            LV.virStoragePoolSetAutostart(pool, 1);
            if (LV.virStoragePoolIsActive(pool) != 1) check(LV.virStoragePoolCreate(pool, 0), "start storage pool " + name, null);
        } finally {
            LV.virStoragePoolFree(pool);
        }
    }

    // ---- migration ----

    @Override
    public MigrationHandle startLiveMigration(String vm, HostRef target, MigrationOptions o) {
        Pointer dom = LV.virDomainLookupByName(conn, vm);
        if (dom == null) throw error("look up VM", vm);
        if (o.maxDowntimeMs() > 0) {
            if (LV.virDomainMigrateSetMaxDowntime(dom, o.maxDowntimeMs(), 0) < 0) {
                KvmigrateException e = error("set the maximum downtime to " + o.maxDowntimeMs() + " ms", vm);
                LV.virDomainFree(dom);
                throw e;
            }
        }
        long flags = Libvirt.VIR_MIGRATE_LIVE | Libvirt.VIR_MIGRATE_PEER2PEER | Libvirt.VIR_MIGRATE_PERSIST_DEST
                | Libvirt.VIR_MIGRATE_UNDEFINE_SOURCE | Libvirt.VIR_MIGRATE_ABORT_ON_ERROR;
        if (o.storageVerifiedShared()) flags |= Libvirt.VIR_MIGRATE_UNSAFE;
        if (o.autoConverge()) flags |= Libvirt.VIR_MIGRATE_AUTO_CONVERGE;
        if (o.postCopyAllowed()) flags |= Libvirt.VIR_MIGRATE_POSTCOPY;
        if (o.compressed()) flags |= Libvirt.VIR_MIGRATE_COMPRESSED;
        if (o.parallelConnections() > 0) flags |= Libvirt.VIR_MIGRATE_PARALLEL;
        if (target.uri().startsWith("qemu+tls:")) flags |= Libvirt.VIR_MIGRATE_TLS;
        return launch(dom, vm, target, o, flags);
    }

    /** Runs virDomainMigrateToURI3 on its own thread (it blocks until the job ends); takes ownership of {@code dom}. */
    private MigrationHandle launch(Pointer dom, String vm, HostRef target, MigrationOptions o, long migrateFlags) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            PointerByReference params = new PointerByReference();
            IntByReference n = new IntByReference(0);
            IntByReference max = new IntByReference(0);
            try {
                if (o.bandwidthMiBps() > 0) LV.virTypedParamsAddULLong(params, n, max, "bandwidth", o.bandwidthMiBps());
                if (o.parallelConnections() > 0) LV.virTypedParamsAddInt(params, n, max, "parallel.connections", o.parallelConnections());
                if (LV.virDomainMigrateToURI3(dom, target.uri(), params.getValue(), n.getValue(), migrateFlags) < 0) {
                    done.completeExceptionally(error("migrate to '" + target.name() + "' (" + target.uri() + ")", vm));
                } else {
                    done.complete(null);
                }
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            } finally {
                if (params.getValue() != null) LV.virTypedParamsFree(params.getValue(), n.getValue());
            }
        }, "kvmigrate-migrate-" + vm);
        t.setDaemon(true);
        t.start();
        return new LibvirtMigrationHandle(vm, dom, done);
    }

    @Override
    public Optional<JobStats> completedJobStats(String vm) {
        Pointer dom = LV.virDomainLookupByName(conn, vm);
        if (dom == null) {
            LV.virResetLastError();
            return Optional.empty();
        }
        try {
            return Optional.ofNullable(jobStats(dom, Libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED, vm));
        } catch (KvmigrateException e) {
            return Optional.empty();
        } finally {
            LV.virDomainFree(dom);
        }
    }

    /** Reads typed job statistics; null when there is no job. */
    private JobStats jobStats(Pointer dom, int flags, String vm) {
        IntByReference type = new IntByReference();
        PointerByReference params = new PointerByReference();
        IntByReference n = new IntByReference();
        if (LV.virDomainGetJobStats(dom, type, params, n, flags) < 0) throw error("read job statistics", vm);
        Pointer p = params.getValue();
        try {
            if (type.getValue() == 0 || p == null) return null;
            Function<String, Long> u = key -> {
                LongByReference v = new LongByReference();
                return LV.virTypedParamsGetULLong(p, n.getValue(), key, v) == 1 ? v.getValue() : 0L;
            };
            IntByReference throttle = new IntByReference();
            long thr = LV.virTypedParamsGetInt(p, n.getValue(), "auto_converge_throttle", throttle) == 1 ? throttle.getValue() : 0;
            return new JobStats(u.apply("time_elapsed"), u.apply("data_total"), u.apply("data_processed"), u.apply("data_remaining"),
                    u.apply("memory_total"), u.apply("memory_processed"), u.apply("memory_remaining"), u.apply("memory_bps"),
                    u.apply("memory_dirty_rate"), u.apply("memory_page_size"), u.apply("memory_iteration"), u.apply("downtime"),
                    u.apply("memory_postcopy_requests"), thr, u.apply("disk_total"), u.apply("disk_processed"), u.apply("disk_remaining"));
        } finally {
            if (p != null) LV.virTypedParamsFree(p, n.getValue());
        }
    }

    /** The running job on the source. */
    private final class LibvirtMigrationHandle implements MigrationHandle {
        private final String vm;
        private final Pointer dom;
        private final CompletableFuture<Void> done;

        LibvirtMigrationHandle(String vm, Pointer dom, CompletableFuture<Void> done) {
            this.vm = vm;
            this.dom = dom;
            this.done = done.whenComplete((ok, err) -> LV.virDomainFree(dom));
        }

        @Override
        public JobStats stats() {
            if (done.isDone()) return JobStats.NONE;
            JobStats s = jobStats(dom, 0, vm);
            return s == null ? JobStats.NONE : s;
        }

        @Override
        public void abort() {
            if (!done.isDone() && LV.virDomainAbortJob(dom) < 0) {
                LibvirtError e = LibvirtError.last();
                if (!done.isDone()) throw e.toException("abort", host.name(), vm, "abort the migration job");
            }
        }

        @Override
        public void setMaxDowntime(long millis) {
            check(LV.virDomainMigrateSetMaxDowntime(dom, millis, 0), "set the maximum downtime to " + millis + " ms", vm);
        }

        @Override
        public void setBandwidth(long mibPerSecond) {
            check(LV.virDomainMigrateSetMaxSpeed(dom, new NativeLong(mibPerSecond), 0), "set bandwidth to " + mibPerSecond + " MiB/s", vm);
        }

        @Override
        public void startPostCopy() {
            check(LV.virDomainMigrateStartPostCopy(dom, 0), "switch to post-copy", vm);
        }

        @Override
        public CompletionStage<Void> completion() {
            return done;
        }
    }

    // ---- helpers ----

    private VmInfo info(Pointer dom, String name) {
        IntByReference state = new IntByReference();
        IntByReference reason = new IntByReference();
        String vmName = name != null ? name : LV.virDomainGetName(dom);
        check(LV.virDomainGetState(dom, state, reason, 0), "read state", vmName);
        int persistent = LV.virDomainIsPersistent(dom);
        if (persistent < 0) throw error("read persistence", vmName);
        String xml = takeString(LV.virDomainGetXMLDesc(dom, 0), "read XML of VM '" + vmName + "'");
        return new VmInfo(DomainXml.parse(xml), state(state.getValue()), persistent == 1);
    }

    private static VmState state(int s) {
        return switch (s) {
            case 1 -> VmState.RUNNING;
            case 2 -> VmState.BLOCKED;
            case 3 -> VmState.PAUSED;
            case 4 -> VmState.SHUTDOWN;
            case 5 -> VmState.SHUTOFF;
            case 6 -> VmState.CRASHED;
            case 7 -> VmState.PMSUSPENDED;
            default -> VmState.OTHER;
        };
    }

    private <T> Optional<T> withOptionalDomain(Pointer dom, String name, Function<Pointer, T> f) {
        if (dom == null) {
            LibvirtError e = LibvirtError.last();
            if (e.code() == LibvirtError.VIR_ERR_NO_DOMAIN) return Optional.empty();
            throw e.toException("lookup", host.name(), name, "look up VM");
        }
        try {
            return Optional.of(f.apply(dom));
        } finally {
            LV.virDomainFree(dom);
        }
    }

    private void withDomain(String name, java.util.function.Consumer<Pointer> f) {
        Pointer dom = LV.virDomainLookupByName(conn, name);
        if (dom == null) throw error("look up VM", name);
        try {
            f.accept(dom);
        } finally {
            LV.virDomainFree(dom);
        }
    }

    private String takeString(Pointer p, String tried) {
        if (p == null) throw error(tried, null);
        try {
            return p.getString(0, "UTF-8");
        } finally {
            Native.free(Pointer.nativeValue(p));
        }
    }

    private void check(int rc, String tried, String vm) {
        if (rc < 0) throw error(tried, vm);
    }

    private KvmigrateException error(String tried, String vm) {
        return LibvirtError.last().toException(null, host.name(), vm, tried);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            LV.virConnectClose(conn);
        }
    }

    // ---- dirty rate (issue 5) ----

    @Override
    public void startDirtyRateMeasurement(String vm, int seconds) {
        withDomain(vm, d -> {
            // Dirty-bitmap mode counts every written page (page sampling looks at 512 per GiB) and slows the guest as
            // a migration's dirty logging does; fall back to sampling where the hypervisor lacks it.
            if (LV.virDomainStartDirtyRateCalc(d, seconds, Libvirt.VIR_DOMAIN_DIRTYRATE_MODE_DIRTY_BITMAP) < 0) {
                LV.virResetLastError();
                check(LV.virDomainStartDirtyRateCalc(d, seconds, Libvirt.VIR_DOMAIN_DIRTYRATE_MODE_PAGE_SAMPLING),
                        "start the dirty-rate measurement", vm);
            }
        });
    }

    @Override
    public Optional<io.kvmigrate.core.model.DirtyRate> lastDirtyRate(String vm) {
        Pointer dom = LV.virDomainLookupByName(conn, vm);
        if (dom == null) throw error("look up VM", vm);
        com.sun.jna.Memory doms = new com.sun.jna.Memory(2L * Native.POINTER_SIZE);
        doms.setPointer(0, dom);
        doms.setPointer(Native.POINTER_SIZE, null);
        PointerByReference ret = new PointerByReference();
        try {
            if (LV.virDomainListGetStats(doms, Libvirt.VIR_DOMAIN_STATS_DIRTYRATE, ret, 0) < 0) throw error("read the dirty rate", vm);
            Pointer records = ret.getValue();
            try {
                Pointer rec = records == null ? null : records.getPointer(0);
                if (rec == null) return Optional.empty();
                Pointer params = rec.getPointer(Native.POINTER_SIZE);
                int n = rec.getInt(2L * Native.POINTER_SIZE);
                IntByReference i = new IntByReference();
                LongByReference l = new LongByReference();
                if (LV.virTypedParamsGetInt(params, n, "dirtyrate.calc_status", i) != 1 || i.getValue() != Libvirt.VIR_DOMAIN_DIRTYRATE_MEASURED) {
                    return Optional.empty();
                }
                long start = LV.virTypedParamsGetLLong(params, n, "dirtyrate.calc_start_time", l) == 1 ? l.getValue() : 0;
                long rate = LV.virTypedParamsGetLLong(params, n, "dirtyrate.megabytes_per_second", l) == 1 ? l.getValue() : 0;
                int period = LV.virTypedParamsGetInt(params, n, "dirtyrate.calc_period", i) == 1 ? i.getValue() : 1;
                PointerByReference mode = new PointerByReference();
                String m = LV.virTypedParamsGetString(params, n, "dirtyrate.calc_mode", mode) == 1 && mode.getValue() != null
                        ? mode.getValue().getString(0) : "page-sampling";
                return Optional.of(new io.kvmigrate.core.model.DirtyRate(rate, period, m, start));
            } finally {
                if (records != null) LV.virDomainStatsRecordListFree(records);
            }
        } finally {
            LV.virDomainFree(dom);
        }
    }

    // ---- post-copy recovery (issue 5) ----

    @Override
    public MigrationHandle resumePostCopy(String vm, HostRef target, MigrationOptions o) {
        Pointer dom = LV.virDomainLookupByName(conn, vm);
        if (dom == null) throw error("look up VM", vm);
        long flags = Libvirt.VIR_MIGRATE_LIVE | Libvirt.VIR_MIGRATE_PEER2PEER | Libvirt.VIR_MIGRATE_PERSIST_DEST
                | Libvirt.VIR_MIGRATE_UNDEFINE_SOURCE | Libvirt.VIR_MIGRATE_POSTCOPY | Libvirt.VIR_MIGRATE_POSTCOPY_RESUME;
        if (o.storageVerifiedShared()) flags |= Libvirt.VIR_MIGRATE_UNSAFE;
        if (target.uri().startsWith("qemu+tls:")) flags |= Libvirt.VIR_MIGRATE_TLS;
        return launch(dom, vm, target, new MigrationOptions(o.bandwidthMiBps(), 0, o.storageVerifiedShared(), false, true, false, 0), flags);
    }
}
