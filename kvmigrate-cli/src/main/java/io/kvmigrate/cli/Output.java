package io.kvmigrate.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.engine.Placement;
import java.io.PrintWriter;
import java.util.Locale;

/** Shared printing: errors with hints, JSON, human sizes. */
final class Output {
    /** The JSON mapper, built on first use: Jackson takes ~50-130 ms to start, which human output need not pay. */
    static ObjectMapper json() {
        return JsonHolder.MAPPER;
    }

    private static final class JsonHolder {
        static final ObjectMapper MAPPER = new ObjectMapper().disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);
    }

    private Output() {
    }

    static void printError(PrintWriter err, KvmigrateException e) {
        err.println("kvmigrate: error: " + e.describe()); // the writer words {field} tokens
        if (e.hint() != null) err.println("  hint: " + e.hint());
        err.flush();
    }

    static ObjectNode errorJson(KvmigrateException e) {
        ObjectNode root = json().createObjectNode();
        root.put("ok", false);
        ObjectNode err = root.putObject("error");
        err.put("code", e.code().name());
        err.put("exitCode", e.code().exitCode());
        err.put("step", e.step());
        err.put("host", e.host());
        err.put("vm", e.vm());
        err.put("message", Facade.words(e.getMessage()));
        err.put("hint", Facade.words(e.hint()));
        return root;
    }

    static ObjectNode placementJson(Placement p) {
        ObjectNode n = json().createObjectNode();
        n.putPOJO("runningOn", p.runningOn());
        n.putPOJO("persistentOn", p.persistentOn());
        n.putPOJO("presentOn", p.presentOn());
        if (!p.known()) n.putPOJO("unreadable", p.unreadable()); // these hosts' part is unknown, not empty
        return n;
    }

    static void printJson(PrintWriter out, Object node) {
        try {
            out.println(json().writerWithDefaultPrettyPrinter().writeValueAsString(node));
            out.flush();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    static String mibPerSec(long bytesPerSec) {
        return String.format(Locale.ROOT, "%.1f MiB/s", bytesPerSec / 1048576.0);
    }

    static String seconds(long ms) {
        return String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
    }
}
