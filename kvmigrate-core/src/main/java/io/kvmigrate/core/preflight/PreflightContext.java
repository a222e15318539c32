package io.kvmigrate.core.preflight;

import io.kvmigrate.core.model.HostInventory;
import io.kvmigrate.core.model.VmInfo;
import java.util.List;

/** All the plain data the checks look at: the VM as the source sees it, both hosts' inventories and the storage probe. */
public record PreflightContext(VmInfo vm, Mode mode, String sourceName, String targetName, HostInventory source,
        HostInventory target, List<DiskStorage> storage) {

    public PreflightContext {
        storage = List.copyOf(storage);
    }

    public boolean live() {
        return mode == Mode.LIVE;
    }

    /** The disk-level details VmSpec does not carry (cache modes). */
    public GuestDetails details() {
        return GuestDetails.of(vm.spec());
    }
}
