package io.kvmigrate.testkit;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.spi.PoolInfo;
import io.kvmigrate.core.spi.VolumeInfo;
import io.kvmigrate.core.spi.VolumeSink;
import io.kvmigrate.core.spi.VolumeUpload;
import io.kvmigrate.core.spi.Volumes;
import io.kvmigrate.testkit.FakeHypervisor.FakeHost;
import io.kvmigrate.testkit.FaultPlan.Op;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The storage of one fake host, in memory; files and volumes under a shared directory are the same on every host. */
final class FakeVolumes implements Volumes {
    /** An in-memory volume: the data prefix of its file; a raw volume's remainder up to its capacity is a hole. */
    static final class FakeVolume {
        final String format;
        final long capacity;
        byte[] content;

        FakeVolume(String format, long capacity, byte[] content) {
            this.format = format;
            this.capacity = capacity;
            this.content = content;
        }
    }

    private final FakeHost host;
    private final Map<String, byte[]> localFiles = new HashMap<>();
    private final Map<String, PoolInfo> pools = new LinkedHashMap<>();
    private final Map<String, FakeVolume> localVolumes = new HashMap<>();
    private FakeStoragePools storagePools;

    FakeVolumes(FakeHost host) {
        this.host = host;
    }

    @Override
    public HostRef host() {
        return host.host();
    }

    // ---- the test's set-up (no fault plan) ----

    void putFile(String path, byte[] content) {
        files(path).put(path, content);
    }

    synchronized void addPool(String name, String path, long capacity) {
        pools.put(name, new PoolInfo(name, "dir", path, capacity, capacity, true));
    }

    synchronized void putVolume(String path, String format, long capacity, byte[] content) {
        volumes(path).put(path, new FakeVolume(format, capacity, content.clone()));
    }

    synchronized Optional<byte[]> volumeContent(String path) {
        return Optional.ofNullable(volumes(path).get(path)).map(v -> v.content.clone());
    }

    private Map<String, byte[]> files(String path) {
        return host.hypervisor().shared(path) ? host.hypervisor().sharedFiles : localFiles;
    }

    private Map<String, FakeVolume> volumes(String path) {
        return host.hypervisor().shared(path) ? host.hypervisor().sharedVolumes : localVolumes;
    }

    // ---- probe files ----

    @Override
    public String writeProbe(String directory, String fileName, byte[] content) {
        host.fault(Op.WRITE_PROBE, directory);
        putFile(directory + "/" + fileName, content);
        return directory + "/" + fileName;
    }

    @Override
    public Optional<byte[]> readProbe(String directory, String fileName, int maxBytes) {
        host.fault(Op.READ_PROBE, directory);
        return file(directory + "/" + fileName);
    }

    @Override
    public Optional<Long> fileSize(String directory, String fileName) {
        host.fault(Op.FILE_SIZE, directory + "/" + fileName);
        Optional<Long> vol = info(directory + "/" + fileName).map(VolumeInfo::physical);
        if (vol.isPresent()) return vol;
        return file(directory + "/" + fileName).map(b -> (long) b.length);
    }

    @Override
    public void deleteProbe(String directory, String fileName) {
        host.fault(Op.DELETE_PROBE, directory);
        String p = directory + "/" + fileName;
        files(p).remove(p);
    }

    private Optional<byte[]> file(String path) {
        return Optional.ofNullable(files(path).get(path));
    }

    // ---- pools and volumes ----

    @Override
    public void ensureDirPool(String name, String directory) {
        host.fault(Op.ENSURE_POOL, name);
    }

    @Override
    public synchronized FakeStoragePools storagePools() {
        if (storagePools == null) storagePools = new FakeStoragePools(host.host().name(), host.calls::add, host::fault);
        return storagePools;
    }

    @Override
    public synchronized Optional<VolumeInfo> volume(String path) {
        host.fault(Op.VOLUME, path);
        return info(path);
    }

    private synchronized Optional<VolumeInfo> info(String path) {
        FakeVolume v = volumes(path).get(path);
        if (v == null) return Optional.empty();
        String dir = path.substring(0, path.lastIndexOf('/'));
        String pool = pools.values().stream().filter(p -> p.path().equals(dir)).map(PoolInfo::name).findFirst().orElse(null);
        return Optional.of(new VolumeInfo(path, pool, path.substring(path.lastIndexOf('/') + 1), v.format, v.capacity, v.content.length,
                "raw".equals(v.format) ? v.capacity : v.content.length));
    }

    @Override
    public synchronized List<PoolInfo> pools() {
        host.fault(Op.POOLS, null);
        List<PoolInfo> out = new ArrayList<>();
        for (PoolInfo p : pools.values()) {
            long used = volumes(p.path() + "/").entrySet().stream().filter(e -> e.getKey().startsWith(p.path() + "/"))
                    .mapToLong(e -> e.getValue().content.length).sum();
            out.add(new PoolInfo(p.name(), p.type(), p.path(), p.capacity(), Math.max(0, p.capacity() - used), true));
        }
        return out;
    }

    @Override
    public synchronized VolumeInfo createVolume(String pool, String name, String format, long capacityBytes) {
        host.fault(Op.CREATE_VOLUME, name);
        PoolInfo p = pools.get(pool);
        if (p == null) throw libvirtError("no pool " + pool);
        String path = p.path() + "/" + name;
        if (volumes(path).containsKey(path)) throw libvirtError("volume " + path + " exists");
        volumes(path).put(path, new FakeVolume(format, capacityBytes, new byte[0]));
        host.calls.add("create-volume " + path);
        return info(path).orElseThrow();
    }

    @Override
    public synchronized void deleteVolume(String path) {
        host.fault(Op.DELETE_VOLUME, path);
        if (volumes(path).remove(path) != null) host.calls.add("delete-volume " + path);
    }

    @Override
    public void downloadVolume(String path, boolean sparse, VolumeSink sink) {
        host.fault(Op.DOWNLOAD, path);
        FakeVolume v;
        synchronized (this) {
            v = volumes(path).get(path);
        }
        if (v == null) throw libvirtError("no volume " + path);
        if (v.content.length > 0) sink.data(v.content.clone(), v.content.length);
        long tail = "raw".equals(v.format) ? v.capacity - v.content.length : 0;
        if (tail > 0) {
            if (sparse) sink.hole(tail);
            else sink.data(new byte[(int) tail], (int) tail);
        }
    }

    @Override
    public VolumeUpload uploadVolume(String path, boolean sparse) {
        host.fault(Op.UPLOAD, path);
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        return new VolumeUpload() {
            private long written;

            @Override
            public void data(byte[] data, int length) {
                written += length;
                host.fault(Op.UPLOAD_DATA, path, written); // a full disk: afterBytes(n).fail(...)
                buf.write(data, 0, length);
            }

            @Override
            public void hole(long length) {
                // Only the data prefix is kept; a trailing hole is implied by the capacity of a raw volume.
            }

            @Override
            public void finish() {
                synchronized (FakeVolumes.this) {
                    FakeVolume v = volumes(path).get(path);
                    if (v == null) throw libvirtError("no volume " + path);
                    v.content = buf.toByteArray();
                }
            }

            @Override
            public void close() {
            }
        };
    }

    private KvmigrateException libvirtError(String message) {
        return new KvmigrateException(ErrorCode.LIBVIRT_ERROR, null, host.host().name(), null, message, null);
    }
}
