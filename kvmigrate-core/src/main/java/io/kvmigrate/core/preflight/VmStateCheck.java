package io.kvmigrate.core.preflight;

import java.util.List;

/** A live migration needs a running VM; an offline one a VM that is shut off. */
public final class VmStateCheck implements Check {
    @Override
    public String name() {
        return "VM_STATE";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        String state = ctx.vm().state().name().toLowerCase();
        boolean active = ctx.vm().state().isActive();
        if (ctx.live() && !active) {
            return List.of(Finding.fail("VM_NOT_RUNNING", name(), state, null, "VM '" + ctx.vm().name() + "' is " + state
                    + ", a live migration needs it running.", "Start it first, or check with {offline}."));
        }
        if (!ctx.live() && active) {
            return List.of(Finding.fail("VM_RUNNING", name(), state, null, "VM '" + ctx.vm().name() + "' is " + state
                    + ", an offline migration needs it shut off.", "Shut it down first, or check with {live}."));
        }
        return List.of(Finding.pass(name(), state, null, "VM is " + state + ", as a" + (ctx.live() ? " live" : "n offline")
                + " migration needs."));
    }
}
