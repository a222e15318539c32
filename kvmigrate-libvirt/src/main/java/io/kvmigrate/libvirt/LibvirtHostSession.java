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
import io.kvmigrate.core.model.HostInventory;
import io.kvmigrate.core.model.VmSpec;
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
        CapabilitiesXml.Parsed caps = CapabilitiesXml.parse(takeString(LV.virConnectGetCapabilities(conn), "read capabilities"));
        int[] running = {0};
        // Counting needs no domain XML: list the active domains only and free them.
        list(ref -> LV.virConnectListAllDomains(conn, ref, Libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE), "list running VMs", d -> {
            running[0]++;
            LV.virDomainFree(d);
        });
        return facts(caps, running[0]);
    }

    /** The host's facts from its parsed capabilities plus hostname, versions and node figures (read here). */
    private HostFacts facts(CapabilitiesXml.Parsed caps, int runningVms) {
        String hostname = takeString(LV.virConnectGetHostname(conn), "read hostname");
        LongByReference lib = new LongByReference();
        LongByReference hv = new LongByReference();
        check(LV.virConnectGetLibVersion(conn, lib), "read libvirt version", null);
        check(LV.virConnectGetVersion(conn, hv), "read hypervisor version", null);
        Libvirt.NodeInfo node = new Libvirt.NodeInfo();
        check(LV.virNodeGetInfo(conn, node), "read node info", null);
        long free = LV.virNodeGetFreeMemory(conn);
        HostInventory.Cpu cpu = caps.cpu();
        return new HostFacts(hostname, caps.hostUuid(), cpu.arch(), cpu.vendor(), cpu.model(), node.cpus, node.memory.longValue(),
                free / 1024, lib.getValue(), hv.getValue(), runningVms);
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
        return withVolume(directory, fileName, vol -> download(vol, maxBytes, directory + "/" + fileName));
    }

    @Override
    public Optional<Long> fileSize(String directory, String fileName) {
        return withVolume(directory, fileName, vol -> {
            Libvirt.VolInfo vi = new Libvirt.VolInfo();
            check(LV.virStorageVolGetInfo(vol, vi), "read size of " + directory + "/" + fileName, null);
            return vi.capacity;
        });
    }

    @Override
    public void deleteProbe(String directory, String fileName) {
        withVolume(directory, fileName, vol -> {
            check(LV.virStorageVolDelete(vol, 0), "delete probe " + directory + "/" + fileName, null);
            return Boolean.TRUE;
        });
    }

    /** Applies {@code f} to the file as a storage volume; empty when the directory or the file does not exist on this host. */
    private <T> Optional<T> withVolume(String directory, String fileName, Function<Pointer, T> f) {
        try (DirPool pool = DirPool.open(this, directory, false)) {
            if (pool == null) return Optional.empty();
            Pointer vol = LV.virStorageVolLookupByName(pool.pool, fileName);
            if (vol == null) {
                LV.virResetLastError();
                return Optional.empty();
            }
            try {
                return Optional.of(f.apply(vol));
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

    @Override
    public io.kvmigrate.core.spi.StoragePools storagePools() {
        return new LibvirtStoragePools(host, conn);
    }

    // ---- migration ----

    /** What every move shares: live, peer-to-peer, persistent on the target, undefined on the source; TLS and UNSAFE as due. */
    private static long moveFlags(HostRef target, MigrationOptions o) {
        long flags = Libvirt.VIR_MIGRATE_LIVE | Libvirt.VIR_MIGRATE_PEER2PEER | Libvirt.VIR_MIGRATE_PERSIST_DEST
                | Libvirt.VIR_MIGRATE_UNDEFINE_SOURCE;
        if (o.storageVerifiedShared()) flags |= Libvirt.VIR_MIGRATE_UNSAFE;
        if (target.uri().startsWith("qemu+tls:")) flags |= Libvirt.VIR_MIGRATE_TLS;
        return flags;
    }

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
        long flags = moveFlags(target, o) | Libvirt.VIR_MIGRATE_ABORT_ON_ERROR;
        if (o.autoConverge()) flags |= Libvirt.VIR_MIGRATE_AUTO_CONVERGE;
        if (o.postCopyAllowed()) flags |= Libvirt.VIR_MIGRATE_POSTCOPY;
        if (o.compressed()) flags |= Libvirt.VIR_MIGRATE_COMPRESSED;
        if (o.parallelConnections() > 0) flags |= Libvirt.VIR_MIGRATE_PARALLEL;
        if (!o.copyDisks().isEmpty()) flags |= Libvirt.VIR_MIGRATE_NON_SHARED_DISK; // libvirt's NBD copy into pre-created volumes
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
                // QEMU's post-copy phase ignores the pre-copy cap (its own default is unlimited): the user's cap holds for both.
                if (o.bandwidthMiBps() > 0 && o.postCopyAllowed()) {
                    LV.virTypedParamsAddULLong(params, n, max, "bandwidth.postcopy", o.bandwidthMiBps());
                }
                if (o.parallelConnections() > 0) LV.virTypedParamsAddInt(params, n, max, "parallel.connections", o.parallelConnections());
                if (o.autoConverge() && o.throttleInitialPercent() > 0) {
                    LV.virTypedParamsAddInt(params, n, max, "auto_converge.initial", o.throttleInitialPercent());
                }
                if (o.autoConverge() && o.throttleIncrementPercent() > 0) {
                    LV.virTypedParamsAddInt(params, n, max, "auto_converge.increment", o.throttleIncrementPercent());
                }
                for (String disk : o.copyDisks()) LV.virTypedParamsAddString(params, n, max, "migrate_disks", disk);
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
    public Optional<MigrationHandle> activeMigration(String vm) {
        Pointer dom = LV.virDomainLookupByName(conn, vm);
        if (dom == null) {
            LV.virResetLastError();
            return Optional.empty();
        }
        JobStats now;
        try {
            now = jobStats(dom, 0, vm);
        } catch (KvmigrateException e) {
            LV.virDomainFree(dom);
            throw e;
        }
        if (now == null) {
            LV.virDomainFree(dom);
            return Optional.empty();
        }
        // Not ours: no blocking call to wait on, so a thread of its own polls until the job is gone, then asks libvirt how
        // it ended (on a domain lookup of its own: the VM leaves this host when the migration succeeds).
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                while (true) {
                    java.util.concurrent.locks.LockSupport.parkNanos(250_000_000L);
                    Pointer d = LV.virDomainLookupByName(conn, vm);
                    if (d == null) {
                        LV.virResetLastError();
                        done.complete(null); // gone from this host: moved (the caller verifies where it is)
                        return;
                    }
                    try {
                        IntByReference type = new IntByReference();
                        PointerByReference params = new PointerByReference();
                        IntByReference n = new IntByReference();
                        if (LV.virDomainGetJobStats(d, type, params, n, 0) < 0) {
                            LV.virResetLastError();
                            continue;
                        }
                        if (params.getValue() != null) LV.virTypedParamsFree(params.getValue(), n.getValue());
                        if (type.getValue() != 0) continue;
                        done.completeExceptionally(new KvmigrateException(ErrorCode.MIGRATION_FAILED, "migrate", host.name(), vm,
                                "The migration job ended and the VM is still on '" + host.name() + "' (failed or aborted).",
                                "Check where the VM runs; start the move again if it should move."));
                        return;
                    } finally {
                        LV.virDomainFree(d);
                    }
                }
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        }, "kvmigrate-watch-" + vm);
        t.setDaemon(true);
        t.start();
        return Optional.of(new LibvirtMigrationHandle(vm, dom, done));
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
        /**
         * Aborts on a connection of its own, on a thread of its own: an abort sent on the connection that carries the
         * blocking migrate call was seen to wait until the job ended by itself (libvirt 9.0, job still in its first
         * iteration), which would turn a timeout into a hang.
         */
        public void abort() {
            if (done.isDone()) return;
            Thread t = new Thread(() -> {
                Pointer own = LV.virConnectOpenAuth(host.uri(), LibvirtConnector.defaultAuth(), 0);
                try {
                    Pointer d = own == null ? null : LV.virDomainLookupByName(own, vm);
                    if (d == null) {
                        LV.virDomainAbortJob(dom);
                    } else {
                        LV.virDomainAbortJob(d);
                        LV.virDomainFree(d);
                    }
                } finally {
                    if (own != null) LV.virConnectClose(own);
                }
            }, "kvmigrate-abort-" + vm);
            t.setDaemon(true);
            t.start();
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

    // ---- storage volumes and graceful shutdown (cold migration, storage copy) ----

    /** Largest payload of one libvirt stream message; bigger buffers only add copying. */
    private static final int STREAM_CHUNK = 256 * 1024;

    @Override
    public void shutdownVm(String name) {
        withDomain(name, d -> check(LV.virDomainShutdown(d), "ask the guest to shut down", name));
    }

    @Override
    public Optional<io.kvmigrate.core.spi.VolumeInfo> volume(String path) {
        try (DirPool pool = DirPool.open(this, dirOf(path), false)) {
            if (pool == null) return Optional.empty();
            Pointer vol = LV.virStorageVolLookupByName(pool.pool, fileOf(path));
            if (vol == null) {
                LV.virResetLastError();
                return Optional.empty();
            }
            try {
                return Optional.of(volumeInfo(vol, pool.transientPool ? null : LV.virStoragePoolGetName(pool.pool)));
            } finally {
                LV.virStorageVolFree(vol);
            }
        }
    }

    @Override
    public List<io.kvmigrate.core.spi.PoolInfo> pools() {
        PointerByReference ref = new PointerByReference();
        int n = LV.virConnectListAllStoragePools(conn, ref, 0);
        if (n < 0) throw error("list storage pools", null);
        Pointer array = ref.getValue();
        List<io.kvmigrate.core.spi.PoolInfo> out = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                Pointer p = array.getPointer((long) i * Native.POINTER_SIZE);
                try {
                    out.add(poolInfo(p));
                } finally {
                    LV.virStoragePoolFree(p);
                }
            }
        } finally {
            if (array != null) Native.free(Pointer.nativeValue(array));
        }
        return out;
    }

    private io.kvmigrate.core.spi.PoolInfo poolInfo(Pointer p) {
        String name = LV.virStoragePoolGetName(p);
        boolean active = LV.virStoragePoolIsActive(p) == 1;
        // Free space is only current after a refresh (files may have been written behind libvirt's back).
        if (active && LV.virStoragePoolRefresh(p, 0) < 0) throw error("refresh storage pool " + name, null);
        Element root = DomainXml.parseDocument(takeString(LV.virStoragePoolGetXMLDesc(p, 0), "read XML of pool " + name), "pool XML")
                .getDocumentElement();
        Element target = child(root, "target");
        Libvirt.PoolInfo pi = new Libvirt.PoolInfo();
        check(LV.virStoragePoolGetInfo(p, pi), "read size of pool " + name, null);
        String path = target == null ? null : text(child(target, "path"));
        if (path != null && path.endsWith("/") && path.length() > 1) path = path.substring(0, path.length() - 1);
        return new io.kvmigrate.core.spi.PoolInfo(name, attr(root, "type"), path, pi.capacity, pi.available, active);
    }

    @Override
    public io.kvmigrate.core.spi.VolumeInfo createVolume(String poolName, String name, String format, long capacityBytes) {
        Pointer pool = LV.virStoragePoolLookupByName(conn, poolName);
        if (pool == null) throw error("find storage pool '" + poolName + "'", null);
        try {
            check(LV.virStoragePoolRefresh(pool, 0), "refresh storage pool " + poolName, null);
            String xml = "<volume><name>" + escape(name) + "</name><capacity unit='bytes'>" + capacityBytes
                    + "</capacity><allocation unit='bytes'>0</allocation><target><format type='" + escape(format)
                    + "'/></target></volume>";
            Pointer vol = LV.virStorageVolCreateXML(pool, xml, 0);
            if (vol == null) throw error("create " + format + " volume '" + name + "' of " + capacityBytes + " bytes in pool " + poolName, null);
            try {
                return volumeInfo(vol, poolName);
            } finally {
                LV.virStorageVolFree(vol);
            }
        } finally {
            LV.virStoragePoolFree(pool);
        }
    }

    @Override
    public void deleteVolume(String path) {
        try (DirPool pool = DirPool.open(this, dirOf(path), false)) {
            if (pool == null) return;
            Pointer vol = LV.virStorageVolLookupByName(pool.pool, fileOf(path));
            if (vol == null) {
                LV.virResetLastError();
                return;
            }
            try {
                check(LV.virStorageVolDelete(vol, Libvirt.VIR_STORAGE_VOL_DELETE_NORMAL), "delete volume " + path, null);
            } finally {
                LV.virStorageVolFree(vol);
            }
        }
    }

    @Override
    public void downloadVolume(String path, boolean sparse, io.kvmigrate.core.spi.VolumeSink sink) {
        try (DirPool pool = DirPool.open(this, dirOf(path), true)) {
            Pointer vol = LV.virStorageVolLookupByName(pool.pool, fileOf(path));
            if (vol == null) throw error("find volume " + path, null);
            Pointer st = LV.virStreamNew(conn, 0);
            try {
                if (st == null) throw error("open a stream from " + path, null);
                check(LV.virStorageVolDownload(vol, st, 0, 0, sparse ? Libvirt.VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM : 0),
                        "start reading " + path, null);
                byte[] buf = new byte[STREAM_CHUNK];
                LongByReference hole = new LongByReference();
                boolean ok = false;
                try {
                    while (true) {
                        int n = LV.virStreamRecvFlags(st, buf, new NativeLong(buf.length), sparse ? Libvirt.VIR_STREAM_RECV_STOP_AT_HOLE : 0);
                        if (n == Libvirt.VIR_STREAM_RECV_HOLE) {
                            check(LV.virStreamRecvHole(st, hole, 0), "read a hole of " + path, null);
                            sink.hole(hole.getValue());
                        } else if (n < 0) {
                            throw error("read " + path, null);
                        } else if (n == 0) {
                            break;
                        } else {
                            sink.data(buf, n);
                        }
                    }
                    check(LV.virStreamFinish(st), "finish reading " + path, null);
                    ok = true;
                } finally {
                    if (!ok) LV.virStreamAbort(st);
                }
            } finally {
                if (st != null) LV.virStreamFree(st);
                LV.virStorageVolFree(vol);
            }
        }
    }

    @Override
    public io.kvmigrate.core.spi.VolumeUpload uploadVolume(String path, boolean sparse) {
        DirPool pool = DirPool.open(this, dirOf(path), true);
        Pointer vol = LV.virStorageVolLookupByName(pool.pool, fileOf(path));
        if (vol == null) {
            KvmigrateException e = error("find volume " + path, null);
            pool.close();
            throw e;
        }
        Pointer st = LV.virStreamNew(conn, 0);
        if (st == null || LV.virStorageVolUpload(vol, st, 0, 0, sparse ? Libvirt.VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM : 0) < 0) {
            KvmigrateException e = error("start writing " + path, null);
            if (st != null) LV.virStreamFree(st);
            LV.virStorageVolFree(vol);
            pool.close();
            throw e;
        }
        return new StreamUpload(path, pool, vol, st, sparse);
    }

    /** An upload stream into a volume; holds the pool (maybe transient) open until closed. */
    private final class StreamUpload implements io.kvmigrate.core.spi.VolumeUpload {
        private final String path;
        private final DirPool pool;
        private final Pointer vol;
        private final Pointer st;
        private final boolean sparse;
        private final com.sun.jna.Memory buffer = new com.sun.jna.Memory(STREAM_CHUNK);
        private boolean finished;
        private boolean closed;

        StreamUpload(String path, DirPool pool, Pointer vol, Pointer st, boolean sparse) {
            this.path = path;
            this.pool = pool;
            this.vol = vol;
            this.st = st;
            this.sparse = sparse;
        }

        @Override
        public void data(byte[] data, int length) {
            int off = 0;
            while (off < length) {
                int n = Math.min(STREAM_CHUNK, length - off);
                buffer.write(0, data, off, n);
                int sent = LV.virStreamSend(st, buffer, new NativeLong(n));
                if (sent < 0) throw error("write to " + path, null);
                // libvirt may take less than offered: continue from the first unsent byte.
                off += sent;
            }
        }

        @Override
        public void hole(long length) {
            if (sparse) {
                check(LV.virStreamSendHole(st, length, 0), "skip a hole of " + length + " bytes in " + path, null);
                return;
            }
            byte[] zeros = new byte[(int) Math.min(STREAM_CHUNK, length)];
            for (long left = length; left > 0; left -= zeros.length) data(zeros, (int) Math.min(zeros.length, left));
        }

        @Override
        public void finish() {
            check(LV.virStreamFinish(st), "finish writing " + path, null);
            finished = true;
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            if (!finished) LV.virStreamAbort(st);
            LV.virStreamFree(st);
            LV.virStorageVolFree(vol);
            pool.close();
        }
    }

    private io.kvmigrate.core.spi.VolumeInfo volumeInfo(Pointer vol, String poolName) {
        String name = LV.virStorageVolGetName(vol);
        Element root = DomainXml.parseDocument(takeString(LV.virStorageVolGetXMLDesc(vol, 0), "read XML of volume " + name), "volume XML")
                .getDocumentElement();
        Element target = child(root, "target");
        Element format = target == null ? null : child(target, "format");
        String path = target == null ? null : text(child(target, "path"));
        long capacity = bytes(child(root, "capacity"));
        long allocation = bytes(child(root, "allocation"));
        Element phys = child(root, "physical");
        return new io.kvmigrate.core.spi.VolumeInfo(path, poolName, name, format == null ? "raw" : attr(format, "type"), capacity,
                allocation, phys == null ? capacity : bytes(phys));
    }

    private static long bytes(Element e) {
        if (e == null) return 0;
        long v = Long.parseLong(text(e));
        String unit = attr(e, "unit");
        return unit == null || "bytes".equals(unit) || "B".equals(unit) || "b".equals(unit) ? v : DomainXml.memoryKiB(e) * 1024;
    }

    private static String dirOf(String path) {
        int slash = path.lastIndexOf('/');
        return slash <= 0 ? "/" : path.substring(0, slash);
    }

    private static String fileOf(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    // ---- preflight (issue 3): one inventory call per host ----

    @Override
    public HostInventory inventory(VmSpec guest) {
        CapabilitiesXml.Parsed caps = CapabilitiesXml.parse(takeString(LV.virConnectGetCapabilities(conn), "read capabilities"));
        List<HostInventory.Domain> domains = domains();
        HostInventory.Cpu cpu = expandedCpu(caps);
        List<HostInventory.Network> nets = networks();
        List<String> ifs = hostInterfaces();
        List<HostInventory.Pool> pools = inventoryPools();
        HostInventory.GuestView gv = guest == null ? null : guestView(guest);
        HostFacts facts = facts(caps, (int) domains.stream().filter(HostInventory.Domain::active).count());
        return new HostInventory(facts, cpu, caps.guests(), nets, ifs, pools, domains, gv);
    }

    /** The host CPU with every feature its model implies (libvirt's baseline of the one CPU, expanded); as listed if that fails. */
    private HostInventory.Cpu expandedCpu(CapabilitiesXml.Parsed caps) {
        if (caps.cpuXml() == null) return caps.cpu();
        Pointer p = LV.virConnectBaselineCPU(conn, new String[] {caps.cpuXml()}, 1, Libvirt.VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES);
        if (p == null) {
            LV.virResetLastError();
            return caps.cpu();
        }
        java.util.Set<String> features = CapabilitiesXml.features(takeString(p, "expand host CPU features"));
        HostInventory.Cpu c = caps.cpu();
        return new HostInventory.Cpu(c.arch(), c.vendor(), c.model(), features, true);
    }

    private List<HostInventory.Domain> domains() {
        List<HostInventory.Domain> out = new ArrayList<>();
        list(ref -> LV.virConnectListAllDomains(conn, ref, 0), "list VMs", dom -> {
            byte[] uuid = new byte[37];
            String uuidString = LV.virDomainGetUUIDString(dom, uuid) == 0 ? Native.toString(uuid) : null;
            out.add(new HostInventory.Domain(LV.virDomainGetName(dom), uuidString, LV.virDomainIsActive(dom) == 1));
            LV.virDomainFree(dom);
        });
        return out;
    }

    private List<HostInventory.Network> networks() {
        List<HostInventory.Network> out = new ArrayList<>();
        boolean ok = list(ref -> LV.virConnectListAllNetworks(conn, ref, 0), null, net -> {
            Pointer br = LV.virNetworkGetBridgeName(net);
            String bridge = null;
            if (br == null) {
                LV.virResetLastError(); // networks of some forward modes have no bridge
            } else {
                bridge = takeString(br, "read network bridge");
            }
            out.add(new HostInventory.Network(LV.virNetworkGetName(net), LV.virNetworkIsActive(net) == 1, bridge));
            LV.virNetworkFree(net);
        });
        return ok ? out : null;
    }

    /**
     * Host interfaces through libvirt's interface driver (udev or netcf backend); where that driver is missing,
     * the node devices with the net capability, which every libvirtd with the nodedev driver reports.
     */
    private List<String> hostInterfaces() {
        List<String> out = new ArrayList<>();
        if (list(ref -> LV.virConnectListAllInterfaces(conn, ref, 0), null, i -> {
            out.add(LV.virInterfaceGetName(i));
            LV.virInterfaceFree(i);
        })) {
            return out;
        }
        boolean ok = list(ref -> LV.virConnectListAllNodeDevices(conn, ref, Libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET), null, d -> {
            Pointer xml = LV.virNodeDeviceGetXMLDesc(d, 0);
            if (xml != null) {
                String name = CapabilitiesXml.netDeviceInterface(takeString(xml, "read node device XML"));
                if (name != null) out.add(name);
            } else {
                LV.virResetLastError();
            }
            LV.virNodeDeviceFree(d);
        });
        return ok ? out : null;
    }

    private List<HostInventory.Pool> inventoryPools() {
        List<HostInventory.Pool> out = new ArrayList<>();
        boolean ok = list(ref -> LV.virConnectListAllStoragePools(conn, ref, 0), null, p -> {
            try {
                Pointer xml = LV.virStoragePoolGetXMLDesc(p, 0);
                String[] ntp = xml == null ? new String[] {LV.virStoragePoolGetName(p), null, null}
                        : CapabilitiesXml.pool(takeString(xml, "read pool XML"));
                Libvirt.PoolInfo info = new Libvirt.PoolInfo();
                boolean active = LV.virStoragePoolIsActive(p) == 1;
                if (LV.virStoragePoolGetInfo(p, info) < 0) LV.virResetLastError();
                out.add(new HostInventory.Pool(ntp[0], ntp[1], ntp[2], active, active ? info.capacity : 0, active ? info.available : 0));
            } finally {
                LV.virStoragePoolFree(p);
            }
        });
        return ok ? out : null;
    }

    private HostInventory.GuestView guestView(VmSpec guest) {
        HostInventory.CpuVerdict verdict;
        String detail = null;
        String cpuXml = guest.xml() == null ? null : CapabilitiesXml.guestCpuXml(guest.xml());
        if ("host-passthrough".equals(guest.cpuMode()) || "maximum".equals(guest.cpuMode())) {
            verdict = HostInventory.CpuVerdict.NOT_APPLICABLE;
            detail = "the guest uses the host's own CPU (" + guest.cpuMode() + "), see CPU_PASSTHROUGH";
        } else if (cpuXml == null) {
            verdict = HostInventory.CpuVerdict.NOT_APPLICABLE;
            detail = "the guest has no CPU definition, so it gets the hypervisor's default model";
        } else {
            int rc = LV.virConnectCompareHypervisorCPU(conn, guest.emulator(), guest.arch(), guest.machine(), guest.domainType(), cpuXml,
                    Libvirt.VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE);
            if (rc == Libvirt.VIR_CPU_COMPARE_IDENTICAL) verdict = HostInventory.CpuVerdict.IDENTICAL;
            else if (rc == Libvirt.VIR_CPU_COMPARE_SUPERSET) verdict = HostInventory.CpuVerdict.SUPERSET;
            else if (rc == Libvirt.VIR_CPU_COMPARE_INCOMPATIBLE) verdict = HostInventory.CpuVerdict.INCOMPATIBLE;
            else {
                LibvirtError e = LibvirtError.last();
                verdict = e.code() == LibvirtError.VIR_ERR_CPU_INCOMPATIBLE ? HostInventory.CpuVerdict.INCOMPATIBLE : HostInventory.CpuVerdict.UNKNOWN;
                detail = e.message();
                LV.virResetLastError();
            }
        }
        String capsMachine = null;
        String capsError = null;
        Pointer dc = LV.virConnectGetDomainCapabilities(conn, guest.emulator(), guest.arch(), guest.machine(), guest.domainType(), 0);
        if (dc == null) {
            capsError = LibvirtError.last().message();
            LV.virResetLastError();
        } else {
            capsMachine = CapabilitiesXml.domainCapsMachine(takeString(dc, "read domain capabilities"));
        }
        int snapshots = -1;
        List<String> jobs = new ArrayList<>();
        Pointer dom = guest.uuid() == null ? null : LV.virDomainLookupByUUIDString(conn, guest.uuid());
        if (dom == null) {
            LV.virResetLastError();
        } else {
            try {
                if (guest.name().equals(LV.virDomainGetName(dom))) {
                    snapshots = LV.virDomainSnapshotNum(dom, 0);
                    if (snapshots < 0) LV.virResetLastError();
                    if (LV.virDomainIsActive(dom) == 1) {
                        for (io.kvmigrate.core.model.DiskSpec d : guest.disks()) {
                            if (d.target() == null || !d.hasLocalSource()) continue;
                            if (LV.virDomainGetBlockJobInfo(dom, d.target(), new Libvirt.BlockJobInfo(), 0) == 1) jobs.add(d.target());
                            else LV.virResetLastError();
                        }
                    }
                }
            } finally {
                LV.virDomainFree(dom);
            }
        }
        return new HostInventory.GuestView(verdict, detail, capsMachine, capsError, snapshots, jobs);
    }

    /**
     * Calls a virConnectListAll* function and hands each object to {@code f} (which frees it). When the call fails:
     * throws if {@code tried} names the step, else returns false (driver missing: the caller reports "unknown").
     */
    private boolean list(java.util.function.ToIntFunction<PointerByReference> call, String tried, java.util.function.Consumer<Pointer> f) {
        PointerByReference ref = new PointerByReference();
        int n = call.applyAsInt(ref);
        if (n < 0) {
            if (tried != null) throw error(tried, null);
            LV.virResetLastError();
            return false;
        }
        Pointer array = ref.getValue();
        try {
            for (int i = 0; i < n; i++) f.accept(array.getPointer((long) i * Native.POINTER_SIZE));
        } finally {
            if (array != null) Native.free(Pointer.nativeValue(array));
        }
        return true;
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
    public boolean pausedInPostCopy(String vm) {
        Pointer dom = LV.virDomainLookupByName(conn, vm);
        if (dom == null) {
            LV.virResetLastError();
            return false;
        }
        try {
            IntByReference state = new IntByReference();
            IntByReference reason = new IntByReference();
            check(LV.virDomainGetState(dom, state, reason, 0), "read state", vm);
            return state.getValue() == Libvirt.VIR_DOMAIN_PAUSED && (reason.getValue() == Libvirt.VIR_DOMAIN_PAUSED_POSTCOPY
                    || reason.getValue() == Libvirt.VIR_DOMAIN_PAUSED_POSTCOPY_FAILED);
        } finally {
            LV.virDomainFree(dom);
        }
    }

    @Override
    public MigrationHandle resumePostCopy(String vm, HostRef target, MigrationOptions o) {
        Pointer dom = LV.virDomainLookupByName(conn, vm);
        if (dom == null) throw error("look up VM", vm);
        long flags = moveFlags(target, o) | Libvirt.VIR_MIGRATE_POSTCOPY | Libvirt.VIR_MIGRATE_POSTCOPY_RESUME;
        return launch(dom, vm, target, new MigrationOptions(o.bandwidthMiBps(), 0, o.storageVerifiedShared(), false, true, false, 0), flags);
    }
}
