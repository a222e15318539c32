package io.kvmigrate.libvirt;

import static io.kvmigrate.libvirt.DomainXml.attr;
import static io.kvmigrate.libvirt.DomainXml.child;
import static io.kvmigrate.libvirt.DomainXml.escape;
import static io.kvmigrate.libvirt.DomainXml.text;

import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.spi.PoolInfo;
import io.kvmigrate.core.spi.VolumeInfo;
import io.kvmigrate.core.spi.VolumeSink;
import io.kvmigrate.core.spi.VolumeUpload;
import io.kvmigrate.core.spi.Volumes;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.w3c.dom.Element;

/**
 * {@link Volumes} over libvirt: pools, volumes and their streams (sparse where asked), and probe files. A file is reached
 * through a pool on its directory ({@link DirPool}: the host's own, else a transient one destroyed after use).
 */
final class LibvirtVolumes implements Volumes {
    private static final Libvirt LV = Libvirt.INSTANCE;
    /** Largest payload of one libvirt stream message; bigger buffers only add copying. */
    static final int STREAM_CHUNK = 256 * 1024;

    private final LibvirtConnection c;

    LibvirtVolumes(LibvirtConnection c) {
        this.c = c;
    }

    @Override
    public HostRef host() {
        return c.host;
    }

    // ---- storage probes: through a pool on the directory (existing, else transient) ----

