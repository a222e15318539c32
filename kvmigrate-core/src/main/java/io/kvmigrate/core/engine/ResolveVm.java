package io.kvmigrate.core.engine;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.spi.HostSession;

/** The resolve step every move (live, with storage copy, offline) and every check starts with: the VM on its source. */
public final class ResolveVm {
    private ResolveVm() {
    }

    /** The VM named {@code vm} on {@code source}, running or defined; UNKNOWN_VM naming the host if there is none. */
    public static VmInfo on(HostSession source, String vm) {
        String host = source.host().name();
        return source.findVm(vm).orElseThrow(() -> new KvmigrateException(ErrorCode.UNKNOWN_VM, Phase.RESOLVE.label(), host, vm,
                "No VM named '" + vm + "' is defined or running on host '" + host + "'.",
                "List the VMs of host '" + host + "' to find its name (names are case-sensitive)."));
    }
}
