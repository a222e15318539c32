package io.kvmigrate.core.preflight;

import io.kvmigrate.core.model.HostInventory.Pool;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Each disk must be proved shared (a probe written through the source and read through the target), or else
 * be copied: a live migration here needs shared storage; an offline one copies the disk and then needs room
 * on the target's pool for that directory.
 */
public final class StorageCheck implements Check {
    @Override
    public String name() {
        return "STORAGE";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        List<Finding> out = new ArrayList<>();
        long copyBytes = 0;
        List<DiskStorage> toCopy = new ArrayList<>();
        for (DiskStorage d : ctx.storage()) {
            switch (d.sharing()) {
                case SHARED -> out.add(Finding.pass(name(), d.path(), d.path(), "Disk " + d.disk() + " is shared: " + d.detail() + "."));
                case NO_LOCAL_SOURCE -> out.add(Finding.pass(name(), d.path(), null, "Disk " + d.disk() + ": " + d.detail() + "."));
                default -> {
                    if (!ctx.copiesStorage()) {
                        Finding f = Finding.fail("STORAGE_NOT_SHARED", name(), d.path(), null, d.detail(), d.hint() != null ? d.hint()
                                : "Put the disk on storage both hosts share (NFS, CephFS, GlusterFS), or move it offline with a copy.");
                        out.add(d.unsharedDirectory() == null ? f : f.withRemedy(new Remedy.SharePool(poolFor(ctx, d.unsharedDirectory()),
                                d.unsharedDirectory(), List.of(ctx.sourceName(), ctx.targetName()))));
                    } else {
                        toCopy.add(d);
                        copyBytes += d.sizeBytes();
                        out.add(Finding.warn("STORAGE_COPY_NEEDED", name(), d.path(), null, "Disk " + d.disk() + " is not on shared "
                                + "storage and will be copied (" + mib(d.sizeBytes()) + ").", "Nothing to do; the copy is verified before "
                                + "the source disk is removed."));
                    }
                }
            }
        }
        if (!toCopy.isEmpty()) out.add(space(ctx, toCopy, copyBytes));
        if (out.isEmpty()) out.add(Finding.pass(name(), "no disks", null, "The VM has no disks."));
        return out;
    }

    private Finding space(PreflightContext ctx, List<DiskStorage> disks, long needed) {
        String path = disks.get(0).path();
        String dir = path.substring(0, Math.max(0, path.lastIndexOf('/')));
        if (ctx.target().pools() == null) {
            return Finding.warn("TARGET_SPACE_UNKNOWN", name(), mib(needed), null, "The target did not list its pools; free space not checked.", "Check 'virsh pool-list --details' on the target.");
        }
        Optional<Pool> pool = ctx.target().pools().stream().filter(p -> p.active() && dir.equals(p.path())).findFirst();
        if (pool.isEmpty()) {
            return Finding.fail("TARGET_POOL_MISSING", name(), dir, null, "The target has no active storage pool on " + dir
                    + " to receive the copied disk(s).", "Define and start a directory pool on " + dir + " on the target.");
        }
        long free = pool.get().availableBytes();
        if (free < needed) {
            return Finding.fail("TARGET_SPACE_INSUFFICIENT", name(), mib(needed), mib(free), "The copy needs " + mib(needed) + " but pool '"
                    + pool.get().name() + "' on the target has " + mib(free) + " free.", "Free space on the target's pool '"
                    + pool.get().name() + "', or pick another target.");
        }
        return Finding.pass(name(), mib(needed), mib(free), "Pool '" + pool.get().name() + "' on the target has room for the copy.");
    }

    /** The source's pool on {@code dir} (so the target gets the same one), else a pool name made from the directory's last component. */
    static String poolFor(PreflightContext ctx, String dir) {
        if (ctx.source().pools() != null) {
            Optional<Pool> p = ctx.source().pools().stream().filter(x -> dir.equals(x.path())).findFirst();
            if (p.isPresent()) return p.get().name();
        }
        String last = dir.substring(dir.lastIndexOf('/') + 1).replaceAll("[^A-Za-z0-9_.+-]", "_").replaceAll("^[.+-]+", "");
        return last.isEmpty() ? "shared" : last.length() > 64 ? last.substring(0, 64) : last;
    }

    static String mib(long bytes) {
        return (bytes >> 20) + " MiB";
    }
}
