package io.kvmigrate.core.preflight;

import io.kvmigrate.core.model.HostInventory;
import io.kvmigrate.core.model.VmInfo;
import java.util.List;

/** All the plain data the checks look at: the VM as the source sees it, both hosts' inventories and the storage probe. */
public record PreflightContext(VmInfo vm, Mode mode, String sourceName, String targetName, HostInventory source,
        HostInventory target, List<DiskStorage> storage, GuestDetails details) {

    public PreflightContext {
        storage = List.copyOf(storage);
        if (details == null) details = GuestDetails.of(vm.spec());
    }

    /** The context, with the domain XML details read once here rather than by each check. */
    public PreflightContext(VmInfo vm, Mode mode, String sourceName, String targetName, HostInventory source, HostInventory target,
            List<DiskStorage> storage) {
        this(vm, mode, sourceName, targetName, source, target, storage, null);
    }

    public boolean live() {
        return mode != Mode.OFFLINE;
    }

    /** Disks that are not shared get copied (offline, or live with storage copy) instead of failing the check. */
    public boolean copiesStorage() {
        return mode != Mode.LIVE;
    }
}
