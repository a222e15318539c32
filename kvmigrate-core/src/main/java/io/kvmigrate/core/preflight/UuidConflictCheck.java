package io.kvmigrate.core.preflight;

import io.kvmigrate.core.model.HostInventory.Domain;
import java.util.List;
import java.util.Optional;

/** No VM with the same UUID may exist on the target: libvirt identifies VMs by UUID and would refuse or confuse them. */
public final class UuidConflictCheck implements Check {
    @Override
    public String name() {
        return "VM_UUID";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        String uuid = ctx.vm().spec().uuid();
        if (uuid == null || ctx.target().domains() == null) {
            return List.of(Finding.warn("VM_LIST_UNKNOWN", name(), uuid, null, "The VM's UUID or the target's VM list is unknown.", "Check 'virsh list --all --uuid' on the target."));
        }
        Optional<Domain> same = ctx.target().domains().stream()
                .filter(d -> uuid.equalsIgnoreCase(d.uuid()) && !ctx.vm().name().equals(d.name())).findFirst();
        if (same.isPresent()) {
            return List.of(Finding.fail("UUID_CONFLICT", name(), uuid, same.get().name(), "VM '" + same.get().name() + "' on the target has "
                    + "the same UUID " + uuid + ".", "Remove the stale copy on the target, or give one of them a new UUID."));
        }
        return List.of(Finding.pass(name(), uuid, null, "No other VM with UUID " + uuid + " on the target."));
    }
}
