package io.kvmigrate.cli;

import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.model.HostRef;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The VM and the two hosts of every per-VM command (migrate, check, plan): one declaration, one wording. */
final class VmAndHosts {
    @Parameters(index = "0", paramLabel = "VM", description = "VM name.") String vm;
    @Option(names = "--from", required = true, paramLabel = "HOST", description = "Source: registered host name or libvirt URI.") String from;
    @Option(names = "--to", required = true, paramLabel = "HOST", description = "Target: registered host name or libvirt URI.") String to;

    HostRef source(HostRegistry registry) {
        return registry.resolve(from);
    }

    HostRef target(HostRegistry registry) {
        return registry.resolve(to);
    }
}
