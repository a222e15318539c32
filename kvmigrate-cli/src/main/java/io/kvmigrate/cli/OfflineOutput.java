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

/** How the CLI shows an offline move's result: the summary lines and the {@code --json} object. */
final class OfflineOutput {
    private OfflineOutput() {
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
}
