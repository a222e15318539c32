package io.kvmigrate.libvirt;

import com.sun.jna.Callback;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;

/**
 * JNA declarations of the part of libvirt's C API kvmigrate uses. Declared here rather than through
 * libvirt-java because that binding lacks the calls a migration tool lives on (virDomainMigrateToURI3,
 * typed job statistics, post-copy, dirty rate, max speed), and mixing two bindings would mean two
 * pointer types for one object.
 */
public interface Libvirt extends Library {
    Libvirt INSTANCE = Native.load("virt", Libvirt.class);

    // flags
    int VIR_DOMAIN_XML_SECURE = 1;
    int VIR_DOMAIN_XML_INACTIVE = 2;
    int VIR_DOMAIN_XML_MIGRATABLE = 8;
    int VIR_CONNECT_LIST_DOMAINS_ACTIVE = 1;
    int VIR_DOMAIN_UNDEFINE_MANAGED_SAVE = 1;
    int VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA = 2;
    int VIR_DOMAIN_UNDEFINE_NVRAM = 4;
    int VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA = 16;
    int VIR_MEMORY_PHYSICAL = 2;
    /** virDomainState / virDomainPausedReason values used to tell a post-copy pause from others. */
    int VIR_DOMAIN_PAUSED = 3;
    int VIR_DOMAIN_PAUSED_POSTCOPY = 12;
    int VIR_DOMAIN_PAUSED_POSTCOPY_FAILED = 13;
    int VIR_DOMAIN_JOB_STATS_COMPLETED = 1;
    int VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED = 2;

    long VIR_MIGRATE_LIVE = 1;
    long VIR_MIGRATE_PEER2PEER = 2;
    long VIR_MIGRATE_PERSIST_DEST = 8;
    long VIR_MIGRATE_UNDEFINE_SOURCE = 16;
    long VIR_MIGRATE_NON_SHARED_DISK = 64;
    long VIR_MIGRATE_UNSAFE = 512;
    long VIR_MIGRATE_OFFLINE = 1024;
    long VIR_MIGRATE_COMPRESSED = 2048;
    long VIR_MIGRATE_ABORT_ON_ERROR = 4096;
    long VIR_MIGRATE_AUTO_CONVERGE = 8192;
    long VIR_MIGRATE_POSTCOPY = 32768;
    long VIR_MIGRATE_TLS = 65536;
    long VIR_MIGRATE_PARALLEL = 131072;

    /** virErrorFunc: receives errors that would otherwise be printed to stderr. */
    interface ErrorFunc extends Callback {
        void invoke(Pointer userData, Pointer error);
    }

    /** virNodeInfo. */
    @Structure.FieldOrder({"model", "memory", "cpus", "mhz", "nodes", "sockets", "cores", "threads"})
    class NodeInfo extends Structure {
        public byte[] model = new byte[32];
        public NativeLong memory;
        public int cpus;
        public int mhz;
        public int nodes;
        public int sockets;
        public int cores;
        public int threads;
    }

    /** virStorageVolInfo. */
    @Structure.FieldOrder({"type", "capacity", "allocation"})
    class VolInfo extends Structure {
        public int type;
        public long capacity;
        public long allocation;
    }

    void virSetErrorFunc(Pointer userData, ErrorFunc handler);

    Pointer virGetLastError();

    void virResetLastError();

    int virGetVersion(LongByReference libVer, String type, LongByReference typeVer);

    // connections
    Pointer virConnectOpenAuth(String uri, Pointer auth, int flags);

    int virConnectClose(Pointer conn);

    Pointer virConnectGetCapabilities(Pointer conn);

    Pointer virConnectGetHostname(Pointer conn);

    int virConnectGetLibVersion(Pointer conn, LongByReference version);

    int virConnectGetVersion(Pointer conn, LongByReference version);

    int virNodeGetInfo(Pointer conn, NodeInfo info);

    long virNodeGetFreeMemory(Pointer conn);

    int virConnectListAllDomains(Pointer conn, PointerByReference domains, int flags);

    int virConnectSetKeepAlive(Pointer conn, int interval, int count);

    // domains
    Pointer virDomainLookupByName(Pointer conn, String name);

    Pointer virDomainLookupByUUIDString(Pointer conn, String uuid);

    int virDomainFree(Pointer dom);

    String virDomainGetName(Pointer dom);

    int virDomainGetState(Pointer dom, IntByReference state, IntByReference reason, int flags);

