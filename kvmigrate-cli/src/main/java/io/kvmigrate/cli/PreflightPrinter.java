package io.kvmigrate.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmigrate.core.preflight.Finding;
import io.kvmigrate.core.preflight.PreflightReport;
import io.kvmigrate.core.preflight.Remedy;
import io.kvmigrate.core.preflight.Severity;
import java.io.PrintWriter;
import java.util.Collection;
import java.util.List;

/** Prints a preflight report: grouped fail / warn / pass for people, one object for {@code --json}. */
final class PreflightPrinter {
    private PreflightPrinter() {
    }

    /** The full report; {@code withPasses} false shows failures and warnings only (what migrate prints). */
    static void print(PrintWriter out, PreflightReport r, Collection<String> accepted, boolean withPasses) {
        List<Finding> blocking = r.blocking(accepted);
        for (Severity s : List.of(Severity.FAIL, Severity.WARN, Severity.PASS)) {
            List<Finding> fs = r.with(s);
            if (fs.isEmpty() || (s == Severity.PASS && !withPasses)) continue;
            out.println(s + " (" + fs.size() + ")");
            for (Finding f : fs) {
                String tag = accepted.contains(f.code()) && f.overridable() && s != Severity.PASS ? " [accepted]"
                        : s == Severity.FAIL && !f.overridable() ? " [cannot be overridden]" : "";
                if (s == Severity.PASS) {
                    out.println("  " + pad(f.code()) + f.message());
                    continue;
                }
                out.println("  " + pad(f.code()) + f.message() + tag);
                if (f.sourceValue() != null || f.targetValue() != null) {
                    out.println("  " + pad("") + "source: " + dash(f.sourceValue()) + " | target: " + dash(f.targetValue()));
                }
                if (f.hint() != null) out.println("  " + pad("") + "fix: " + f.hint());
                if (f.remedy() instanceof Remedy.SharePool share) out.println("  " + pad("") + "fix: " + StorageCommand.shareCommand(share));
            }
        }
        for (String code : r.ineffectiveAccepts(accepted)) {
            out.println("note: --accept " + code + " has no effect (no such warning or overridable failure in this report).");
        }
        if (blocking.isEmpty()) {
            out.println("Result: OK to migrate" + (r.with(Severity.WARN).isEmpty() ? "" : " (with " + r.with(Severity.WARN).size() + " warning(s))") + ".");
        } else {
            out.println("Result: REFUSED, " + blocking.size() + " failure(s): " + String.join(", ", blocking.stream().map(Finding::code).toList()) + ".");
        }
        out.flush();
    }

    static ObjectNode json(PreflightReport r, Collection<String> accepted, long elapsedMs) {
        ObjectNode root = Output.json().createObjectNode();
        root.put("ok", r.passes(accepted));
        root.put("vm", r.vm());
        root.put("source", r.source());
        root.put("target", r.target());
        root.put("mode", r.mode().name().toLowerCase());
        root.put("elapsedMs", elapsedMs);
        ArrayNode blocking = root.putArray("blocking");
        r.blocking(accepted).forEach(f -> blocking.add(f.code()));
        ObjectNode counts = root.putObject("counts");
        for (Severity s : Severity.values()) counts.put(s.name().toLowerCase(), r.with(s).size());
        ArrayNode arr = root.putArray("findings");
        for (Finding f : r.findings()) {
            ObjectNode n = arr.addObject();
            n.put("severity", f.severity().name());
            n.put("code", f.code());
            n.put("check", f.check());
            n.put("sourceValue", f.sourceValue());
            n.put("targetValue", f.targetValue());
            n.put("message", f.message());
            n.put("hint", f.hint());
            if (f.remedy() instanceof Remedy.SharePool share) {
                ObjectNode remedy = n.putObject("remedy");
                remedy.put("kind", "share-pool");
                remedy.put("pool", share.pool());
                remedy.put("path", share.path());
                ArrayNode hosts = remedy.putArray("hosts");
                share.hosts().forEach(hosts::add);
                remedy.put("command", StorageCommand.shareCommand(share));
            }
            n.put("overridable", f.overridable());
            n.put("accepted", f.severity() != Severity.PASS && f.overridable() && accepted.contains(f.code()));
        }
        return root;
    }

    private static String pad(String s) {
        return String.format("%-28s ", s);
    }

    private static String dash(String s) {
        return s == null ? "-" : s;
    }
}
