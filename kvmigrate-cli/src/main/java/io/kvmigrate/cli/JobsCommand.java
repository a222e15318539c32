package io.kvmigrate.cli;

import io.kvmigrate.server.JsonViews;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.core.job.JobFilter;
import io.kvmigrate.core.job.JobState;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code kvmigrate jobs}: the job history (every move is a job), one job's timeline, cancel from any terminal, and
 * reconciliation of jobs whose controller died (which every command that opens the store also does first).
 */
@Command(name = "jobs", description = "List migration jobs; show, cancel or reconcile one.",
        subcommands = {JobsCommand.Show.class, JobsCommand.Cancel.class, JobsCommand.Reconcile.class})
final class JobsCommand implements Callable<Integer>, Main.JsonCapable {
    @Spec CommandSpec spec;
    @Mixin Facade.DbOption db;
    @Mixin JobsAccess.ServerOption server;
    @Option(names = "--vm", paramLabel = "VM", description = "Only jobs of this VM.") String vm;
    @Option(names = "--host", paramLabel = "HOST", description = "Only jobs from or to this host.") String host;
    @Option(names = "--state", paramLabel = "STATE", description = "Only jobs in this state: queued, running, succeeded, failed, cancelled, interrupted.") String state;
    @Option(names = "--limit", paramLabel = "N", defaultValue = "50", description = "At most N jobs, newest first (default ${DEFAULT-VALUE}).") int limit;
    @Option(names = "--json", description = "Print one JSON object.") boolean json;

    @Override
    public boolean json() {
        return json;
    }

    @Override
    public Integer call() {
        JobState s = null;
        if (state != null) {
            try {
                s = JobState.valueOf(state.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw KvmigrateException.invalidInput("--state must be one of queued, running, succeeded, failed, cancelled, interrupted; got '"
                        + state + "'.", null);
            }
        }
        if (limit < 1) throw KvmigrateException.invalidInput("--limit must be >= 1, got " + limit + ".", null);
        PrintWriter out = spec.commandLine().getOut();
        try (JobsAccess k = JobsAccess.open(server, db, spec.commandLine().getErr())) {
            // Jobs just taken over from a dead controller run here: list them once they have ended.
            k.awaitRunning();
            List<Job> jobs = k.jobs(new JobFilter(vm, host, s, limit));
            if (json) {
                ObjectNode root = Output.json().createObjectNode();
                root.put("ok", true);
                ArrayNode arr = root.putArray("jobs");
                for (Job j : jobs) arr.add(jobJson(j));
                Output.printJson(out, root);
                return 0;
            }
            if (jobs.isEmpty()) out.println("No jobs.");
            else out.println(String.format(Locale.ROOT, "%-26s %-11s %-16s %-20s %-12s %s", "JOB", "STATE", "VM", "FROM -> TO", "TOTAL", "CREATED"));
            for (Job j : jobs) {
                out.println(String.format(Locale.ROOT, "%-26s %-11s %-16s %-20s %-12s %s", j.id(), j.state().name().toLowerCase(Locale.ROOT)
                        + (j.state() == JobState.RUNNING && j.phase() != null ? ":" + j.phase() : ""), j.vmName(), j.sourceHost() + " -> "
                        + j.targetHost(), j.figures().totalMs() == null ? "-" : Output.seconds(j.figures().totalMs()), j.createdAt()));
            }
            out.flush();
            return 0;
        }
    }

    static ObjectNode jobJson(Job j) {
        return JsonViews.job(j, t -> t); // the CLI's writer words every printed line
    }

    private static Job required(JobsAccess k, String id) {
        return k.job(id).orElseThrow(() -> new KvmigrateException(ErrorCode.INVALID_INPUT, "jobs", null, null, "No job '" + id + "' in the job store.",
                "List the jobs with 'kvmigrate jobs'."));
    }

    /** {@code kvmigrate jobs show ID}: the job, its figures and placement, and its timeline. */
    @Command(name = "show", description = "Show one job: state, figures, placement and the timeline of its events.")
    static final class Show implements Callable<Integer>, Main.JsonCapable {
        @Spec CommandSpec spec;
        @Mixin Facade.DbOption db;
        @Mixin JobsAccess.ServerOption server;
        @Parameters(index = "0", paramLabel = "ID") String id;
        @Option(names = "--progress", description = "Include every progress sample in the timeline.") boolean progress;
        @Option(names = "--json", description = "Print one JSON object.") boolean json;

        @Override
        public boolean json() {
            return json;
        }

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            try (JobsAccess k = JobsAccess.open(server, db, spec.commandLine().getErr())) {
                Job j = required(k, id);
                List<JobEvent> events = k.events(id, 0);
                if (json) {
                    ObjectNode root = Output.json().createObjectNode();
                    root.put("ok", true);
                    root.set("job", jobJson(j));
                    k.parentOf(j.id()).ifPresent(parent -> root.put("parent", parent));
                    // a drain (a job of jobs): its moves
                    if (j.kind() == io.kvmigrate.core.job.JobKind.EVACUATION) {
                        ArrayNode moves = root.putArray("children");
                        for (Job c : k.children(j.id())) moves.add(jobJson(c));
                    }
                    ArrayNode arr = root.putArray("events");
                    for (JobEvent e : events) {
                        ObjectNode n = arr.addObject();
                        n.put("seq", e.seq());
                        n.put("at", e.at().toString());
                        n.put("type", e.type());
                        n.put("step", e.step());
                        n.put("message", e.message());
                        n.set("data", Output.json().valueToTree(e.data()));
                    }
                    Output.printJson(out, root);
                    return 0;
                }
                boolean drain = j.kind() == io.kvmigrate.core.job.JobKind.EVACUATION;
                out.println("Job " + j.id() + ": " + (drain ? "evacuation of " : j.kind().name().toLowerCase(Locale.ROOT) + " move of ") + j.vmName()
                        + ", " + j.sourceHost() + " -> " + j.targetHost() + "; " + j.state().name().toLowerCase(Locale.ROOT)
                        + (j.phase() != null ? " (step " + j.phase() + ")" : ""));
                k.parentOf(j.id()).ifPresent(parent -> out.println("  one of drain " + parent + "'s moves"));
                if (drain) {
                    List<Job> moves = k.children(j.id());
                    out.println("  moves (" + moves.size() + "):");
                    for (Job c : moves) {
                        out.println("    " + c.id() + "  " + c.vmName() + " -> " + c.targetHost() + "  " + c.state().name().toLowerCase(Locale.ROOT));
                    }
                }
                out.println("  request: " + j.request());
                out.println("  created " + j.createdAt() + (j.startedAt() != null ? ", started " + j.startedAt() : "") + (j.endedAt() != null
                        ? ", ended " + j.endedAt() : "") + (j.owner() != null ? "; controller " + j.owner() : ""));
                var f = j.figures();
                if (f.totalMs() != null) {
                    out.println("  figures: total " + Output.seconds(f.totalMs()) + (f.downtimeMs() != null ? ", downtime " + f.downtimeMs() + " ms" : "")
                            + (f.bytesSent() != null ? ", " + Output.mib(f.bytesSent()) + " sent" : "") + (f.iterations() != null ? ", "
                            + f.iterations() + " iteration(s)" : "") + (f.predictedMs() != null ? ", predicted " + Output.seconds(f.predictedMs()) : ""));
                }
                if (j.placement() != null) out.println("  placement: " + j.placement());
                if (j.error() != null) out.println("  error: [" + j.error().code() + "] " + j.error().message());
                out.println("  timeline:");
                java.time.Instant first = events.isEmpty() ? null : events.get(0).at();
                int hidden = 0;
                for (JobEvent e : events) {
                    if (!progress && JobEvent.PROGRESS.equals(e.type())) {
                        hidden++;
                        continue;
                    }
                    out.println(String.format(Locale.ROOT, "    %8.2f s  %-9s %-14s %s", Duration.between(first, e.at()).toMillis() / 1000.0,
                            e.type(), e.step() == null ? "" : e.step(), e.message()));
                }
                if (hidden > 0) out.println("    (" + hidden + " progress sample(s); --progress shows them)");
                out.flush();
                return 0;
            }
        }
    }

