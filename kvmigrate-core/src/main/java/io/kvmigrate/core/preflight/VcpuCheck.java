package io.kvmigrate.core.preflight;

import java.util.List;

/** The target should have at least as many CPUs as the VM has vCPUs; more vCPUs than host CPUs runs badly. */
public final class VcpuCheck implements Check {
    @Override
    public String name() {
        return "VCPUS";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        int vcpus = ctx.vm().spec().vcpus();
        int cpus = ctx.target().facts().cpus();
        if (cpus > 0 && vcpus > cpus) {
            return List.of(Finding.failOverridable("TARGET_CPUS_INSUFFICIENT", name(), vcpus + " vCPUs", cpus + " CPUs", "The VM has "
                    + vcpus + " vCPUs but the target only " + cpus + " CPUs.", "Pick a bigger target, reduce the VM's vCPUs, or accept "
                    + "TARGET_CPUS_INSUFFICIENT to run it overcommitted."));
        }
        return List.of(Finding.pass(name(), vcpus + " vCPUs", cpus + " CPUs", "The target has enough CPUs."));
    }
}
