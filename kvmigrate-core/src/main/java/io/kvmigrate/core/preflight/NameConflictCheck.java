package io.kvmigrate.core.preflight;

import io.kvmigrate.core.model.HostInventory.Domain;
import java.util.List;
import java.util.Optional;

/** No VM of the same name may be defined or running on the target: the migration would collide with it. */
public final class NameConflictCheck implements Check {
    @Override
    public String name() {
        return "VM_NAME";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        String vm = ctx.vm().name();
        if (ctx.target().domains() == null) return List.of(Finding.warn("VM_LIST_UNKNOWN", name(), vm, null, "The target did not list its VMs.", "Check 'virsh list --all' on the target."));
        Optional<Domain> same = ctx.target().domains().stream().filter(d -> vm.equals(d.name())).findFirst();
        if (same.isPresent()) {
            String how = same.get().active() ? "running" : "defined";
            return List.of(Finding.fail("NAME_CONFLICT", name(), vm, vm + " (" + how + ")", "A VM named '" + vm + "' is already " + how
                    + " on the target.", "Rename or remove the VM on the target ('virsh undefine " + vm + "') if it is a stale copy."));
        }
        return List.of(Finding.pass(name(), vm, null, "No VM named '" + vm + "' on the target."));
    }
}