    /** {@code kvmigrate jobs cancel ID}: from any terminal; the process running the job aborts it cleanly. */
    @Command(name = "cancel", description = "Cancel a job: the process running it aborts the migration (the VM stays on the source).")
    static final class Cancel implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin Facade.DbOption db;
        @Mixin JobsAccess.ServerOption server;
        @Parameters(index = "0", paramLabel = "ID") String id;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            try (JobsAccess k = JobsAccess.open(server, db, spec.commandLine().getErr())) {
                Job before = required(k, id);
                Job j = k.cancel(id).orElseThrow();
                out.println(before.state() == JobState.QUEUED && j.state() == JobState.CANCELLED ? "Job " + id + " was queued: cancelled before"
                        + " anything ran for it." : j.state().isTerminal() ? "Job " + id + " has ended (" + j.state().name().toLowerCase(Locale.ROOT)
                        + "): nothing to cancel." : "Cancel requested for job " + id + "; its controller (" + j.owner() + ") aborts it within"
                        + " about a second.");
                out.flush();
                k.awaitRunning();
                return 0;
            }
        }
    }

    /** {@code kvmigrate jobs reconcile}: take over the jobs of controllers that died, and wait for them to end. */
    @Command(name = "reconcile", description = "Take over jobs whose controller died: supervise their running migrations to the end,"
            + " or record how they ended.")
    static final class Reconcile implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin Facade.DbOption db;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            try (Kvmigrate k = Facade.open(db, spec.commandLine().getErr())) {
                k.awaitRunning();
                out.println("Reconciled.");
                out.flush();
                return 0;
            }
        }
    }
}
