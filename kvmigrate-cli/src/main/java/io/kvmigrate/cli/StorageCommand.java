package io.kvmigrate.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.preflight.Remedy;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.HypervisorConnector;
import io.kvmigrate.core.spi.PoolSpec;
import io.kvmigrate.core.spi.PoolStatus;
import io.kvmigrate.core.storage.PairProof;
import io.kvmigrate.core.storage.ShareReport;
import io.kvmigrate.core.storage.ShareStorage;
import io.kvmigrate.core.storage.StorageListing;
import io.kvmigrate.libvirt.LibvirtConnector;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code kvmigrate storage share|list}: the same storage pool on every host, proved shared; every host's pools side by side. */
@Command(name = "storage", description = "Storage pools across hosts: share one (define, start, autostart, prove), list them side by side.",
        subcommands = {StorageCommand.Share.class, StorageCommand.ListPools.class})
final class StorageCommand {

    /** The command that carries out {@code r}, as check prints it. */
    static String shareCommand(Remedy.SharePool r) {
        return "kvmigrate storage share " + r.pool() + " --path " + r.path() + " --hosts " + String.join(",", r.hosts())
                + " --nfs SERVER:/EXPORT  (or --dir where the same shared file system is already mounted at " + r.path() + " on every host)";
    }

    @Command(name = "share", description = {"On every host, define a storage pool NAME at --path (an NFS pool with explicit format and "
            + "protocol version, or a dir pool over a directory already mounted there), start it and mark it autostart; then prove it "
            + "shared with a probe file through every ordered pair of hosts.",
            "Every host is checked before any is changed: an identical pool is left alone; a pool of that name with another "
                    + "type, path or source is a conflict, and nothing is changed anywhere. If a later host fails, the failing host "
                    + "is put back as it was and the hosts already changed are reported (and undone with --rollback-on-failure)."})
    static final class Share implements Callable<Integer>, Main.JsonCapable {
        @Spec CommandSpec spec;
        @Parameters(index = "0", paramLabel = "NAME", description = "Pool name, the same on every host.") String name;
        @Option(names = "--path", required = true, paramLabel = "DIR", description = "Directory of the pool on every host (the NFS mount point).") String path;
        @Option(names = "--hosts", required = true, split = ",", paramLabel = "HOST", description = "Hosts (registered names or URIs), comma-separated, at least two.")
        List<String> hosts;
        @ArgGroup(exclusive = true, multiplicity = "1") Source source;
        @Option(names = "--nfs-version", paramLabel = "V", description = "NFS protocol version with --nfs: 3, 4, 4.0, 4.1, 4.2 (default 4.2).") String nfsVersion;
        @Option(names = "--rollback-on-failure", description = "If a host fails or the proof fails, undo what this run changed on the other hosts.")
        boolean rollback;
        @Option(names = "--json", description = "Print one JSON object, nothing else.") boolean json;

        /** --nfs SERVER:/EXPORT or --dir. */
        static final class Source {
            @Option(names = "--nfs", paramLabel = "SERVER:/EXPORT", description = "NFS export that libvirt mounts at --path on every host.") String nfs;
            @Option(names = "--dir", description = "A directory pool: --path is already the mounted shared file system on every host.") boolean dir;
        }

        @Override
        public boolean json() {
            return json;
        }

