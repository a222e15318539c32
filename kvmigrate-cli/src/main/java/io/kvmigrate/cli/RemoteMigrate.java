package io.kvmigrate.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.server.ApiClient;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * {@code migrate --server URL}: the move is queued on a running server (which checks it, runs it and keeps its job), and
 * this command follows the job's timeline from the server until it ends, printing each step and decision as the server
 * records it (progress at most every 5 s). Ctrl-C and SIGTERM cancel the job through the server.
 */
final class RemoteMigrate {
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);

    private RemoteMigrate() {
    }

    static int run(MigrateCommand c, ApiClient api, PrintWriter out) {
        Job queued = api.submit(body(c));
        String id = queued.id();
        if (!c.json) {
            out.println("Job " + id + " queued on " + api.baseUrl() + " (kvmigrate jobs show --server " + api.baseUrl() + " " + id + ")");
            out.flush();
        }
        SignalHandler previousInt = install("INT", api, id);
        SignalHandler previousTerm = install("TERM", api, id);
        Job end;
        try {
            end = follow(c.json ? null : out, api, id);
        } finally {
            restore("INT", previousInt);
            restore("TERM", previousTerm);
        }
        if (end.state() != JobState.SUCCEEDED) {
            ErrorCode code = ErrorCode.MIGRATION_FAILED;
            String message = "Job " + id + " " + end.state().name().toLowerCase(Locale.ROOT) + " on " + api.baseUrl();
            String hint = null;
            if (end.error() != null) {
                try {
                    code = ErrorCode.valueOf(end.error().code());
                } catch (IllegalArgumentException e) {
                    // a code of another version: MIGRATION_FAILED
                }
                message += ": " + end.error().message();
                hint = end.error().hint();
            }
            throw new KvmigrateException(code, end.error() != null ? end.error().step() : end.phase(), end.sourceHost(), end.vmName(), message, hint);
        }
        if (c.json) {
            ObjectNode root = Output.json().createObjectNode();
            root.put("ok", true);
            root.set("job", JobsCommand.jobJson(end));
            Output.printJson(out, root);
        } else {
            out.println("Job " + id + " succeeded on " + api.baseUrl() + (end.placement() != null ? ": " + end.placement() : "")
                    + (end.figures().totalMs() != null ? "; total " + Output.seconds(end.figures().totalMs()) : "")
                    + (end.figures().downtimeMs() != null ? ", downtime " + end.figures().downtimeMs() + " ms" : ""));
            out.flush();
        }
        return 0;
    }

    /** Prints the timeline as it grows (to {@code out}, if not null) until the job has ended; returns it as it ended. */
    private static Job follow(PrintWriter out, ApiClient api, String id) {
        long seq = 0;
        Instant lastProgress = Instant.EPOCH;
        while (true) {
            // the job first, then its events: once it is seen ended, the events read after it are all there are
            Job now = api.job(id).orElseThrow(() -> new KvmigrateException(ErrorCode.INTERNAL, "server", api.baseUrl(), null,
                    "Job " + id + " is gone from " + api.baseUrl() + ".", null));
            for (JobEvent e : api.events(id, seq)) {
                seq = e.seq();
                if (out == null) continue;
                if (JobEvent.PROGRESS.equals(e.type())) {
                    if (Duration.between(lastProgress, e.at()).compareTo(PROGRESS_EVERY) < 0) continue;
                    lastProgress = e.at();
                }
                out.println("  " + (e.step() == null ? "" : e.step() + ": ") + e.message());
                out.flush();
            }
            if (now.state().isTerminal()) return now;
            try {
                Thread.sleep(POLL.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KvmigrateException(ErrorCode.CANCELLED, "server", api.baseUrl(), null, "Interrupted while following job " + id + ".",
                        "It goes on on the server; 'kvmigrate jobs cancel --server " + api.baseUrl() + " " + id + "' stops it.");
            }
        }
    }

    /** The move as the API's body: the CLI's options by their camelCase names, only those given. */
    static ObjectNode body(MigrateCommand c) {
        ObjectNode b = Output.json().createObjectNode();
        b.put("vm", c.move.vm);
        b.put("from", c.move.from);
        b.put("to", c.move.to);
        b.put("policy", c.policy);
        if (c.offline) b.put("offline", true);
        if (c.copyStorage) b.put("copyStorage", true);
        if (c.bandwidth != 0) b.put("bandwidth", c.bandwidth);
        if (c.maxDowntime != 0) b.put("maxDowntime", c.maxDowntime);
        if (c.timeout != null) b.put("timeout", c.timeout);
        if (c.parallel != 0) b.put("parallel", c.parallel);
        if (c.compress) b.put("compress", true);
        if (c.noPlan) b.put("noPlan", true);
        if (c.measure) b.put("measure", true);
        if (c.shutdown) b.put("shutdown", true);
        if (c.shutdownTimeout != 120) b.put("shutdownTimeout", c.shutdownTimeout);
        if (c.forceOff) b.put("forceOff", true);
        if (c.start) b.put("start", true);
        if (c.keepSource) b.put("keepSource", true);
        if (c.tls) b.put("tls", true);
        if (c.migrationAddress != null) b.put("migrationAddress", c.migrationAddress);
        if (c.migrationListen != null) b.put("migrationListen", c.migrationListen);
        if (c.mapPool != null) c.mapPool.forEach(b.putObject("mapPool")::put);
        if (c.mapNetwork != null) c.mapNetwork.forEach(b.putObject("mapNetwork")::put);
        if (!c.accept.isEmpty()) {
            ArrayNode a = b.putArray("accept");
            c.accept.forEach(a::add);
        }
        return b;
    }

    private static SignalHandler install(String name, ApiClient api, String id) {
        try {
            return Signal.handle(new Signal(name), sig -> api.cancel(id));
        } catch (IllegalArgumentException e) {
            return null; // signal not available on this platform
        }
    }

    private static void restore(String name, SignalHandler previous) {
        if (previous != null) Signal.handle(new Signal(name), previous);
    }
}
