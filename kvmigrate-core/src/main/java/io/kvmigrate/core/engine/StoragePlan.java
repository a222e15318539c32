package io.kvmigrate.core.engine;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.DiskSpec;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.PoolInfo;
import io.kvmigrate.core.spi.VolumeInfo;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Where each local disk of a VM goes on a target host, decided and checked before anything is created there:
 * the source volume (format, virtual size, allocation), the target pool (from {@code --map-pool SRC=DST}, else a
 * pool of the same name, else a pool on the same directory) and its free space, and that no file is in the way.
 * Also creates the target volumes and removes exactly those again when something fails.
 */
public final class StoragePlan {
    /** One disk's move: the source volume, the target pool and the target path (same file name). */
    public record DiskMove(DiskSpec disk, VolumeInfo source, PoolInfo targetPool, String targetPath) {
    }

    private StoragePlan() {
    }

    /** Plans every disk that has host-side data; throws PREFLIGHT_FAILED / TARGET_CONFLICT naming the first problem. */
    public static List<DiskMove> plan(VmSpec vm, HostSession source, HostSession target, Map<String, String> poolMap) {
        String step = Phase.PLAN_STORAGE.label();
        List<PoolInfo> targetPools = target.pools();
        List<DiskMove> moves = new ArrayList<>();
        Map<String, Long> needed = new LinkedHashMap<>();
        refuseUnsupported(vm, source);
        for (DiskSpec disk : vm.disks()) {
            if (!disk.hasLocalSource()) continue;
            if (!"file".equals(disk.sourceType())) {
                throw new KvmigrateException(ErrorCode.PREFLIGHT_FAILED, step, source.host().name(), vm.name(),
                        "Disk " + disk.target() + " (" + disk.sourcePath() + ") is a " + disk.sourceType() + " disk; kvmigrate copies file disks only.",
                        "Convert the disk to a file volume in a storage pool, or move it by hand.");
            }
            VolumeInfo vol = source.volume(disk.sourcePath()).orElseThrow(() -> new KvmigrateException(ErrorCode.PREFLIGHT_FAILED, step,
                    source.host().name(), vm.name(), "Disk " + disk.target() + " (" + disk.sourcePath() + ") cannot be found through the source host's storage API.",
                    "Check that the file exists and that libvirt can read its directory."));
            String key = vol.pool() != null ? vol.pool() : vol.directory();
            String mapped = poolMap.get(key);
            Optional<PoolInfo> pool;
            if (mapped != null) {
                pool = targetPools.stream().filter(p -> p.name().equals(mapped)).findFirst();
                if (pool.isEmpty()) {
                    throw new KvmigrateException(ErrorCode.PREFLIGHT_FAILED, step, target.host().name(), vm.name(),
                            "{mapPool} maps '" + key + "' to pool '" + mapped + "', which the target host does not have.",
                            "Pools on the target: " + names(targetPools) + ".");
                }
            } else {
                pool = targetPools.stream().filter(p -> vol.pool() != null && p.name().equals(vol.pool())).findFirst()
                        .or(() -> targetPools.stream().filter(p -> vol.directory().equals(p.path())).findFirst());
                if (pool.isEmpty()) {
                    throw new KvmigrateException(ErrorCode.PREFLIGHT_FAILED, step, target.host().name(), vm.name(),
                            "Disk " + disk.target() + " lies " + (vol.pool() != null ? "in pool '" + vol.pool() + "'" : "in " + vol.directory() + " (no pool)")
                                    + " and the target has no pool of that name or on that directory.",
                            "Map it to a target pool with {mapPool} " + key + "=POOL (pools on the target: " + names(targetPools) + ").");
                }
            }
            PoolInfo p = pool.get();
            if (!p.active() || p.path() == null) {
                throw new KvmigrateException(ErrorCode.PREFLIGHT_FAILED, step, target.host().name(), vm.name(),
                        "Target pool '" + p.name() + "' is " + (p.active() ? "not a directory pool" : "not active") + ".",
                        "Start it ('virsh pool-start " + p.name() + "') or map the disk to another pool with {mapPool}.");
            }
            String targetPath = p.path() + "/" + vol.name();
            if (target.volume(targetPath).isPresent()) {
                // The same path seen through the target may simply be the same file (this disk is on shared storage): keep it, copy nothing.
                if (targetPath.equals(vol.path()) && sharedDisk(vm, disk, source, target)) continue;
                throw new KvmigrateException(ErrorCode.TARGET_CONFLICT, step, target.host().name(), vm.name(),
                        "Disk " + disk.target() + " would be copied to " + targetPath + ", but a different file of that name already exists on the target.",
                        "If it is a leftover of an earlier attempt, delete it on the target ('virsh vol-delete " + targetPath + "'); else map the disk to another pool.");
            }
            needed.merge(p.name(), vol.allocation(), Long::sum);
            moves.add(new DiskMove(disk, vol, p, targetPath));
        }
        for (Map.Entry<String, Long> e : needed.entrySet()) {
            PoolInfo p = targetPools.stream().filter(x -> x.name().equals(e.getKey())).findFirst().orElseThrow();
            if (p.available() < e.getValue()) {
                throw new KvmigrateException(ErrorCode.PREFLIGHT_FAILED, step, target.host().name(), vm.name(),
                        "Target pool '" + p.name() + "' has " + mib(p.available()) + " free, but the disks going there hold " + mib(e.getValue())
                                + " of data. Nothing was copied.",
                        "Free space in pool '" + p.name() + "' or map the disks to a bigger pool with {mapPool} SRC=DST.");
            }
        }
        return moves;
    }