    @Override
    public String writeProbe(String directory, String fileName, byte[] content) {
        try (DirPool pool = DirPool.open(c, directory, true)) {
            String volXml = "<volume><name>" + escape(fileName) + "</name><capacity unit='bytes'>" + content.length
                    + "</capacity><target><format type='raw'/></target></volume>";
            Pointer vol = LV.virStorageVolCreateXML(pool.pool, volXml, 0);
            if (vol == null) throw c.error("create probe file in " + directory, null);
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
            c.check(LV.virStorageVolGetInfo(vol, vi), "read size of " + directory + "/" + fileName, null);
            return vi.capacity;
        });
    }

    @Override
    public void deleteProbe(String directory, String fileName) {
        withVolume(directory, fileName, vol -> {
            c.check(LV.virStorageVolDelete(vol, 0), "delete probe " + directory + "/" + fileName, null);
            return Boolean.TRUE;
        });
    }

    /** Applies {@code f} to the file as a storage volume; empty when the directory or the file does not exist on this host. */
    private <T> Optional<T> withVolume(String directory, String fileName, Function<Pointer, T> f) {
        try (DirPool pool = DirPool.open(c, directory, false)) {
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
        Pointer st = LV.virStreamNew(c.conn, 0);
        if (st == null) throw c.error("open a stream to " + what, null);
        try {
            c.check(LV.virStorageVolUpload(vol, st, 0, content.length, 0), "upload to " + what, null);
            int off = 0;
            while (off < content.length) {
                byte[] chunk = off == 0 ? content : java.util.Arrays.copyOfRange(content, off, content.length);
                int n = LV.virStreamSend(st, chunk, new NativeLong(chunk.length));
                if (n < 0) {
                    KvmigrateException e = c.error("upload to " + what, null); // before the abort resets libvirt's error
                    LV.virStreamAbort(st);
                    throw e;
                }
                off += n;
            }
            c.check(LV.virStreamFinish(st), "finish upload to " + what, null);
        } finally {
            LV.virStreamFree(st);
        }
    }

    private byte[] download(Pointer vol, int maxBytes, String what) {
        Pointer st = LV.virStreamNew(c.conn, 0);
        if (st == null) throw c.error("open a stream from " + what, null);
        try {
            c.check(LV.virStorageVolDownload(vol, st, 0, maxBytes, 0), "download " + what, null);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[64 * 1024];
            while (true) {
                int n = LV.virStreamRecv(st, buf, new NativeLong(buf.length));
                if (n < 0) {
                    KvmigrateException e = c.error("download " + what, null); // before the abort resets libvirt's error
                    LV.virStreamAbort(st);
                    throw e;
                }
                if (n == 0) break;
                out.write(buf, 0, n);
            }
            c.check(LV.virStreamFinish(st), "finish download of " + what, null);
            return out.toByteArray();
        } finally {
            LV.virStreamFree(st);
        }
    }

    @Override
    public void ensureDirPool(String name, String directory) {
        Pointer pool = LV.virStoragePoolLookupByName(c.conn, name);
        if (pool == null) {
            LibvirtError e = LibvirtError.last();
            if (e.code() != LibvirtError.VIR_ERR_NO_STORAGE_POOL) throw e.toException(null, c.host.name(), null, "look up pool " + name);
            String xml = "<pool type='dir'><name>" + escape(name) + "</name><target><path>" + escape(directory) + "</path></target></pool>";
            pool = LV.virStoragePoolDefineXML(c.conn, xml, 0);
            if (pool == null) throw c.error("define storage pool " + name + " on " + directory, null);
        }
        try {
            LV.virStoragePoolSetAutostart(pool, 1);
            if (LV.virStoragePoolIsActive(pool) != 1) c.check(LV.virStoragePoolCreate(pool, 0), "start storage pool " + name, null);
        } finally {
            LV.virStoragePoolFree(pool);
        }
    }

    @Override
    public io.kvmigrate.core.spi.StoragePools storagePools() {
        return new LibvirtStoragePools(c.host, c.conn);
    }

    @Override
    public Optional<VolumeInfo> volume(String path) {
        try (DirPool pool = DirPool.open(c, dirOf(path), false)) {
            if (pool == null) return Optional.empty();
            Pointer vol = LV.virStorageVolLookupByName(pool.pool, fileOf(path));
            if (vol == null) {
                LV.virResetLastError();
                return Optional.empty();
            }
            try {
                return Optional.of(volumeInfo(vol, pool.hostPoolName()));
            } finally {
                LV.virStorageVolFree(vol);
            }
        }
    }

    @Override
    public List<PoolInfo> pools() {
        PointerByReference ref = new PointerByReference();
        int n = LV.virConnectListAllStoragePools(c.conn, ref, 0);
        if (n < 0) throw c.error("list storage pools", null);
        Pointer array = ref.getValue();
        List<PoolInfo> out = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                Pointer p = array.getPointer((long) i * Native.POINTER_SIZE);
                try {
                    if (!DirPool.isProbe(LV.virStoragePoolGetName(p))) out.add(poolInfo(p));
                } finally {
                    LV.virStoragePoolFree(p);
                }
            }
        } finally {
            if (array != null) Native.free(Pointer.nativeValue(array));
        }
        return out;
    }

    private PoolInfo poolInfo(Pointer p) {
        String name = LV.virStoragePoolGetName(p);
        boolean active = LV.virStoragePoolIsActive(p) == 1;
        // Free space is only current after a refresh (files may have been written behind libvirt's back).
        if (active) PoolRefresh.refreshOrThrow(c, p, "storage pool " + name);
        Element root = DomainXml.parseDocument(c.takeString(LV.virStoragePoolGetXMLDesc(p, 0), "read XML of pool " + name), "pool XML")
                .getDocumentElement();
        Element target = child(root, "target");
        Libvirt.PoolInfo pi = new Libvirt.PoolInfo();
        c.check(LV.virStoragePoolGetInfo(p, pi), "read size of pool " + name, null);
        String path = target == null ? null : text(child(target, "path"));
        if (path != null && path.endsWith("/") && path.length() > 1) path = path.substring(0, path.length() - 1);
        return new PoolInfo(name, attr(root, "type"), path, pi.capacity, pi.available, active);
    }

    @Override
    public VolumeInfo createVolume(String poolName, String name, String format, long capacityBytes) {
        Pointer pool = LV.virStoragePoolLookupByName(c.conn, poolName);
        if (pool == null) throw c.error("find storage pool '" + poolName + "'", null);
        try {
            PoolRefresh.refreshOrThrow(c, pool, "storage pool " + poolName);
            String xml = "<volume><name>" + escape(name) + "</name><capacity unit='bytes'>" + capacityBytes
                    + "</capacity><allocation unit='bytes'>0</allocation><target><format type='" + escape(format)
                    + "'/></target></volume>";
            Pointer vol = LV.virStorageVolCreateXML(pool, xml, 0);
            if (vol == null) throw c.error("create " + format + " volume '" + name + "' of " + capacityBytes + " bytes in pool " + poolName, null);
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
        try (DirPool pool = DirPool.open(c, dirOf(path), false)) {
            if (pool == null) return;
            Pointer vol = LV.virStorageVolLookupByName(pool.pool, fileOf(path));
            if (vol == null) {
                LV.virResetLastError();
                return;
            }
            try {
                c.check(LV.virStorageVolDelete(vol, Libvirt.VIR_STORAGE_VOL_DELETE_NORMAL), "delete volume " + path, null);
            } finally {
                LV.virStorageVolFree(vol);
            }
        }
    }

    @Override
    public void downloadVolume(String path, boolean sparse, VolumeSink sink) {
        try (DirPool pool = DirPool.open(c, dirOf(path), true)) {
            Pointer vol = LV.virStorageVolLookupByName(pool.pool, fileOf(path));
            if (vol == null) throw c.error("find volume " + path, null);
            Pointer st = LV.virStreamNew(c.conn, 0);
            try {
                if (st == null) throw c.error("open a stream from " + path, null);
                c.check(LV.virStorageVolDownload(vol, st, 0, 0, sparse ? Libvirt.VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM : 0),
                        "start reading " + path, null);
                byte[] buf = new byte[STREAM_CHUNK];
                LongByReference hole = new LongByReference();
                boolean ok = false;
                try {
                    while (true) {
                        int n = LV.virStreamRecvFlags(st, buf, new NativeLong(buf.length), sparse ? Libvirt.VIR_STREAM_RECV_STOP_AT_HOLE : 0);
                        if (n == Libvirt.VIR_STREAM_RECV_HOLE) {
                            c.check(LV.virStreamRecvHole(st, hole, 0), "read a hole of " + path, null);
                            sink.hole(hole.getValue());
                        } else if (n < 0) {
                            throw c.error("read " + path, null);
                        } else if (n == 0) {
                            break;
                        } else {
                            sink.data(buf, n);
                        }
                    }
                    c.check(LV.virStreamFinish(st), "finish reading " + path, null);
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
    public VolumeUpload uploadVolume(String path, boolean sparse) {
        DirPool pool = DirPool.open(c, dirOf(path), true);
        Pointer vol = LV.virStorageVolLookupByName(pool.pool, fileOf(path));
        if (vol == null) {
            KvmigrateException e = c.error("find volume " + path, null);
            pool.close();
            throw e;
        }
        Pointer st = LV.virStreamNew(c.conn, 0);
        if (st == null || LV.virStorageVolUpload(vol, st, 0, 0, sparse ? Libvirt.VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM : 0) < 0) {
            KvmigrateException e = c.error("start writing " + path, null);
            if (st != null) LV.virStreamFree(st);
            LV.virStorageVolFree(vol);
            pool.close();
            throw e;
        }
        return new StreamUpload(c, path, pool, vol, st, sparse);
    }

    private VolumeInfo volumeInfo(Pointer vol, String poolName) {
        String name = LV.virStorageVolGetName(vol);
        Element root = DomainXml.parseDocument(c.takeString(LV.virStorageVolGetXMLDesc(vol, 0), "read XML of volume " + name), "volume XML")
                .getDocumentElement();
        Element target = child(root, "target");
        Element format = target == null ? null : child(target, "format");
        String path = target == null ? null : text(child(target, "path"));
        long capacity = bytes(child(root, "capacity"));
        long allocation = bytes(child(root, "allocation"));
        Element phys = child(root, "physical");
        return new VolumeInfo(path, poolName, name, format == null ? "raw" : attr(format, "type"), capacity,
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
}
