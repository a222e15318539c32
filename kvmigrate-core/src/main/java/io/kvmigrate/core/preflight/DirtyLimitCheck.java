package io.kvmigrate.core.preflight;

import io.kvmigrate.core.plan.DirtyLimit;
import java.util.List;

/** Says whether the VM could be slowed by QEMU's per-vCPU dirty limit and how to enable it (a note: it never fails). */
public final class DirtyLimitCheck implements Check {
    @Override
    public String name() {
        return "DIRTY_LIMIT";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        if (!ctx.live()) return List.of(Finding.pass(name(), ctx.vm().spec().domainType(), null, "An offline move throttles nothing."));
        long v = ctx.source().facts().hypervisorVersion();
        return List.of(Finding.pass(name(), ctx.vm().spec().domainType(), null, DirtyLimit.status(ctx.vm().spec(), v) + "."));
    }
}
