package io.kvmigrate.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.evacuate.DrainLimits;
import io.kvmigrate.core.evacuate.DrainSchedule;
import io.kvmigrate.core.evacuate.Evacuation;
import io.kvmigrate.core.evacuate.EvacuationEvent;
import io.kvmigrate.core.evacuate.EvacuationPlan;
import io.kvmigrate.core.evacuate.EvacuationRequest;
import io.kvmigrate.core.evacuate.PlacementPlan;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.plan.PolicyKind;
import io.kvmigrate.core.preflight.Finding;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code POST /api/v1/evacuations}: a drain of a host, planned (placement, order, predicted makespan; nothing changes) with
 * {@code "dryRun": true}, else planned and started: the answer (202) names the drain's own job ({@code GET /api/v1/jobs/ID},
 * its moves under {@code children}; {@code POST /api/v1/jobs/ID/cancel} stops it cleanly). The drain runs in this server
 * through the facade, as {@code kvmigrate evacuate} does; a VM that fits nowhere is in the plan with its reasons before
 * anything moves. {@code GET /api/v1/evacuations/{id}}: the drain's job with its moves.
 */
final class Evacuations {
    /** The body: the CLI's {@code evacuate} options in camelCase; absent fields take its defaults. */
    record EvacuationBody(String host, List<String> to, Integer maxParallel, Integer maxOutPerHost, Integer maxInPerHost, Long bandwidth,
            String policy, Long maxDowntime, Long timeout, Double vcpuRatio, List<String> accept, Boolean measure, Boolean dryRun) {
    }

    private final Kvmigrate k;
    private final HostRegistry registry;

    private Evacuations(Kvmigrate k, HostRegistry registry) {
        this.k = k;
        this.registry = registry;
    }

    /** Adds the routes (the server's one line for them). */
    static void register(Javalin app, Kvmigrate k, HostRegistry registry) {
        Evacuations e = new Evacuations(k, registry);
        app.post("/api/v1/evacuations", e::post);
        app.get("/api/v1/evacuations/{id}", e::get);
    }

