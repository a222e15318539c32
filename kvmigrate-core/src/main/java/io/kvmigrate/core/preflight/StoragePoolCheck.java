package io.kvmigrate.core.preflight;

import io.kvmigrate.core.model.DiskSpec;
import io.kvmigrate.core.model.HostInventory.Pool;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The storage pools the VM uses must exist, active, under the same name on the target. A pool named by a
 * volume disk is required (libvirt resolves the disk through it); the pool that merely holds a file disk on the
 * source is expected too, so the VM is managed the same way there (a warning when it is not).
 */
public final class StoragePoolCheck implements Check {
    @Override
    public String name() {
        return "STORAGE_POOLS";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        Map<String, Boolean> used = new LinkedHashMap<>(); // pool -> required
        for (DiskSpec d : ctx.vm().spec().disks()) {
            if (d.pool() != null) used.put(d.pool(), true);
            else if (d.sourcePath() != null && ctx.source().pools() != null && "file".equals(d.sourceType())) {
                String dir = d.sourcePath().substring(0, Math.max(0, d.sourcePath().lastIndexOf('/')));
                ctx.source().pools().stream().filter(p -> dir.equals(p.path())).findFirst().ifPresent(p -> used.putIfAbsent(p.name(), false));
            }
        }
        if (used.isEmpty()) return List.of(Finding.pass(name(), "none", null, "The VM's disks are in no storage pool of the source."));
        if (ctx.target().pools() == null) {
            return List.of(Finding.warn("POOLS_UNKNOWN", name(), String.join(",", used.keySet()), null, "The target did not list its pools.", "Check 'virsh pool-list --all' on the target."));
        }
        List<Finding> out = new ArrayList<>();
        used.forEach((name, required) -> {
            Optional<Pool> p = ctx.target().pools().stream().filter(x -> x.name().equals(name)).findFirst();
            if (p.isEmpty()) {
                String msg = "The VM uses storage pool '" + name + "', which the target does not have.";
                String hint = "Define pool '" + name + "' on the target over the same storage (virsh pool-dumpxml " + name
                        + " on the source, pool-define and pool-start on the target).";
                out.add(required ? Finding.fail("POOL_MISSING", name(), name, null, msg, hint) : Finding.warn("POOL_MISSING", name(), name, null, msg, hint));
            } else if (!p.get().active()) {
                String msg = "Storage pool '" + name + "' exists on the target but is not active.";
                String hint = "Start it: 'virsh pool-start " + name + "' on the target.";
                out.add(required ? Finding.fail("POOL_INACTIVE", name(), name, name + " (inactive)", msg, hint)
                        : Finding.warn("POOL_INACTIVE", name(), name, name + " (inactive)", msg, hint));
            } else {
                out.add(Finding.pass(name(), name, name, "Storage pool '" + name + "' is active on the target."));
            }
        });
        return out;
    }
}