        @Override
        public Integer call() {
            PoolSpec wanted = spec().validated();
            HostRegistry registry = HostRegistry.fromEnvironment();
            List<HostRef> refs = hosts.stream().map(registry::resolve).toList();
            PrintWriter out = spec.commandLine().getOut();
            long started = System.nanoTime();
            ShareReport report;
            ShareStorage.Listener progress = json ? ShareStorage.Listener.NONE : e -> {
                out.println("  " + e.host() + ": " + e.step() + (e.detail() == null ? "" : " (" + e.detail() + ")"));
                out.flush();
            };
            List<HostSession> sessions = openAll(new LibvirtConnector(), refs);
            try {
                if (!json) out.println("Sharing storage pool '" + wanted.name() + "' (" + describe(wanted) + ") on " + String.join(", ", hosts) + ":");
                report = new ShareStorage(new io.kvmigrate.core.engine.SharedStorageVerifier(), progress).share(wanted, sessions, rollback);
            } finally {
                sessions.forEach(HostSession::close);
            }
            long elapsedMs = (System.nanoTime() - started) / 1_000_000;
            if (json) {
                ObjectNode root = report.ok() ? Output.json().createObjectNode() : Output.errorJson(report.failure());
                root.put("ok", report.ok());
                root.set("pool", specJson(wanted));
                ArrayNode hs = root.putArray("hosts");
                for (ShareStorage.HostOutcome o : report.hosts()) {
                    ObjectNode n = hs.addObject();
                    n.put("host", o.host());
                    n.put("action", o.plan().action().name().toLowerCase(Locale.ROOT));
                    n.put("reason", o.plan().reason());
                    ArrayNode steps = n.putArray("applied");
                    o.applied().forEach(s -> steps.add(s.label()));
                    n.put("status", o.status().name().toLowerCase(Locale.ROOT));
                    n.put("detail", o.detail());
                }
                root.set("pairs", pairsJson(report.pairs()));
                ArrayNode changed = root.putArray("changedHosts");
                report.changedHosts().forEach(changed::add);
                root.put("elapsedMs", elapsedMs);
                Output.printJson(out, root);
            } else {
                print(out, report, elapsedMs);
                if (!report.ok()) Output.printError(spec.commandLine().getErr(), report.failure());
            }
            return report.ok() ? 0 : report.failure().code().exitCode();
        }

        private PoolSpec spec() {
            if (source.dir) {
                if (nfsVersion != null) throw KvmigrateException.invalidInput("--nfs-version is for --nfs pools, not --dir.", "Drop --nfs-version.");
                return PoolSpec.dir(name, path);
            }
            int colon = source.nfs.indexOf(":/");
            if (colon < 1) {
                throw KvmigrateException.invalidInput("--nfs takes SERVER:/EXPORT, got '" + source.nfs + "'.", "For example --nfs 192.168.20.4:/nfsshare.");
            }
            return PoolSpec.nfs(name, path, source.nfs.substring(0, colon), source.nfs.substring(colon + 1), nfsVersion == null ? "4.2" : nfsVersion);
        }

        private static void print(PrintWriter out, ShareReport r, long elapsedMs) {
            out.printf("  %-12s %-9s %-46s %s%n", "HOST", "PLAN", "FOUND", "RESULT");
            for (ShareStorage.HostOutcome o : r.hosts()) {
                String result = switch (o.status()) {
                    case UNCHANGED -> "unchanged";
                    case CHANGED -> "changed: " + labels(o);
                    case FAILED -> "FAILED, left as it was";
                    case ROLLED_BACK -> "rolled back (" + labels(o) + ")";
                    case ROLLBACK_FAILED -> "ROLLBACK FAILED: " + o.detail();
                };
                out.printf("  %-12s %-9s %-46s %s%n", o.host(), o.plan().action().name().toLowerCase(Locale.ROOT), o.plan().reason(), result);
            }
            if (!r.pairs().isEmpty()) {
                out.println("Sharing proof (a probe file written through one host, read through the other):");
                for (PairProof p : r.pairs()) out.println("  " + p.writer() + " -> " + p.reader() + "  " + (p.shared() ? "shared" : "NOT shared: " + p.detail()));
            }
            if (r.ok()) {
                out.println("OK: pool '" + r.pool().name() + "' is on " + String.join(", ", r.hosts().stream().map(ShareStorage.HostOutcome::host).toList())
                        + ", active, autostart, proved shared (" + Output.seconds(elapsedMs) + ").");
            } else {
                out.println("Failed after " + Output.seconds(elapsedMs) + (r.changedHosts().isEmpty() ? "; no host keeps a change of this run."
                        : "; hosts that keep this run's changes: " + String.join(", ", r.changedHosts())
                                + " (run it again once fixed, or with --rollback-on-failure)."));
            }
            out.flush();
        }

