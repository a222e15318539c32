package io.kvmigrate.core.preflight;

import io.kvmigrate.core.model.HostInventory.Cpu;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;

/**
 * A guest with {@code host-passthrough} (or {@code maximum}) CPU sees the source's exact CPU; live-migrating it
 * to a host whose CPU differs in model or any feature can crash it, and libvirt cannot compare such CPUs.
 */
public final class HostPassthroughCheck implements Check {
    @Override
    public String name() {
        return "CPU_PASSTHROUGH";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        String mode = ctx.vm().spec().cpuMode();
        if (!"host-passthrough".equals(mode) && !"maximum".equals(mode)) {
            return List.of(Finding.pass(name(), mode == null ? "default" : mode, null, "The guest CPU is not host-passthrough."));
        }
        Cpu s = ctx.source().cpu();
        Cpu t = ctx.target().cpu();
        String sv = s.vendor() + " " + s.model();
        String tv = t.vendor() + " " + t.model();
        boolean same = Objects.equals(s.vendor(), t.vendor()) && Objects.equals(s.model(), t.model()) && s.features().equals(t.features());
        if (same) return List.of(Finding.pass(name(), sv, tv, "host-passthrough between identical host CPUs."));
        TreeSet<String> missing = new TreeSet<>(s.features());
        missing.removeAll(t.features());
        String msg = "The guest uses " + mode + " CPU and the hosts' CPUs differ (" + sv + " vs " + tv + ")"
                + (missing.isEmpty() ? "." : "; the target lacks " + String.join(", ", missing) + ".");
        String hint = "Switch the guest to a named CPU model both hosts support (virsh hypervisor-cpu-baseline) at its next reboot.";
        if (ctx.live()) return List.of(Finding.fail("HOST_PASSTHROUGH_UNLIKE_HOSTS", name(), sv, tv, msg, hint));
        return List.of(Finding.warn("HOST_PASSTHROUGH_UNLIKE_HOSTS", name(), sv, tv, msg + " The guest sees the new CPU at next boot.", hint));
    }
}
