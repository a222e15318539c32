package io.kvmigrate.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.engine.ColdMigration;
import io.kvmigrate.core.engine.ColdMigrationReport;
import io.kvmigrate.core.engine.EventListener;
import io.kvmigrate.core.engine.ExecutorScheduler;
import io.kvmigrate.core.model.ColdMigrationRequest;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.HypervisorConnector;
import io.kvmigrate.libvirt.DomainXmlRewriter;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/** Runs one cold move for {@code migrate --offline}: opens both hosts, turns Ctrl-C and SIGTERM into a clean cancel, prints the result. */
final class ColdMigrationRunner {
    private final HypervisorConnector connector;

    ColdMigrationRunner(HypervisorConnector connector) {
        this.connector = connector;
    }

    int call(PrintWriter out, boolean json, ColdMigrationRequest request, java.util.Set<String> accepted) {
        EventListener human = json ? EventListener.NONE : new ProgressRenderer(out, System.console() != null);
        java.util.concurrent.atomic.AtomicReference<io.kvmigrate.core.engine.MigrationEvent.PreflightFinished> preflight =
                new java.util.concurrent.atomic.AtomicReference<>();
        EventListener listener = e -> {
            if (e instanceof io.kvmigrate.core.engine.MigrationEvent.PreflightFinished p) preflight.set(p);
            human.on(e);
        };
        ColdMigrationReport report;
        try {
            report = run(request, listener, accepted);
        } catch (KvmigrateException e) {
            if (json) {
                ObjectNode root = Output.errorJson(e);
                var p = preflight.get();
                if (p != null) root.set("preflight", PreflightPrinter.json(p.report(), p.accepted(), 0));
                Output.printJson(out, root);
                return e.code().exitCode();
            }
            throw e;
        }
        if (json) {
            ObjectNode root = reportJson(report);
            var p = preflight.get();
            if (p != null) root.set("preflight", PreflightPrinter.json(p.report(), p.accepted(), 0));
            Output.printJson(out, root);
        } else {
            printSummary(out, report);
        }
        return 0;
    }

    ColdMigrationReport run(ColdMigrationRequest request, EventListener listener) {
        return run(request, listener, java.util.Set.of());
    }

    ColdMigrationReport run(ColdMigrationRequest request, EventListener listener, java.util.Set<String> accepted) {
        try (HostSession source = connector.open(request.source());
             HostSession target = connector.open(request.target());
             ExecutorScheduler scheduler = new ExecutorScheduler()) {
            ColdMigration migration = new ColdMigration(source, target, Clock.systemUTC(), scheduler, listener, new DomainXmlRewriter(),
                    Duration.ofMillis(500));
            SignalHandler previousInt = install("INT", migration);
            SignalHandler previousTerm = install("TERM", migration);
            try {
                return migration.run(request, accepted);
            } finally {
                restore("INT", previousInt);
                restore("TERM", previousTerm);
            }
        }
    }

    static void printSummary(PrintWriter out, ColdMigrationReport r) {
        out.println("Moved " + r.vm() + " offline: " + r.source() + " -> " + r.target() + " in " + Output.seconds(r.totalMs()) + ", storage "
                + r.storage() + (r.disks().isEmpty() ? "" : ": " + r.disks().size() + " disk(s), " + Output.mib(r.bytesSent()) + " sent")
                + (r.sourceKept() ? "; source kept" : "; source definition and copied disks removed") + (r.started() ? "; started on target" : "") + ".");
        for (ColdMigrationReport.DiskCopy d : r.disks()) {
            out.println("  " + d.disk() + ": " + d.from() + " -> " + d.to() + " (" + d.format() + ", " + Output.mib(d.capacity()) + " virtual, "
                    + Output.mib(d.bytesSent()) + " sent, sha256 " + d.sha256() + ")");
        }
        out.println("Verified: " + r.placement() + ".");
        out.flush();
    }

    static ObjectNode reportJson(ColdMigrationReport r) {
        ObjectNode root = Output.json().createObjectNode();
        root.put("ok", true);
        root.put("mode", "offline");
        root.put("vm", r.vm());
        root.put("source", r.source());
        root.put("target", r.target());
        root.put("storage", r.storage());
        root.put("totalMs", r.totalMs());
        root.put("bytesSent", r.bytesSent());
        root.put("sourceKept", r.sourceKept());
        root.put("started", r.started());
        var disks = root.putArray("disks");
        for (ColdMigrationReport.DiskCopy d : r.disks()) {
            disks.addObject().put("disk", d.disk()).put("from", d.from()).put("to", d.to()).put("format", d.format())
                    .put("capacity", d.capacity()).put("bytesSent", d.bytesSent()).put("length", d.length()).put("millis", d.millis())
                    .put("sha256", d.sha256());
        }
        root.set("placement", Output.placementJson(r.placement()));
        return root;
    }

    private static SignalHandler install(String name, ColdMigration migration) {
        try {
            return Signal.handle(new Signal(name), sig -> migration.cancel());
        } catch (IllegalArgumentException e) {
            return null; // signal not available on this platform
        }
    }

    private static void restore(String name, SignalHandler previous) {
        if (previous != null) Signal.handle(new Signal(name), previous);
    }
}