    private void post(Context ctx) throws Exception {
        EvacuationBody b = Bodies.read(ctx.bodyAsBytes(), EvacuationBody.class);
        EvacuationRequest request = request(b);
        Evacuation evacuation = k.evacuation(request);
        EvacuationPlan plan = evacuation.plan();
        ObjectNode body = plan(plan);
        if (Boolean.TRUE.equals(b.dryRun())) {
            body.put("dryRun", true);
            ctx.json(body);
            return;
        }
        CompletableFuture<String> recorded = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                evacuation.run(plan, ev -> {
                    if (ev instanceof EvacuationEvent.DrainRecorded d) recorded.complete(d.jobId());
                });
            } catch (RuntimeException ex) {
                recorded.completeExceptionally(ex);
                org.slf4j.LoggerFactory.getLogger(Evacuations.class).error("drain of {} failed", request.sources(), ex);
            }
        }, "kvmigrate-drain");
        t.setDaemon(true);
        t.start();
        String id;
        try {
            id = recorded.get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException ex) {
            if (ex.getCause() instanceof KvmigrateException ke) throw ke;
            throw ex;
        }
        body.put("dryRun", false);
        body.put("jobId", id);
        ctx.status(202).header("Location", "/api/v1/jobs/" + id).json(body);
    }

    private void get(Context ctx) {
        String id = ctx.pathParam("id");
        Job j = k.job(id).orElseThrow(() -> new ApiException(404, "UNKNOWN_JOB", "No job '" + id + "'.", "GET /api/v1/jobs lists the jobs.", null));
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.set("job", Json.job(j));
        ArrayNode moves = body.putArray("children");
        for (Job c : k.children(id)) moves.add(Json.job(c));
        ctx.json(body);
    }

    private EvacuationRequest request(EvacuationBody b) {
        if (b.host() == null) throw ApiException.badField("host", "Field \"host\" is missing.", "Name the host to empty.");
        HostRef source = host("host", b.host());
        List<HostRef> targets = new ArrayList<>();
        if (b.to() != null && !b.to().isEmpty()) {
            for (String t : b.to()) targets.add(host("to", t));
        } else {
            for (HostRef h : registry.list()) if (!h.uri().equals(source.uri()) && !h.name().equals(source.name())) targets.add(h);
        }
        PolicyKind policy = PolicyKind.SAFE;
        if (b.policy() != null) {
            try {
                policy = PolicyKind.valueOf(b.policy().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw ApiException.badField("policy", "Field \"policy\" must be one of plain, safe, finish; got \"" + b.policy() + "\".", null);
            }
        }
        if (b.timeout() != null && b.timeout() <= 0) {
            throw ApiException.badField("timeout", "Field \"timeout\" must be positive, got " + b.timeout() + ".", "Give seconds, e.g. 600.");
        }
        DrainLimits d = DrainLimits.defaults();
        DrainLimits limits = new DrainLimits(b.maxParallel() == null ? d.maxParallel() : b.maxParallel(),
                b.maxOutPerHost() == null ? d.maxOutPerHost() : b.maxOutPerHost(), b.maxInPerHost() == null ? d.maxInPerHost() : b.maxInPerHost());
        // validated as a whole by the core; its {field} tokens are worded as this body's fields
        return new EvacuationRequest(List.of(source), targets, limits, b.bandwidth() == null ? 0 : b.bandwidth(), policy,
                b.maxDowntime() == null ? 0 : b.maxDowntime(), b.timeout() == null ? null : Duration.ofSeconds(b.timeout()),
                b.vcpuRatio() == null ? 1.0 : b.vcpuRatio(), b.accept() == null ? null : new LinkedHashSet<>(b.accept()),
                Boolean.TRUE.equals(b.measure())).validate();
    }

    private HostRef host(String field, String value) {
        try {
            return registry.resolve(value);
        } catch (KvmigrateException e) {
            throw ApiException.badField(field, e.getMessage(), "Register it with POST /api/v1/hosts {\"name\", \"uri\"}, or give a libvirt URI.");
        }
    }

    /** The plan: every placed VM with its target and prediction, every VM that fits nowhere with each target's reasons. */
    static ObjectNode plan(EvacuationPlan plan) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.putPOJO("sources", plan.request().sources().stream().map(HostRef::name).toList());
        root.putPOJO("targets", plan.request().targets().stream().map(HostRef::name).toList());
        root.putPOJO("excluded", plan.excluded());
        DrainSchedule s = plan.schedule();
        ObjectNode sched = root.putObject("schedule");
        sched.put("concurrency", s.concurrency());
        sched.put("shareMiBps", s.shareBps() >> 20);
        sched.put("predictedMakespanMs", s.makespanMs());
        sched.put("bandwidthBoundMs", s.boundMs());
        sched.putPOJO("notConverging", s.notConverging());
        ArrayNode moves = root.putArray("moves");
        for (DrainSchedule.Slot slot : s.moves()) {
            moves.addObject().put("vm", slot.move().vm()).put("source", slot.move().source().name()).put("target", slot.move().target().name())
                    .put("mode", slot.move().live() ? "live" : "offline").put("predictedMs", slot.predictedMs()).put("predictedStartMs", slot.startMs())
                    .put("nonZeroBytes", slot.move().estimate().nonZeroBytes());
        }
        ArrayNode unplaced = root.putArray("unplaced");
        for (PlacementPlan.Unplaced u : plan.placement().unplaced()) {
            ObjectNode n = unplaced.addObject().put("vm", u.vm()).put("source", u.source().name());
            n.putPOJO("codes", u.codes());
            ObjectNode reasons = n.putObject("reasons");
            u.reasons().forEach((target, findings) -> {
                ArrayNode arr = reasons.putArray(target);
                for (Finding f : findings) arr.addObject().put("code", f.code()).put("message", Json.words(f.message())).put("hint", f.hint());
            });
        }
        return root;
    }
}
