package io.kvmigrate.core.preflight;

import io.kvmigrate.core.model.HostInventory.CpuVerdict;
import io.kvmigrate.core.model.HostInventory.GuestView;
import java.util.List;

/** The guest's CPU definition must be runnable on the target, as the target hypervisor itself judges it (libvirt CPU comparison). */
public final class CpuCompatibilityCheck implements Check {
    @Override
    public String name() {
        return "CPU_COMPATIBILITY";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        GuestView g = ctx.target().guest();
        String mode = ctx.vm().spec().cpuMode();
        String model = ctx.details().cpuModel();
        String guestCpu = mode == null ? "hypervisor default" : model == null ? mode : mode + " " + model;
        CpuVerdict v = g == null ? CpuVerdict.UNKNOWN : g.cpuVerdict();
        switch (v) {
            case IDENTICAL:
            case SUPERSET:
                return List.of(Finding.pass(name(), guestCpu, v.name().toLowerCase(), "The target can run the guest's CPU ("
                        + (v == CpuVerdict.IDENTICAL ? "identical" : "the target offers more") + ")."));
            case NOT_APPLICABLE:
                return List.of(Finding.pass(name(), guestCpu, "n/a", "Nothing to compare: " + (g.cpuDetail() == null ? "the guest "
                        + "uses the host's CPU" : g.cpuDetail()) + "."));
            case INCOMPATIBLE:
                if (!ctx.vm().state().isActive() && "none".equals(ctx.details().cpuCheck())) {
                    // check='none': QEMU drops what the host lacks at boot instead of refusing; the guest boots with fewer features.
                    return List.of(Finding.warn("CPU_FEATURES_DROPPED", name(), guestCpu, "incompatible", "The target lacks part of the "
                            + "guest's CPU definition" + (g.cpuDetail() == null ? "" : " (" + g.cpuDetail() + ")") + "; with check='none' "
                            + "the guest will boot there without those features.", "Give the guest a CPU model both hosts support if "
                            + "its software needs them."));
                }
                return List.of(Finding.fail("CPU_INCOMPATIBLE", name(), guestCpu, "incompatible", "The target cannot provide the guest's "
                        + "CPU" + (g.cpuDetail() == null ? "." : ": " + g.cpuDetail()), "Give the guest a CPU model both hosts "
                        + "support (virsh hypervisor-cpu-baseline over both hosts' CPUs), or pick a target with a newer CPU."));
            default:
                return List.of(Finding.warn("CPU_COMPARE_UNAVAILABLE", name(), guestCpu, null, "The target could not compare the "
                        + "guest's CPU" + (g == null || g.cpuDetail() == null ? "." : ": " + g.cpuDetail()),
                        "Compare by hand with 'virsh hypervisor-cpu-compare' on the target."));
        }
    }
}