        private static String labels(ShareStorage.HostOutcome o) {
            return String.join(", ", o.applied().stream().map(ShareStorage.Step::label).toList());
        }
    }

    @Command(name = "list", description = "The storage pools of every host side by side, by name: type, state, autostart, capacity, path and "
            + "source; pools of one name whose type, path or source differ are marked; pairs of hosts are proved shared with a probe file.")
    static final class ListPools implements Callable<Integer>, Main.JsonCapable {
        @Spec CommandSpec spec;
        @Option(names = "--hosts", split = ",", paramLabel = "HOST", description = "Hosts, comma-separated (default: every registered host).") List<String> hosts;
        @Option(names = "--no-probe", description = "Do not write probe files (no sharing proof).") boolean noProbe;
        @Option(names = "--json", description = "Print one JSON object, nothing else.") boolean json;

        @Override
        public boolean json() {
            return json;
        }

        @Override
        public Integer call() {
            HostRegistry registry = HostRegistry.fromEnvironment();
            List<HostRef> refs = hosts == null ? registry.list() : hosts.stream().map(registry::resolve).toList();
            long started = System.nanoTime();
            Map<String, KvmigrateException> unreachable = new LinkedHashMap<>();
            List<HostSession> sessions = openReachable(new LibvirtConnector(), refs, unreachable);
            List<StorageListing.Row> rows;
            try {
                rows = new StorageListing().list(sessions, !noProbe);
            } finally {
                sessions.forEach(HostSession::close);
            }
            long elapsedMs = (System.nanoTime() - started) / 1_000_000;
            PrintWriter out = spec.commandLine().getOut();
            List<String> listed = sessions.stream().map(s -> s.host().name()).toList();
            if (json) {
                ObjectNode root = Output.json().createObjectNode();
                ArrayNode hs = root.putArray("hosts");
                listed.forEach(hs::add);
                ArrayNode un = root.putArray("unreachable");
                unreachable.forEach((h, e) -> un.addObject().put("host", h).put("error", e.getMessage()));
                ArrayNode pools = root.putArray("pools");
                for (StorageListing.Row r : rows) {
                    ObjectNode n = pools.addObject();
                    n.put("name", r.pool());
                    n.put("mismatch", r.mismatch());
                    ArrayNode diffs = n.putArray("differences");
                    r.differences().forEach(diffs::add);
                    ArrayNode on = n.putArray("hosts");
                    r.byHost().forEach((h, p) -> {
                        ObjectNode x = specJson(p.spec());
                        x.put("host", h);
                        x.put("active", p.active());
                        x.put("autostart", p.autostart());
                        x.put("persistent", p.persistent());
                        x.put("capacityBytes", p.capacity());
                        x.put("allocationBytes", p.allocation());
                        x.put("availableBytes", p.available());
                        on.add(x);
                    });
                    n.set("pairs", pairsJson(r.pairs()));
                }
                root.put("elapsedMs", elapsedMs);
                Output.printJson(out, root);
                return 0;
            }
            unreachable.forEach((h, e) -> out.println("host " + h + ": unreachable: " + e.getMessage()));
            if (rows.isEmpty()) {
                out.println(listed.isEmpty() ? "No host to list (register some with 'kvmigrate hosts add')." : "No storage pools on " + String.join(", ", listed) + ".");
                return 0;
            }
            out.printf("%-16s %-10s %-6s %-8s %-9s %10s %10s  %s%n", "POOL", "HOST", "TYPE", "STATE", "AUTOSTART", "CAPACITY", "AVAILABLE", "PATH  [SOURCE]");
            for (StorageListing.Row r : rows) {
                boolean first = true;
                for (Map.Entry<String, PoolStatus> e : r.byHost().entrySet()) {
                    PoolStatus p = e.getValue();
                    out.printf("%-16s %-10s %-6s %-8s %-9s %10s %10s  %s%s%n", first ? r.pool() : "", e.getKey(), p.spec().type(),
                            p.active() ? "active" : "inactive", p.autostart() ? "yes" : "no", p.active() ? gib(p.capacity()) : "-",
                            p.active() ? gib(p.available()) : "-", p.spec().path(), p.spec().source() == null ? "" : "  [" + p.spec().source() + "]");
                    first = false;
                }
                if (r.mismatch()) out.printf("%-16s MISMATCH: %s%n", "", String.join("; ", r.differences()));
                List<String> shared = r.pairs().stream().filter(PairProof::shared).map(p -> p.writer() + "->" + p.reader()).toList();
                List<String> not = r.pairs().stream().filter(p -> !p.shared()).map(p -> p.writer() + "->" + p.reader()).toList();
                if (!shared.isEmpty()) out.printf("%-16s proved shared: %s%n", "", String.join(", ", shared));
                if (!not.isEmpty()) out.printf("%-16s NOT shared: %s%n", "", String.join(", ", not));
            }
            out.println("(" + rows.size() + " pool name(s) on " + listed.size() + " host(s), " + Output.seconds(elapsedMs)
                    + (noProbe ? ", not probed" : "") + ")");
            out.flush();
            return 0;
        }
    }

