package io.kvmigrate.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmigrate.core.api.JobHandle;
import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.api.MoveRequest;
import io.kvmigrate.core.job.JobKind;
import io.kvmigrate.core.plan.Planning;
import sun.misc.Signal;
import sun.misc.SignalHandler;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.engine.EventListener;
import io.kvmigrate.core.plan.Plan;
import io.kvmigrate.core.plan.PolicyKind;
import io.kvmigrate.core.engine.MigrationEvent;
import io.kvmigrate.core.engine.MigrationReport;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code kvmigrate migrate VM --from H --to H}: live migration on shared storage, with storage copy, or offline (cold). */
@Command(name = "migrate", description = "Live-migrate a running VM (shared storage, or --copy-storage), or move it offline (--offline).")
final class MigrateCommand implements Callable<Integer>, Main.JsonCapable {
    @Spec CommandSpec spec;
    @Mixin VmAndHosts move;
    @Option(names = "--bandwidth", paramLabel = "MiB/s", description = "Bandwidth cap in MiB/s (default: unlimited).") long bandwidth;
    @Option(names = "--max-downtime", paramLabel = "ms", description = "Most downtime allowed, ms; the migration starts at libvirt's 300 (or this, if lower) and policy safe/finish may raise the limit up to it (default 300).") long maxDowntime;
    @Option(names = "--timeout", paramLabel = "s", description = "Abort after this many seconds; the VM stays on the source.") Long timeout;
    @Option(names = "--json", description = "Print one JSON object with the result, nothing else.") boolean json;
    // ---- cold migration and storage copy (see OfflineOutput and docs/cold-migration.md) ----
    @Option(names = "--offline", description = "Move a shut-off VM: definition only on shared storage, else copy and verify its disks.") boolean offline;
    @Option(names = "--shutdown", description = "With --offline: shut a running VM down gracefully first.") boolean shutdown;
    @Option(names = "--shutdown-timeout", paramLabel = "s", defaultValue = "120", description = "Seconds to wait for the guest to power off (default ${DEFAULT-VALUE}).") long shutdownTimeout;
    @Option(names = "--force-off", description = "With --shutdown: power the VM off hard if it ignores the shutdown request.") boolean forceOff;
    @Option(names = "--start", description = "With --offline: start the VM on the target afterwards.") boolean start;
    @Option(names = "--keep-source", description = "With --offline: keep the source definition and disks (copy, not move).") boolean keepSource;
    @Option(names = "--copy-storage", description = "Live: copy local disks during the migration into volumes pre-created on the target.") boolean copyStorage;
    @Option(names = "--map-pool", paramLabel = "SRC=DST", description = "Put disks of source pool (or directory) SRC into target pool DST.") java.util.Map<String, String> mapPool;
    @Option(names = "--map-network", paramLabel = "SRC=DST", description = "With --offline: attach NICs on source network SRC to target network DST.") java.util.Map<String, String> mapNetwork;
    @Option(names = "--accept", paramLabel = "CODE", description = "Accept a preflight warning or overridable failure by its code (repeatable).")
    List<String> accept = List.of();
    @Option(names = "--policy", defaultValue = "safe", paramLabel = "plain|safe|finish",
            description = "When pre-copy cannot converge (judged from the dirty rate as soon as it is known): plain = do nothing;"
                    + " safe = raise downtime up to --max-downtime, else throttle from the level the rate needs up to 99 %% (or, for a VM with KVM's dirty ring, limit its dirty rate per vCPU), else abort;"
                    + " finish = raise downtime, else switch to post-copy (default ${DEFAULT-VALUE}).") String policy;
    @Option(names = "--parallel", paramLabel = "N", description = "Send memory over N connections (multifd); not with post-copy.") int parallel;
    @Option(names = "--compress", description = "Compress pages (QEMU's XBZRLE delta encoding of re-sent pages).") boolean compress;
    @Option(names = "--tls", description = "Encrypt the migration stream (libvirt's native TLS migration; both hosts need QEMU's TLS"
            + " certificates). Implied when the target is reached over qemu+tls://.") boolean tls;
    @Option(names = "--migration-address", paramLabel = "HOST[:PORT]", description = "Send the live migration stream to this address"
            + " of the target (a separate migration network); default: the target's own choice. PORT: default one of its migration ports.")
    String migrationAddress;
    @Option(names = "--migration-listen", paramLabel = "ADDRESS", description = "With --migration-address: the address the target's"
            + " QEMU listens on, when not the one the source connects to (NAT, a proxy); default: the target's configured migration address.")
    String migrationListen;
    @Option(names = "--no-plan", description = "Skip measuring the guest and the prediction (policy plain only).") boolean noPlan;
    @Option(names = "--measure", description = "Always measure the dirty rate before the start (by default only when the ~1 s"
            + " measurement costs at most 5%% of the shortest time the migration can take).") boolean measure;

