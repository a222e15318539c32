package io.kvmigrate.core.preflight;

import io.kvmigrate.core.model.HostFacts;
import java.util.ArrayList;
import java.util.List;

/** Migrating to an older libvirt or QEMU is a well-known source of failures (unknown XML, machine types, device state). */
public final class VersionCheck implements Check {
    @Override
    public String name() {
        return "VERSIONS";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        HostFacts s = ctx.source().facts();
        HostFacts t = ctx.target().facts();
        List<Finding> out = new ArrayList<>();
        compare(out, "libvirt", "LIBVIRT_OLDER", s.libvirtVersion(), t.libvirtVersion());
        compare(out, "QEMU", "QEMU_OLDER", s.hypervisorVersion(), t.hypervisorVersion());
        return out;
    }

    private void compare(List<Finding> out, String what, String code, long source, long target) {
        String sv = HostFacts.version(source);
        String tv = HostFacts.version(target);
        if (target < source) {
            out.add(Finding.warn(code, name(), sv, tv, "The target's " + what + " (" + tv + ") is older than the source's (" + sv + ").",
                    "Upgrade " + what + " on the target; migrating to older versions is not guaranteed to work."));
        } else {
            out.add(Finding.pass(name(), sv, tv, "The target's " + what + " is not older than the source's."));
        }
    }
}
