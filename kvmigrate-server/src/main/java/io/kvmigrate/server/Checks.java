package io.kvmigrate.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.api.MoveRequest;
import io.kvmigrate.core.plan.Plan;
import io.kvmigrate.core.preflight.Finding;
import io.kvmigrate.core.preflight.Mode;
import io.kvmigrate.core.preflight.PreflightReport;
import io.kvmigrate.core.preflight.Remedy;
import io.kvmigrate.core.preflight.Severity;
import java.util.Locale;

/**
 * {@code POST /api/v1/checks} and {@code /plans}: the facade's check and plan of a move, as JSON in the shapes of the
 * CLI's {@code check --json} and {@code plan --json}. A check that finds failures is still a 200: the report is the
 * answer ({@code "ok": false} and the blocking codes).
 */
final class Checks {
    private final Kvmigrate k;
    private final ServerMetrics metrics;
    /**
     * Checks and plans run one at a time: two checks of the same hosts at once fail in the storage probe (libvirt
     * refuses the second refresh of the shared directory's pool while the first runs, seen on the lab), and a JVM
     * crash in libvirt was seen once under concurrent checks. Fair, so a queue of them is served in order.
     */
    private final java.util.concurrent.locks.ReentrantLock probes = new java.util.concurrent.locks.ReentrantLock(true);

    Checks(Kvmigrate k, ServerMetrics metrics) {
        this.k = k;
        this.metrics = metrics;
    }

    /** {@code offline}: true or false from the body, null to let the VM's state decide. */
    ObjectNode check(MoveRequest r, Boolean offline) {
        long started = System.nanoTime();
        Mode mode = offline == null ? null : offline ? Mode.OFFLINE : Mode.LIVE;
        PreflightReport report;
        probes.lock();
        try {
            report = k.check(r.vm(), r.from(), r.to(), mode);
        } finally {
            probes.unlock();
            metrics.checkTook(System.nanoTime() - started);
        }
        long nanos = System.nanoTime() - started;
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("ok", report.passes(r.accepted()));
        root.put("vm", report.vm());
        root.put("source", report.source());
        root.put("target", report.target());
        root.put("mode", report.mode().name().toLowerCase(Locale.ROOT));
        root.put("elapsedMs", nanos / 1_000_000);
        ArrayNode blocking = root.putArray("blocking");
        report.blocking(r.accepted()).forEach(f -> blocking.add(f.code()));
        ObjectNode counts = root.putObject("counts");
        for (Severity s : Severity.values()) counts.put(s.name().toLowerCase(Locale.ROOT), report.with(s).size());
        ArrayNode arr = root.putArray("findings");
        for (Finding f : report.findings()) {
            ObjectNode n = arr.addObject();
            n.put("severity", f.severity().name());
            n.put("code", f.code());
            n.put("check", f.check());
            n.put("sourceValue", f.sourceValue());
            n.put("targetValue", f.targetValue());
            n.put("message", Json.words(f.message()));
            n.put("hint", Json.words(f.hint()));
            if (f.remedy() instanceof Remedy.SharePool share) {
                ObjectNode remedy = n.putObject("remedy");
                remedy.put("kind", "share-pool");
                remedy.put("pool", share.pool());
                remedy.put("path", share.path());
                ArrayNode hosts = remedy.putArray("hosts");
                share.hosts().forEach(hosts::add);
            }
            n.put("overridable", f.overridable());
            n.put("accepted", f.severity() != Severity.PASS && f.overridable() && r.accepted().contains(f.code()));
        }
        return root;
    }

    ObjectNode plan(MoveRequest r) {
        Plan p;
        probes.lock();
        try {
            p = k.plan(r);
        } finally {
            probes.unlock();
        }
        ObjectNode n = Json.MAPPER.createObjectNode();
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
        n.put("expectedToComplete", p.expectedToComplete());
        n.put("expectedTotalMs", p.expectedTotalMs());
        n.put("expectedDowntimeMs", p.expectedDowntimeMs());
        n.put("floorMs", p.floorMs());
        n.put("autoConverge", p.autoConverge());
        n.put("postCopy", p.postCopy());
        if (p.throttleAvoided() != null) n.put("throttleAvoided", p.throttleAvoided());
        ArrayNode reasons = n.putArray("reasons");
        p.reasons().forEach(x -> reasons.add(Json.words(x)));
        return n;
    }
}
