package io.kvmigrate.core.spi;

import io.kvmigrate.core.model.HostFacts;
import io.kvmigrate.core.model.HostInventory;
import io.kvmigrate.core.model.VmSpec;

/** What a host is and has, for the check step: its facts, and everything preflight reads in one call. */
public interface Inventory extends HostRole {
    /** Hostname, host UUID, CPU, memory, versions and running VMs. */
    HostFacts facts();

    /**
     * Everything preflight needs from this host, in one call: capabilities, free resources, networks,
     * interfaces, pools, the VMs it knows, and how it sees {@code guest} (CPU comparison, emulator and
     * machine support, snapshots and block jobs). {@code guest} may be null.
     */
    HostInventory inventory(VmSpec guest);
}
