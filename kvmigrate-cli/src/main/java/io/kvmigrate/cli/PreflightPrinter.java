package io.kvmigrate.cli;

import io.kvmigrate.server.JsonViews;
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
        return JsonViews.preflight(r, accepted, elapsedMs, t -> t, StorageCommand::shareCommand);
    }

    private static String pad(String s) {
        return String.format("%-28s ", s);
    }

    private static String dash(String s) {
        return s == null ? "-" : s;
    }
}