    /**
     * Refuses disks whose data kvmigrate cannot locate yet: {@code type='volume'} disks name a pool and volume instead of a
     * path, and skipping them would leave the target with a definition pointing at nothing.
     */
    public static void refuseUnsupported(VmSpec vm, HostSession source) {
        for (DiskSpec disk : vm.disks()) {
            if ("volume".equals(disk.sourceType())) {
                throw new KvmigrateException(ErrorCode.PREFLIGHT_FAILED, Phase.PLAN_STORAGE.label(), source.host().name(), vm.name(),
                        "Disk " + disk.target() + " is a pool volume (pool '" + disk.pool() + "', volume '" + disk.volume()
                                + "'); kvmigrate moves disks given by file path only.",
                        "Change the disk to <disk type='file'> with the volume's path ('virsh vol-path --pool " + disk.pool() + " "
                                + disk.volume() + "'), then run the command again.");
            }
        }
    }

    private static boolean sharedDisk(VmSpec vm, DiskSpec disk, HostSession source, HostSession target) {
        VmSpec one = vm.withDisks(List.of(disk));
        try {
            new SharedStorageVerifier().verify(one, source, target);
            return true;
        } catch (KvmigrateException e) {
            if (e.code() == ErrorCode.STORAGE_NOT_SHARED) return false;
            throw e;
        }
    }

    /** Creates the target volumes (same format and virtual size); on failure removes the ones it created and rethrows. */
    public static List<String> createTargets(List<DiskMove> moves, HostSession target, String vm) {
        List<String> created = new ArrayList<>();
        try {
            for (DiskMove m : moves) {
                target.createVolume(m.targetPool().name(), m.source().name(), m.source().format(), m.source().capacity());
                created.add(m.targetPath());
            }
            return created;
        } catch (KvmigrateException e) {
            List<String> left = removeCreated(target, created);
            throw new KvmigrateException(e.code(), Phase.PLAN_STORAGE.label(), target.host().name(), vm,
                    "Tried to create the target volumes but failed because: " + e.getMessage() + leftText(left), e.hint(), e);
        }
    }

    /** Target volumes pre-created for a live migration with storage copy: which disks the hypervisor copies, which volumes we made. */
    public record LiveCopy(List<String> disks, List<String> created) {
    }

    /**
     * Plans and pre-creates the target volumes of a live storage copy. The hypervisor's copy writes to the disk's own
     * path on the target, so the mapped pool must be on the same directory there.
     */
    public static LiveCopy prepareLiveCopy(VmSpec vm, HostSession source, HostSession target, Map<String, String> poolMap) {
        List<DiskMove> moves = plan(vm, source, target, poolMap);
        for (DiskMove m : moves) {
            if (!m.targetPath().equals(m.source().path())) {
                throw new KvmigrateException(ErrorCode.PREFLIGHT_FAILED, Phase.PLAN_STORAGE.label(), target.host().name(), vm.name(),
                        "Disk " + m.disk().target() + " would go to " + m.targetPath() + " but a live copy keeps its path " + m.source().path() + ".",
                        "Map it to a target pool on " + m.source().directory() + ", or move the VM offline ({offline} {shutdown}), which can change paths.");
            }
        }
        List<String> created = createTargets(moves, target, vm.name());
        return new LiveCopy(moves.stream().map(m -> m.disk().target()).toList(), created);
    }

    /** Deletes volumes kvmigrate created on the target; returns those it could not delete. */
    public static List<String> removeCreated(HostSession target, List<String> created) {
        List<String> left = new ArrayList<>();
        for (String path : created) {
            try {
                target.deleteVolume(path);
            } catch (KvmigrateException e) {
                left.add(path);
            }
        }
        return left;
    }

    static String leftText(List<String> left) {
        return left.isEmpty() ? "" : " Could not remove " + String.join(", ", left) + " from the target: delete by hand.";
    }

    private static String names(List<PoolInfo> pools) {
        return pools.isEmpty() ? "none" : String.join(", ", pools.stream().map(PoolInfo::name).toList());
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }
}