    private static ObjectNode specJson(PoolSpec s) {
        ObjectNode n = Output.json().createObjectNode();
        n.put("name", s.name());
        n.put("type", s.type());
        n.put("path", s.path());
        if (s.sourceHost() != null || s.sourceDir() != null) {
            n.putObject("source").put("host", s.sourceHost()).put("dir", s.sourceDir()).put("format", s.sourceFormat())
                    .put("protocolVersion", s.protocolVersion());
        }
        return n;
    }

    private static ArrayNode pairsJson(List<PairProof> pairs) {
        ArrayNode arr = Output.json().createArrayNode();
        for (PairProof p : pairs) arr.addObject().put("writer", p.writer()).put("reader", p.reader()).put("shared", p.shared()).put("detail", p.detail());
        return arr;
    }

    private static String describe(PoolSpec s) {
        return s.isNfs() ? "NFS " + s.sourceHost() + ":" + s.sourceDir() + " version " + s.protocolVersion() + " mounted at " + s.path() : "dir " + s.path();
    }

    private static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }

    /** Opens every host at once, one thread each; when one fails, the others are closed and its error thrown. */
    static List<HostSession> openAll(HypervisorConnector connector, List<HostRef> refs) {
        Map<String, KvmigrateException> failed = new LinkedHashMap<>();
        List<HostSession> open = openReachable(connector, refs, failed);
        if (!failed.isEmpty()) {
            open.forEach(HostSession::close);
            throw failed.values().iterator().next();
        }
        return open;
    }

    /** Opens every host at once, one thread each; those that fail go into {@code failed}, the others are returned in order. */
    static List<HostSession> openReachable(HypervisorConnector connector, List<HostRef> refs, Map<String, KvmigrateException> failed) {
        if (refs.isEmpty()) return List.of();
        ExecutorService pool = Executors.newFixedThreadPool(refs.size(), r -> {
            Thread t = new Thread(r, "kvmigrate-connect");
            t.setDaemon(true);
            return t;
        });
        try {
            List<CompletableFuture<HostSession>> futures = refs.stream().map(h -> CompletableFuture.supplyAsync(() -> connector.open(h), pool)).toList();
            List<HostSession> out = new ArrayList<>();
            for (int i = 0; i < refs.size(); i++) {
                try {
                    out.add(futures.get(i).join());
                } catch (CompletionException e) {
                    if (e.getCause() instanceof KvmigrateException k) failed.put(refs.get(i).name(), k);
                    else throw e;
                }
            }
            return out;
        } finally {
            pool.shutdown();
        }
    }
}
