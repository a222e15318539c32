package io.kvmigrate.libvirt;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.spi.PoolSpec;
import io.kvmigrate.core.spi.PoolStatus;
import io.kvmigrate.core.spi.StoragePools;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * {@link StoragePools} over one libvirt connection (the session's: valid while it is open). Errors are libvirt's, by
 * number ({@link LibvirtError}), as exceptions naming the host and the pool.
 */
final class LibvirtStoragePools implements StoragePools {
    private static final Libvirt LV = Libvirt.INSTANCE;
    private final HostRef host;
    private final Pointer conn;

    LibvirtStoragePools(HostRef host, Pointer conn) {
        this.host = host;
        this.conn = conn;
    }

    @Override
    public List<PoolStatus> list() {
        PointerByReference ref = new PointerByReference();
        int n = LV.virConnectListAllStoragePools(conn, ref, 0);
        if (n < 0) throw error("list storage pools");
        Pointer array = ref.getValue();
        List<PoolStatus> out = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                Pointer p = array.getPointer((long) i * Native.POINTER_SIZE);
                try {
                    if (!DirPool.isProbe(LV.virStoragePoolGetName(p))) out.add(status(p));
                } finally {
                    LV.virStoragePoolFree(p);
                }
            }
        } finally {
            if (array != null) Native.free(Pointer.nativeValue(array));
        }
        return out;
    }

    @Override
    public Optional<PoolStatus> find(String name) {
        Pointer p = LV.virStoragePoolLookupByName(conn, name);
        if (p == null) {
            LibvirtError e = LibvirtError.last();
            if (e.code() == LibvirtError.VIR_ERR_NO_STORAGE_POOL) {
                LV.virResetLastError();
                return Optional.empty();
            }
            throw e.toException(null, host.name(), null, "look up storage pool '" + name + "'");
        }
        try {
            return Optional.of(status(p));
        } finally {
            LV.virStoragePoolFree(p);
        }
    }

    @Override
    public void define(PoolSpec spec) {
        Pointer p = LV.virStoragePoolDefineXML(conn, PoolXml.build(spec), 0);
        if (p == null) throw error("define storage pool '" + spec.name() + "'");
        LV.virStoragePoolFree(p);
    }

    @Override
    public void start(String name) {
        with(name, p -> {
            // Build first for an NFS pool: it creates the mount point when missing. Never for a dir pool: a missing directory
            // there means the shared file system is not mounted, and an empty local directory would hide that.
            String type = PoolXml.parse(takeString(LV.virStoragePoolGetXMLDesc(p, 0), "read XML of storage pool '" + name + "'")).type();
            int flags = PoolSpec.NETFS.equals(type) ? Libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD : 0;
            check(LV.virStoragePoolCreate(p, flags), "start storage pool '" + name + "'");
        });
    }

    @Override
    public void setAutostart(String name, boolean autostart) {
        with(name, p -> check(LV.virStoragePoolSetAutostart(p, autostart ? 1 : 0), "set autostart of storage pool '" + name + "' to " + autostart));
    }

    @Override
    public void stop(String name) {
        with(name, p -> check(LV.virStoragePoolDestroy(p), "stop storage pool '" + name + "'"));
    }

    @Override
    public void undefine(String name) {
        with(name, p -> check(LV.virStoragePoolUndefine(p), "undefine storage pool '" + name + "'"));
    }

    private PoolStatus status(Pointer p) {
        String name = LV.virStoragePoolGetName(p);
        PoolSpec spec = PoolXml.parse(takeString(LV.virStoragePoolGetXMLDesc(p, 0), "read XML of storage pool '" + name + "'"));
        boolean active = LV.virStoragePoolIsActive(p) == 1;
        IntByReference autostart = new IntByReference();
        check(LV.virStoragePoolGetAutostart(p, autostart), "read autostart of storage pool '" + name + "'");
        int persistent = LV.virStoragePoolIsPersistent(p);
        if (persistent < 0) throw error("read persistence of storage pool '" + name + "'");
        long capacity = 0;
        long allocation = 0;
        long available = 0;
        if (active) {
            // Space is only current after a refresh; a pool that cannot be refreshed still lists, with its last figures.
            if (PoolRefresh.refresh(p) != null) LV.virResetLastError();
            Libvirt.PoolInfo info = new Libvirt.PoolInfo();
            check(LV.virStoragePoolGetInfo(p, info), "read size of storage pool '" + name + "'");
            capacity = info.capacity;
            allocation = info.allocation;
            available = info.available;
        }
        return new PoolStatus(spec, active, autostart.getValue() == 1, persistent == 1, capacity, allocation, available);
    }

    private void with(String name, Consumer<Pointer> f) {
        Pointer p = LV.virStoragePoolLookupByName(conn, name);
        if (p == null) throw error("look up storage pool '" + name + "'");
        try {
            f.accept(p);
        } finally {
            LV.virStoragePoolFree(p);
        }
    }

    private String takeString(Pointer p, String tried) {
        if (p == null) throw error(tried);
        try {
            return p.getString(0, "UTF-8");
        } finally {
            Native.free(Pointer.nativeValue(p));
        }
    }

    private void check(int rc, String tried) {
        if (rc < 0) throw error(tried);
    }

    private KvmigrateException error(String tried) {
        return LibvirtError.last().toException(null, host.name(), null, tried);
    }
}