    @Override
    public boolean json() {
        return json;
    }

    @Mixin Facade.DbOption db;
    @Mixin JobsAccess.ServerOption server;

    @Override
    public Integer call() {
        if (server.url != null) return RemoteMigrate.run(this, server.client(db), spec.commandLine().getOut());
        HostRegistry registry = HostRegistry.fromEnvironment();
        JobKind kind = offline ? JobKind.OFFLINE : copyStorage ? JobKind.LIVE_COPY_STORAGE : JobKind.LIVE;
        MoveRequest request = new MoveRequest(move.vm, move.source(registry), move.target(registry), kind, policyKind(policy), bandwidth,
                maxDowntime, timeout == null ? null : Duration.ofSeconds(timeout), parallel, compress, mapPool, mapNetwork,
                new java.util.LinkedHashSet<>(accept), shutdown, Duration.ofSeconds(shutdownTimeout), forceOff, start, keepSource, measure,
                noPlan, tls, migrationAddress(migrationAddress, migrationListen)).validate();
        PrintWriter out = spec.commandLine().getOut();
        List<MigrationEvent> kept = new ArrayList<>();
        EventListener human = json ? EventListener.NONE : new ProgressRenderer(out, System.console() != null);
        EventListener listener = e -> {
            if (!(e instanceof MigrationEvent.Progress) && !(e instanceof MigrationEvent.DiskProgress)) {
                synchronized (kept) {
                    kept.add(e);
                }
            }
            human.on(e);
        };
        try (Kvmigrate k = Facade.open(db, spec.commandLine().getErr())) {
            JobHandle job = k.submit(request, listener);
            if (!json) {
                out.println("Job " + job.id() + " (kvmigrate jobs show " + job.id() + ")");
                out.flush();
            }
            JobHandle.Outcome outcome;
            SignalHandler previousInt = installCancel("INT", job);
            SignalHandler previousTerm = installCancel("TERM", job);
            try {
                outcome = job.await();
            } catch (KvmigrateException e) {
                if (json) {
                    ObjectNode root = Output.errorJson(e);
                    root.put("jobId", job.id());
                    kept.stream().filter(ev -> ev instanceof MigrationEvent.Failed).map(ev -> ((MigrationEvent.Failed) ev).placement())
                            .filter(java.util.Objects::nonNull).findFirst().ifPresent(p -> root.set("placement", Output.placementJson(p)));
                    if (!offline) addDecisions(root, kept);
                    addPreflight(root, kept);
                    if (job.plan() != null) root.set("plan", PlanOutput.json(job.plan()));
                    Output.printJson(out, root);
                    return e.code().exitCode();
                }
                throw e;
            } finally {
                restore("INT", previousInt);
                restore("TERM", previousTerm);
                k.awaitRunning();
            }
            if (outcome.offline() != null) return offlineResult(out, outcome.offline(), kept, job.id());
            MigrationReport report = outcome.live();
            Plan plan = job.plan();
            if (json) {
                ObjectNode root = reportJson(report);
                root.put("jobId", job.id());
                addDecisions(root, kept);
                addPreflight(root, kept);
                if (plan != null) {
                    root.set("plan", planWithError(plan, report, true));
                    Plan live = job.livePlan();
                    if (live != null) root.set("planFromFirstPass", planWithError(live, report, false));
                }
                Output.printJson(out, root);
            } else {
                printSummary(out, report);
                if (plan != null) printPredictionError(out, plan, job.livePlan(), report);
            }
            return 0;
        }
    }

    private int offlineResult(PrintWriter out, io.kvmigrate.core.engine.ColdMigrationReport r, List<MigrationEvent> kept, String jobId) {
        if (json) {
            ObjectNode root = OfflineOutput.reportJson(r);
            root.put("jobId", jobId);
            addPreflight(root, kept);
            Output.printJson(out, root);
        } else {
            OfflineOutput.printSummary(out, r);
        }
        return 0;
    }

    /** Ctrl-C and SIGTERM abort the job cleanly (the VM stays on the source), as {@code jobs cancel} from elsewhere does. */
    private static SignalHandler installCancel(String name, JobHandle job) {
        try {
            return Signal.handle(new Signal(name), sig -> job.cancel());
        } catch (IllegalArgumentException e) {
            return null; // signal not available on this platform
        }
    }

