package io.kvmigrate.core.spi;

import io.kvmigrate.core.model.HostRef;

/** Opens sessions to hosts. Implementations map connection failures to HOST_UNREACHABLE. */
public interface HypervisorConnector {
    HostSession open(HostRef host);
}
