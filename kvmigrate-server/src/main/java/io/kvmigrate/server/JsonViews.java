package io.kvmigrate.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.plan.Plan;
import io.kvmigrate.core.preflight.Finding;
import io.kvmigrate.core.preflight.PreflightReport;
import io.kvmigrate.core.preflight.Remedy;
import io.kvmigrate.core.preflight.Severity;
import java.util.Collection;
import java.util.Locale;
import java.util.function.UnaryOperator;

/**
 * The JSON shapes of a job, a plan and a preflight report, one definition for the REST API and the CLI's {@code --json}
 * (which must not drift apart). {@code words} renders core messages' {@code {field}} tokens as the front end names them.
 */
public final class JsonViews {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private JsonViews() {
    }

    public static ObjectNode job(Job j, UnaryOperator<String> words) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("id", j.id());
        n.put("kind", j.kind().name());
        n.put("vm", j.vmName());
        n.put("vmUuid", j.vmUuid());
        n.put("from", j.sourceHost());
        n.put("to", j.targetHost());
        n.put("state", j.state().name().toLowerCase(Locale.ROOT));
        n.put("phase", j.phase());
        n.put("owner", j.owner());
        n.put("createdAt", String.valueOf(j.createdAt()));
        n.put("startedAt", j.startedAt() == null ? null : j.startedAt().toString());
        n.put("endedAt", j.endedAt() == null ? null : j.endedAt().toString());
        n.put("cancelRequested", j.cancelRequested());
        ObjectNode req = n.putObject("request");
        j.request().forEach(req::put);
        ObjectNode f = n.putObject("figures");
        f.put("totalMs", j.figures().totalMs());
        f.put("downtimeMs", j.figures().downtimeMs());
        f.put("bytesSent", j.figures().bytesSent());
        f.put("iterations", j.figures().iterations());
        f.put("predictedMs", j.figures().predictedMs());
        if (j.placement() != null) {
            ObjectNode p = n.putObject("placement");
            p.put("known", j.placement().isKnown());
            j.placement().runningOn().forEach(p.putArray("runningOn")::add);
            j.placement().definedOn().forEach(p.putArray("definedOn")::add);
            if (!j.placement().isKnown()) p.put("unknownReason", j.placement().unknownReason());
        }
        if (j.error() != null) {
            ObjectNode e = n.putObject("error");
            e.put("code", j.error().code());
            e.put("step", j.error().step());
            e.put("host", j.error().host());
            e.put("vm", j.error().vm());
            e.put("message", words.apply(j.error().message()));
            e.put("hint", words.apply(j.error().hint()));
        }
        return n;
    }

    public static ObjectNode plan(Plan p, UnaryOperator<String> words) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("policy", p.policy().label());
        n.put("strategy", p.strategy().name());
        n.put("strategyText", p.strategy().label());
        n.put("memoryBytes", p.guest().memoryBytes());
        n.put("nonZeroBytes", p.guest().nonZeroBytes());
        n.put("dirtyRateBps", p.guest().dirtyRateBps());
        n.put("dirtyRateSaturated", p.guest().dirtyRateSaturated());
        n.put("dirtyRate", p.guest().rate().name());
        n.put("lowerBoundOnly", p.lowerBoundOnly());
        n.put("bandwidthBps", p.bandwidthBps());
        n.put("bandwidthAssumed", p.bandwidthAssumed());
        n.put("initialDowntimeMs", p.initialDowntimeMs());
        n.put("maxDowntimeMs", p.maxDowntimeMs());
        if (p.lowerBoundOnly()) n.putNull("plainPreCopyConverges");
        else n.put("plainPreCopyConverges", p.plainPreCopy().converges());
        n.put("plainPreCopyTotalMs", p.plainPreCopy().totalMs());
        n.put("plainPreCopyDowntimeMs", p.plainPreCopy().downtimeMs());
        n.put("plainPreCopyPasses", p.plainPreCopy().passes());
        n.put("expectedToComplete", p.expectedToComplete());
        n.put("expectedTotalMs", p.expectedTotalMs());
        n.put("expectedDowntimeMs", p.expectedDowntimeMs());
        n.put("floorMs", p.floorMs());
        n.put("autoConverge", p.autoConverge());
        n.put("postCopy", p.postCopy());
        if (p.throttleAvoided() != null) n.put("throttleAvoided", p.throttleAvoided());
        ArrayNode reasons = n.putArray("reasons");
        p.reasons().forEach(x -> reasons.add(words.apply(x)));
        return n;
    }

    /** A report with every finding; {@code remedyCommand} words a share-pool remedy as a command (null: none). */
    public static ObjectNode preflight(PreflightReport r, Collection<String> accepted, long elapsedMs, UnaryOperator<String> words,
            java.util.function.Function<Remedy.SharePool, String> remedyCommand) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("ok", r.passes(accepted));
        root.put("vm", r.vm());
        root.put("source", r.source());
        root.put("target", r.target());
        root.put("mode", r.mode().name().toLowerCase(Locale.ROOT));
        root.put("elapsedMs", elapsedMs);
        ArrayNode blocking = root.putArray("blocking");
        r.blocking(accepted).forEach(f -> blocking.add(f.code()));
        ObjectNode counts = root.putObject("counts");
        for (Severity s : Severity.values()) counts.put(s.name().toLowerCase(Locale.ROOT), r.with(s).size());
        ArrayNode arr = root.putArray("findings");
        for (Finding f : r.findings()) {
            ObjectNode n = arr.addObject();
            n.put("severity", f.severity().name());
            n.put("code", f.code());
            n.put("check", f.check());
            n.put("sourceValue", f.sourceValue());
            n.put("targetValue", f.targetValue());
            n.put("message", words.apply(f.message()));
            n.put("hint", words.apply(f.hint()));
            if (f.remedy() instanceof Remedy.SharePool share) {
                ObjectNode remedy = n.putObject("remedy");
                remedy.put("kind", "share-pool");
                remedy.put("pool", share.pool());
                remedy.put("path", share.path());
                ArrayNode hosts = remedy.putArray("hosts");
                share.hosts().forEach(hosts::add);
                if (remedyCommand != null) remedy.put("command", remedyCommand.apply(share));
            }
            n.put("overridable", f.overridable());
            n.put("accepted", f.severity() != Severity.PASS && f.overridable() && accepted.contains(f.code()));
        }
        return root;
    }
}
