package io.kvmigrate.core.preflight;

import java.util.List;

/** Both hosts should have the same CPU vendor: a running guest cannot switch between Intel and AMD instruction quirks. */
public final class CpuVendorCheck implements Check {
    @Override
    public String name() {
        return "CPU_VENDOR";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        String s = ctx.source().cpu().vendor();
        String t = ctx.target().cpu().vendor();
        if (s == null || t == null) {
            return List.of(Finding.warn("CPU_VENDOR_UNKNOWN", name(), s, t, "A host did not report its CPU vendor.",
                    "Check 'virsh capabilities' on both hosts."));
        }
        if (s.equalsIgnoreCase(t)) return List.of(Finding.pass(name(), s, t, "Both hosts have " + s + " CPUs."));
        String msg = "Source CPU vendor is " + s + ", target's is " + t + ".";
        if (ctx.live()) {
            return List.of(Finding.failOverridable("CPU_VENDOR_MISMATCH", name(), s, t, msg + " A live guest may crash on the other "
                    + "vendor's CPU even with a generic model.", "Migrate offline, or between hosts of one vendor; accept "
                    + "CPU_VENDOR_MISMATCH only for guests with a generic CPU model (qemu64) you have tested."));
        }
        return List.of(Finding.warn("CPU_VENDOR_MISMATCH", name(), s, t, msg + " The guest will see a different CPU at its next boot.",
                "Check that the guest OS and its licences accept a CPU change."));
    }
}
