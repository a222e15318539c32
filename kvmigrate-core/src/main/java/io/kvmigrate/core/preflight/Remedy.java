package io.kvmigrate.core.preflight;

import java.util.List;

/**
 * A fix a front end can offer as an action of its own (the CLI words it as a command, a server as a request), next to a
 * finding's neutral hint text.
 */
public sealed interface Remedy {
    /**
     * Make {@code path} the same shared storage on {@code hosts} under one storage pool {@code pool}, and prove it shared:
     * what kvmigrate's storage sharing does. {@code pool} is the source's pool on that directory, or a name derived from it.
     */
    record SharePool(String pool, String path, List<String> hosts) implements Remedy {
        public SharePool {
            hosts = List.copyOf(hosts);
        }
    }
}