    int virDomainIsPersistent(Pointer dom);

    Pointer virDomainGetXMLDesc(Pointer dom, int flags);

    Pointer virDomainDefineXML(Pointer conn, String xml);

    int virDomainUndefineFlags(Pointer dom, int flags);

    int virDomainCreate(Pointer dom);

    int virDomainDestroy(Pointer dom);

    int virDomainShutdown(Pointer dom);

    int virDomainSuspend(Pointer dom);

    int virDomainResume(Pointer dom);

    int virDomainMemoryPeek(Pointer dom, long start, NativeLong size, byte[] buffer, int flags);

    // migration
    int virDomainMigrateToURI3(Pointer dom, String dconnuri, Pointer params, int nparams, long flags);

    int virDomainGetJobStats(Pointer dom, IntByReference type, PointerByReference params, IntByReference nparams, int flags);

    int virDomainAbortJob(Pointer dom);

    int virDomainMigrateSetMaxDowntime(Pointer dom, long downtime, int flags);

    int virDomainMigrateSetMaxSpeed(Pointer dom, NativeLong bandwidth, int flags);

    int virDomainMigrateStartPostCopy(Pointer dom, int flags);

    // typed parameters
    int virTypedParamsAddString(PointerByReference params, IntByReference nparams, IntByReference maxparams, String name, String value);

    int virTypedParamsAddULLong(PointerByReference params, IntByReference nparams, IntByReference maxparams, String name, long value);

    int virTypedParamsAddInt(PointerByReference params, IntByReference nparams, IntByReference maxparams, String name, int value);

    int virTypedParamsGetULLong(Pointer params, int nparams, String name, LongByReference value);

    int virTypedParamsGetInt(Pointer params, int nparams, String name, IntByReference value);

    void virTypedParamsFree(Pointer params, int nparams);

    // storage
    Pointer virStoragePoolCreateXML(Pointer conn, String xml, int flags);

    Pointer virStoragePoolDefineXML(Pointer conn, String xml, int flags);

    Pointer virStoragePoolLookupByName(Pointer conn, String name);

    int virStoragePoolCreate(Pointer pool, int flags);

    int virStoragePoolSetAutostart(Pointer pool, int autostart);

    int virConnectListAllStoragePools(Pointer conn, PointerByReference pools, int flags);

    Pointer virStoragePoolGetXMLDesc(Pointer pool, int flags);

    int virStoragePoolIsActive(Pointer pool);

    int virStoragePoolRefresh(Pointer pool, int flags);

    int virStoragePoolDestroy(Pointer pool);

    int virStoragePoolFree(Pointer pool);

    Pointer virStorageVolLookupByName(Pointer pool, String name);

    Pointer virStorageVolCreateXML(Pointer pool, String xml, int flags);

    int virStorageVolGetInfo(Pointer vol, VolInfo info);

    int virStorageVolDelete(Pointer vol, int flags);

    int virStorageVolFree(Pointer vol);

    int virStorageVolUpload(Pointer vol, Pointer stream, long offset, long length, int flags);

    int virStorageVolDownload(Pointer vol, Pointer stream, long offset, long length, int flags);

    Pointer virStreamNew(Pointer conn, int flags);

    int virStreamSend(Pointer stream, byte[] data, NativeLong nbytes);

    int virStreamRecv(Pointer stream, byte[] data, NativeLong nbytes);

    int virStreamFinish(Pointer stream);

    int virStreamAbort(Pointer stream);

    int virStreamFree(Pointer stream);

    // ---- storage copy (cold migration): sparse streams, pool/volume details ----
    int VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM = 1;
    int VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM = 1;
    int VIR_STREAM_RECV_STOP_AT_HOLE = 1;
    /** virStreamRecvFlags: the stream is positioned at a hole (with VIR_STREAM_RECV_STOP_AT_HOLE). */
    int VIR_STREAM_RECV_HOLE = -3;
    int VIR_STORAGE_VOL_DELETE_NORMAL = 0;
    // ---- preflight (issue 3): capabilities, CPU comparison, networks, interfaces, pools, snapshots, block jobs ----
    int VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE = 1;
    int VIR_CPU_COMPARE_ERROR = -1;
    int VIR_CPU_COMPARE_INCOMPATIBLE = 0;
    int VIR_CPU_COMPARE_IDENTICAL = 1;
    int VIR_CPU_COMPARE_SUPERSET = 2;
    int VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES = 1;
    int VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET = 1 << 4;