    private static void restore(String name, SignalHandler previous) {
        if (previous != null) Signal.handle(new Signal(name), previous);
    }

    /**
     * A plan's JSON with the error of its expected total against the actual one; none for a lower bound, and 0 for a plan
     * that expected no completion when {@code zeroIfNoTotal}.
     */
    private static ObjectNode planWithError(Plan p, MigrationReport report, boolean zeroIfNoTotal) {
        ObjectNode n = PlanOutput.json(p);
        if (p.lowerBoundOnly()) return n;
        if (p.expectedTotalMs() > 0) n.put("totalErrorPercent", (report.totalMs() - p.expectedTotalMs()) * 100 / p.expectedTotalMs());
        else if (zeroIfNoTotal) n.put("totalErrorPercent", 0);
        return n;
    }

    static io.kvmigrate.core.model.MigrationAddress migrationAddress(String address, String listen) {
        if (address == null) {
            if (listen != null) throw KvmigrateException.invalidInput("--migration-listen goes with --migration-address.", "Add --migration-address HOST[:PORT].");
            return null;
        }
        return io.kvmigrate.core.model.MigrationAddress.parse(address, listen);
    }

    static PolicyKind policyKind(String name) {
        for (PolicyKind k : PolicyKind.values()) {
            if (k.label().equals(name)) return k;
        }
        throw KvmigrateException.invalidInput("--policy must be plain, safe or finish, got '" + name + "'.", "Use --policy safe (the default).");
    }

    static void printPredictionError(PrintWriter out, Plan plan, Plan livePlan, MigrationReport r) {
        if (plan.lowerBoundOnly()) {
            out.println("Prediction: at least " + Output.seconds(plan.expectedTotalMs()) + " before the start (dirty rate not measured)"
                    + (livePlan != null && livePlan.expectedToComplete() ? ", " + Output.seconds(livePlan.expectedTotalMs()) + " after the first pass ("
                    + Planning.error(livePlan.expectedTotalMs(), r.totalMs()) + ")" : "") + "; actual " + Output.seconds(r.totalMs()) + ".");
            out.flush();
            return;
        }
        out.println("Prediction: " + (plan.expectedToComplete() ? "total " + Output.seconds(plan.expectedTotalMs()) + ", actual "
                + Output.seconds(r.totalMs()) + " (" + Planning.error(plan.expectedTotalMs(), r.totalMs()) + "); downtime "
                + plan.expectedDowntimeMs() + " ms, actual " + r.downtimeMs() + " ms" : "expected not to complete, but it did in "
                + Output.seconds(r.totalMs())) + ".");
        out.flush();
    }

    static void printSummary(PrintWriter out, MigrationReport r) {
        out.println("Migrated " + r.vm() + ": " + r.source() + " -> " + r.target() + " in " + Output.seconds(r.totalMs())
                + " (transfer " + Output.seconds(r.migrationMs()) + "), downtime " + r.downtimeMs() + " ms, "
                + Output.mib(r.dataSentBytes()) + " sent of " + Output.mib(r.memoryBytes()) + " memory, " + r.iterations() + " iteration(s).");
        out.println("Verified: " + r.placement() + ".");
        out.flush();
    }

    static ObjectNode reportJson(MigrationReport r) {
        ObjectNode root = Output.json().createObjectNode();
        root.put("ok", true);
        root.put("vm", r.vm());
        root.put("source", r.source());
        root.put("target", r.target());
        root.put("startedAt", r.startedAt().toString());
        root.put("finishedAt", r.finishedAt().toString());
        root.put("totalMs", r.totalMs());
        root.put("migrationMs", r.migrationMs());
        root.put("downtimeMs", r.downtimeMs());
        root.put("dataSentBytes", r.dataSentBytes());
        root.put("memoryBytes", r.memoryBytes());
        root.put("iterations", r.iterations());
        root.set("placement", Output.placementJson(r.placement()));
        return root;
    }

    private static void addDecisions(ObjectNode root, List<MigrationEvent> events) {
        var arr = root.putArray("decisions");
        synchronized (events) {
            for (MigrationEvent e : events) {
                if (e instanceof MigrationEvent.Decision d) arr.addObject().put("at", d.at().toString()).put("action", d.action()).put("reason", d.reason());
            }
        }
    }

    private static void addPreflight(ObjectNode root, List<MigrationEvent> events) {
        synchronized (events) {
            for (MigrationEvent e : events) {
                if (e instanceof MigrationEvent.PreflightFinished p) root.set("preflight", PreflightPrinter.json(p.report(), p.accepted(), 0));
            }
        }
    }
}
