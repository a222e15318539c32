package io.kvmigrate.core.preflight;

import io.kvmigrate.core.model.DiskSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Writable disks on shared storage must bypass the host page cache (cache none or directsync) for a live
 * migration: otherwise the target may read blocks the source still holds dirty in its cache. libvirt refuses
 * this too, unless told the migration is "unsafe", which kvmigrate does once it has proved the storage shared.
 * So this check is the one guard left, and cannot be overridden.
 */
public final class CacheModeCheck implements Check {
    private static final Set<String> SAFE = Set.of("none", "directsync");

    @Override
    public String name() {
        return "DISK_CACHE";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        if (!ctx.live()) return List.of(Finding.pass(name(), null, null, "Cache modes do not matter offline."));
        var cache = ctx.details().diskCache();
        List<Finding> out = new ArrayList<>();
        for (DiskSpec d : ctx.vm().spec().disks()) {
            if (!d.hasLocalSource() || d.readOnly() || "cdrom".equals(d.device())) continue;
            String mode = cache.get(d.target());
            if (mode == null) {
                out.add(Finding.warn("CACHE_MODE_UNKNOWN", name(), d.target(), null, "The VM's XML does not describe disk " + d.target()
                        + ", so its cache mode is unknown.", "Check <driver cache=...> of the disk with 'virsh dumpxml'."));
            } else if (!SAFE.contains(mode)) {
                out.add(Finding.fail("UNSAFE_CACHE_MODE", name(), d.target() + ": cache=" + mode, null, "Disk " + d.target()
                        + " uses cache mode '" + mode + "': migrating it live can corrupt its data.", "Set <driver cache='none'/> on the "
                        + "disk (takes effect at the next cold boot), then migrate."));
            }
        }
        if (out.isEmpty()) out.add(Finding.pass(name(), null, null, "Every writable disk uses cache none or directsync."));
        return out;
    }
}