    /** virStoragePoolInfo. */
    @Structure.FieldOrder({"state", "capacity", "allocation", "available"})
    class PoolInfo extends Structure {
        public int state;
        public long capacity;
        public long allocation;
        public long available;
    }

    /** virStreamSend from native memory (a reused buffer, so large copies do not allocate per chunk). */
    int virStreamSend(Pointer stream, Pointer data, NativeLong nbytes);

    int virStreamRecvFlags(Pointer stream, byte[] data, NativeLong nbytes, int flags);

    int virStreamRecvHole(Pointer stream, LongByReference length, int flags);

    int virStreamSendHole(Pointer stream, long length, int flags);

    int virStoragePoolGetInfo(Pointer pool, PoolInfo info);

    String virStoragePoolGetName(Pointer pool);

    Pointer virStorageVolGetXMLDesc(Pointer vol, int flags);

    Pointer virStorageVolGetPath(Pointer vol);

    String virStorageVolGetName(Pointer vol);

    Pointer virStoragePoolLookupByVolume(Pointer vol);

    /** virDomainBlockJobInfo. */
    @Structure.FieldOrder({"type", "bandwidth", "cur", "end"})
    class BlockJobInfo extends Structure {
        public int type;
        public NativeLong bandwidth;
        public long cur;
        public long end;
    }

    Pointer virConnectGetDomainCapabilities(Pointer conn, String emulatorbin, String arch, String machine, String virttype, int flags);

    int virConnectCompareHypervisorCPU(Pointer conn, String emulator, String arch, String machine, String virttype, String xmlCPU, int flags);

    Pointer virConnectBaselineCPU(Pointer conn, String[] xmlCPUs, int ncpus, int flags);

    int virConnectListAllNetworks(Pointer conn, PointerByReference nets, int flags);

    String virNetworkGetName(Pointer net);

    int virNetworkIsActive(Pointer net);

    Pointer virNetworkGetBridgeName(Pointer net);

    int virNetworkFree(Pointer net);

    int virConnectListAllInterfaces(Pointer conn, PointerByReference ifaces, int flags);

    String virInterfaceGetName(Pointer iface);

    int virInterfaceFree(Pointer iface);

    int virConnectListAllNodeDevices(Pointer conn, PointerByReference devices, int flags);

    Pointer virNodeDeviceGetXMLDesc(Pointer dev, int flags);

    int virNodeDeviceFree(Pointer dev);


    int virDomainGetUUIDString(Pointer dom, byte[] buf);

    int virDomainIsActive(Pointer dom);

    int virDomainSnapshotNum(Pointer dom, int flags);

    int virDomainGetBlockJobInfo(Pointer dom, String disk, BlockJobInfo info, int flags);

    // for lab tests: transient networks
    Pointer virNetworkCreateXML(Pointer conn, String xml);

    Pointer virNetworkLookupByName(Pointer conn, String name);

    int virNetworkDestroy(Pointer net);

    // ---- dirty rate (issue 5) ----
    int VIR_DOMAIN_STATS_DIRTYRATE = 1 << 9;
    int VIR_DOMAIN_DIRTYRATE_MODE_PAGE_SAMPLING = 0;
    int VIR_DOMAIN_DIRTYRATE_MODE_DIRTY_BITMAP = 1;
    int VIR_DOMAIN_DIRTYRATE_MEASURED = 2;
    long VIR_MIGRATE_POSTCOPY_RESUME = 1L << 19;

    int virDomainStartDirtyRateCalc(Pointer dom, int seconds, int flags);

    /** doms: NULL-terminated array of domain pointers; retStats: NULL-terminated array of virDomainStatsRecord pointers. */
    int virDomainListGetStats(Pointer doms, int stats, PointerByReference retStats, int flags);

    void virDomainStatsRecordListFree(Pointer stats);

    int virTypedParamsGetLLong(Pointer params, int nparams, String name, LongByReference value);

    int virTypedParamsGetString(Pointer params, int nparams, String name, PointerByReference value);

    // ---- storage pools as their own role (issue 15: storage share / list) ----
    /** virStoragePoolCreateFlags: build the pool first (an NFS pool's mount point is created when missing). */
    int VIR_STORAGE_POOL_CREATE_WITH_BUILD = 1;

    int virStoragePoolUndefine(Pointer pool);

    int virStoragePoolGetAutostart(Pointer pool, IntByReference autostart);

    int virStoragePoolIsPersistent(Pointer pool);
}
