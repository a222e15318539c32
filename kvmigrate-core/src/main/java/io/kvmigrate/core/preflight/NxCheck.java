package io.kvmigrate.core.preflight;

import io.kvmigrate.core.model.HostInventory.Cpu;
import java.util.List;

/** The NX (no-execute) flag must be on both hosts or neither: a guest that uses NX page protection dies without it. */
public final class NxCheck implements Check {
    @Override
    public String name() {
        return "NX";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        Cpu s = ctx.source().cpu();
        Cpu t = ctx.target().cpu();
        if (!x86(s.arch()) || !x86(t.arch())) return List.of(Finding.pass(name(), s.arch(), t.arch(), "NX is an x86 flag; not applicable."));
        if (!s.featuresExpanded() || !t.featuresExpanded()) {
            return List.of(Finding.warn("NX_UNKNOWN", name(), null, null, "The CPU feature lists are not complete, so NX cannot be compared.",
                    "Compare 'grep -w nx /proc/cpuinfo' on both hosts (and the BIOS 'XD/NX' setting)."));
        }
        boolean sn = s.features().contains("nx");
        boolean tn = t.features().contains("nx");
        if (sn == tn) return List.of(Finding.pass(name(), yes(sn), yes(tn), "NX is " + (sn ? "on" : "off") + " on both hosts."));
        String msg = "NX is " + (sn ? "on" : "off") + " on the source but " + (tn ? "on" : "off") + " on the target.";
        String hint = "Enable (or disable) 'Execute Disable Bit'/'NX' in the BIOS of the " + (sn ? "target" : "source") + " so both match.";
        if (ctx.live()) return List.of(Finding.fail("NX_MISMATCH", name(), yes(sn), yes(tn), msg, hint));
        return List.of(Finding.warn("NX_MISMATCH", name(), yes(sn), yes(tn), msg + " The guest sees the change at next boot.", hint));
    }

    static boolean x86(String arch) {
        return "x86_64".equals(arch) || (arch != null && arch.matches("i[3-6]86"));
    }

    private static String yes(boolean b) {
        return b ? "nx" : "no nx";
    }
}
