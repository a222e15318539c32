package io.kvmigrate.core.preflight;

import java.util.List;

/** Source and target must be different machines: libvirt refuses to migrate to a host with the same host UUID. */
public final class HostIdentityCheck implements Check {
    @Override
    public String name() {
        return "HOST_IDENTITY";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        String s = ctx.source().facts().hostUuid();
        String t = ctx.target().facts().hostUuid();
        if (s != null && s.equalsIgnoreCase(t)) {
            return List.of(Finding.fail("SAME_HOST", name(), s, t, "Source '" + ctx.sourceName() + "' and target '" + ctx.targetName()
                    + "' are the same host (host UUID " + s + ").", "Pick a different {to} host; if they are different machines, "
                    + "give them distinct host_uuid in libvirtd.conf (or fix duplicated SMBIOS UUIDs)."));
        }
        return List.of(Finding.pass(name(), s, t, "Source and target are different hosts."));
    }
}
