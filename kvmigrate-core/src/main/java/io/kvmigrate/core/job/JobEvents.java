package io.kvmigrate.core.job;

import io.kvmigrate.core.engine.MigrationEvent;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.preflight.Finding;
import io.kvmigrate.core.preflight.Severity;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** How an engine event is kept in a job's timeline: type, step, one line of text and its figures as JSON-able data. */
public final class JobEvents {
    private JobEvents() {
    }

    /** The timeline entry for {@code e} of job {@code jobId}; {@code step} is the step the job is in. */
    public static JobEvent of(String jobId, String step, MigrationEvent e) {
        Map<String, Object> d = new LinkedHashMap<>();
        if (e instanceof MigrationEvent.PhaseStarted p) {
            return JobEvent.of(jobId, e.at(), JobEvent.STEP, p.phase().label(), p.detail(), Map.of());
        } else if (e instanceof MigrationEvent.Progress p) {
            JobStats s = p.stats();
            d.put("iteration", s.iteration());
            d.put("memoryTotal", s.memoryTotal());
            d.put("memoryRemaining", s.memoryRemaining());
            d.put("memoryProcessed", s.memoryProcessed());
            d.put("memoryBps", s.memoryBps());
            d.put("dirtyRateBps", s.dirtyRateBps());
            d.put("expectedDowntimeMs", s.downtimeMs());
            d.put("throttlePercent", s.autoConvergeThrottle());
            d.put("diskRemaining", s.diskRemaining());
            return JobEvent.of(jobId, e.at(), JobEvent.PROGRESS, step, "iteration " + s.iteration() + ", " + s.memoryRemaining() / 1048576
                    + " MiB left", d);
        } else if (e instanceof MigrationEvent.Decision x) {
            d.put("action", x.action());
            d.put("reason", x.reason());
            return JobEvent.of(jobId, e.at(), JobEvent.DECISION, step, x.action() + ": " + x.reason(), d);
        } else if (e instanceof MigrationEvent.Planned p) {
            d.put("strategy", p.plan().strategy().name());
            d.put("autoConverge", p.plan().autoConverge());
            d.put("postCopy", p.plan().postCopy());
            d.put("expectedTotalMs", p.plan().expectedTotalMs());
            d.put("expectedDowntimeMs", p.plan().expectedDowntimeMs());
            d.put("reasons", p.plan().reasons());
            if (p.plan().throttleAvoided() != null) d.put("throttleAvoided", p.plan().throttleAvoided());
            return JobEvent.of(jobId, e.at(), PLAN, step, "plan: " + p.plan().strategy().label(), d);
        } else if (e instanceof MigrationEvent.PreflightFinished p) {
            List<Map<String, Object>> findings = p.report().findings().stream().filter(f -> f.severity() != Severity.PASS)
                    .map(JobEvents::finding).toList();
            d.put("findings", findings);
            d.put("accepted", List.copyOf(p.accepted()));
            long fails = p.report().findings().stream().filter(f -> f.severity() == Severity.FAIL).count();
            return JobEvent.of(jobId, e.at(), JobEvent.FINDING, step, findings.size() + " finding(s) not passed, " + fails + " failure(s)", d);
        } else if (e instanceof MigrationEvent.StorageVerified s) {
            d.put("disk", s.disk());
            d.put("path", s.path());
            return JobEvent.of(jobId, e.at(), JobEvent.LOG, step, "disk " + s.disk() + " " + s.path() + " shared (" + s.how() + ")", d);
        } else if (e instanceof MigrationEvent.DiskProgress p) {
            d.put("disk", p.disk());
            d.put("position", p.position());
            d.put("total", p.total());
            d.put("bytesSent", p.bytesSent());
            d.put("rateBps", p.rateBps());
            d.put("etaMs", p.etaMs());
            return JobEvent.of(jobId, e.at(), JobEvent.PROGRESS, step, "disk " + p.disk() + " " + p.position() / 1048576 + " of "
                    + p.total() / 1048576 + " MiB", d);
        } else if (e instanceof MigrationEvent.DiskCopied c) {
            d.put("disk", c.disk());
            d.put("bytesSent", c.bytesSent());
            d.put("sha256", c.sha256());
            return JobEvent.of(jobId, e.at(), JobEvent.LOG, step, "disk " + c.disk() + " copied and verified: " + c.from() + " -> " + c.to(), d);
        } else if (e instanceof MigrationEvent.Failed f) {
            d.put("code", f.error().code().name());
            if (f.placement() != null) d.put("placement", f.placement().toString());
            return JobEvent.of(jobId, e.at(), JobEvent.LOG, step, "failed: " + f.error().describe(), d);
        } else if (e instanceof MigrationEvent.Completed c) {
            return JobEvent.of(jobId, e.at(), JobEvent.LOG, step, "completed in " + c.report().totalMs() + " ms", d);
        }
        return JobEvent.of(jobId, e.at(), JobEvent.LOG, step, e.toString(), d);
    }

    /** A plan's entry in the timeline: crash recovery reads it to know what the job was started with. */
    public static final String PLAN = "plan";

    private static Map<String, Object> finding(Finding f) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("severity", f.severity().name());
        m.put("code", f.code());
        m.put("message", f.message());
        if (f.hint() != null) m.put("hint", f.hint());
        return m;
    }
}
