package io.kvmigrate.core.preflight;

import io.kvmigrate.core.model.HostFacts;
import io.kvmigrate.core.plan.KnownBugs;
import java.util.List;

/**
 * A software-emulated guest moved live by a QEMU that can lose its dirty pages ({@link KnownBugs#throttleHazard}): a
 * failure the user may accept, since every live mode is exposed (the throttle most); an offline move, or QEMU 9.0 or
 * later on the source, avoids it.
 */
public final class EmulatedGuestCheck implements Check {
    @Override
    public String name() {
        return "EMULATED_GUEST";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        String type = ctx.vm().spec().domainType();
        HostFacts s = ctx.source().facts();
        String sv = HostFacts.version(s.hypervisorVersion());
        String hazard = KnownBugs.throttleHazard(type, s.hypervisorVersion());
        if (!ctx.live() || hazard == null) {
            return List.of(Finding.pass(name(), type + ", QEMU " + sv, null, "No known hypervisor bug applies to this "
                    + (ctx.live() ? "live" : "offline") + " move."));
        }
        return List.of(Finding.failOverridable("TCG_DIRTY_TRACKING", name(), type + ", QEMU " + sv, null, "The VM is software-emulated"
                + " (domain type qemu) and the source's QEMU " + sv + " predates 9.0, which fixed lost dirty pages of such guests:"
                + " a live migration can corrupt its memory (seen here under auto-converge, and once in plain pre-copy).",
                "Move it offline; or accept TCG_DIRTY_TRACKING to move it live anyway (never throttled; with policy finish it switches"
                + " to post-copy after the first pass, the mode in which no corruption was seen); or upgrade the source's QEMU to 9.0."));
    }
}
