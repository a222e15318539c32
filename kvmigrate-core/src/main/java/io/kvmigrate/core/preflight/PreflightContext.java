package io.kvmigrate.core.preflight;

import io.kvmigrate.core.model.HostInventory;
import io.kvmigrate.core.model.VmInfo;
import java.util.List;

/**
 * All the plain data the checks look at: the VM as the source sees it, both hosts' inventories and the storage probe;
 * {@code targetTls} the target's TLS certificate files when the move asks for a TLS stream (else null).
 */
public record PreflightContext(VmInfo vm, Mode mode, String sourceName, String targetName, HostInventory source,
        HostInventory target, List<DiskStorage> storage, GuestDetails details, MigrationTlsFacts targetTls) {

    public PreflightContext {
        storage = List.copyOf(storage);
        if (details == null) details = GuestDetails.of(vm.spec());
    }

    /** The context, with the domain XML details read once here rather than by each check. */
    public PreflightContext(VmInfo vm, Mode mode, String sourceName, String targetName, HostInventory source, HostInventory target,
            List<DiskStorage> storage) {
        this(vm, mode, sourceName, targetName, source, target, storage, null, null);
    }

    /** A context without TLS facts (a move without a TLS stream). */
    public PreflightContext(VmInfo vm, Mode mode, String sourceName, String targetName, HostInventory source, HostInventory target,
            List<DiskStorage> storage, GuestDetails details) {
        this(vm, mode, sourceName, targetName, source, target, storage, details, null);
    }

    /** The same context with the target's TLS facts (the move asks for a TLS stream). */
    public PreflightContext withTargetTls(MigrationTlsFacts tls) {
        return new PreflightContext(vm, mode, sourceName, targetName, source, target, storage, details, tls);
    }

    public boolean live() {
        return mode != Mode.OFFLINE;
    }

    /** Disks that are not shared get copied (offline, or live with storage copy) instead of failing the check. */
    public boolean copiesStorage() {
        return mode != Mode.LIVE;
    }
}
