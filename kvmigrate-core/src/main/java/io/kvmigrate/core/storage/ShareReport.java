package io.kvmigrate.core.storage;

import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.spi.PoolSpec;
import java.util.List;

/**
 * What {@link ShareStorage#share} planned and did on every host, the sharing proof through every ordered pair, and the
 * failure if there was one (then the hosts' statuses say which were changed, rolled back or never touched).
 */
public record ShareReport(PoolSpec pool, List<ShareStorage.HostOutcome> hosts, List<PairProof> pairs, KvmigrateException failure) {
    public ShareReport {
        hosts = List.copyOf(hosts);
        pairs = List.copyOf(pairs);
    }

    public boolean ok() {
        return failure == null;
    }

    /** Hosts whose pool this run changed and left changed. */
    public List<String> changedHosts() {
        return hosts.stream().filter(h -> h.status() == ShareStorage.Status.CHANGED).map(ShareStorage.HostOutcome::host).toList();
    }
}
