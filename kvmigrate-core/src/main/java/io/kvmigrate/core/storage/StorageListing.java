package io.kvmigrate.core.storage;

import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.PoolStatus;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The pools of several hosts side by side, by name: which hosts have each, where pools of one name differ in type, path
 * or source, and (optionally) which ordered pairs of hosts the sharing probe proves to see the same files. Only pools
 * on a directory (dir, fs, netfs), active on both hosts of a pair and at the same path there, are probed: for the others
 * a migration could not use the pool as shared storage anyway.
 */
public final class StorageListing {
    private static final Set<String> DIRECTORY_TYPES = Set.of("dir", "fs", "netfs");

    /**
     * One pool name across hosts.
     *
     * @param byHost the pool on each host that has it, in host order
     * @param differences each "host: what differs (first host: its value)" against the first host that has it
     * @param pairs the probe's result for every ordered pair probed
     */
    public record Row(String pool, Map<String, PoolStatus> byHost, List<String> differences, List<PairProof> pairs) {
        public Row {
            byHost = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(byHost));
            differences = List.copyOf(differences);
            pairs = List.copyOf(pairs);
        }

        public boolean mismatch() {
            return !differences.isEmpty();
        }
    }

    private final ShareStorage prover;

    public StorageListing(ShareStorage prover) {
        this.prover = prover;
    }

    public StorageListing() {
        this(new ShareStorage());
    }

    /** Lists every host's pools (throws what a host throws, naming it) and, with {@code probe}, proves the pairs. */
    public List<Row> list(List<HostSession> hosts, boolean probe) {
        Map<String, List<PoolStatus>> pools = new LinkedHashMap<>();
        for (HostSession h : hosts) {
            try {
                pools.put(h.host().name(), h.storagePools().list());
            } catch (KvmigrateException e) {
                throw e.inContext("list", h.host().name(), null);
            }
        }
        List<Row> rows = rows(pools);
        if (!probe) return rows;
        Map<String, HostSession> byName = new LinkedHashMap<>();
        hosts.forEach(h -> byName.put(h.host().name(), h));
        List<Row> out = new ArrayList<>();
        for (Row r : rows) {
            // Hosts with the pool active on a directory, grouped by that directory: each group is probed pair by pair.
            Map<String, List<HostSession>> byPath = new LinkedHashMap<>();
            r.byHost().forEach((host, p) -> {
                if (p.active() && p.spec().path() != null && DIRECTORY_TYPES.contains(p.spec().type())) {
                    byPath.computeIfAbsent(p.spec().path(), k -> new ArrayList<>()).add(byName.get(host));
                }
            });
            List<PairProof> pairs = new ArrayList<>();
            byPath.forEach((path, group) -> {
                if (group.size() >= 2) pairs.addAll(prover.prove(path, group));
            });
            out.add(new Row(r.pool(), r.byHost(), r.differences(), pairs));
        }
        return out;
    }

    /** The rows, by pool name, from every host's pools (pure). */
    public static List<Row> rows(Map<String, List<PoolStatus>> poolsByHost) {
        Map<String, Map<String, PoolStatus>> byName = new TreeMap<>();
        poolsByHost.forEach((host, pools) -> {
            for (PoolStatus p : pools) byName.computeIfAbsent(p.name(), k -> new LinkedHashMap<>()).put(host, p);
        });
        List<Row> out = new ArrayList<>();
        byName.forEach((name, hosts) -> {
            List<String> diffs = new ArrayList<>();
            String firstHost = hosts.keySet().iterator().next();
            PoolStatus first = hosts.get(firstHost);
            hosts.forEach((host, p) -> {
                if (host.equals(firstHost)) return;
                for (String d : p.spec().differencesFrom(first.spec(), firstHost)) diffs.add(host + ": " + d);
            });
            out.add(new Row(name, hosts, diffs, List.of()));
        });
        return out;
    }
}
