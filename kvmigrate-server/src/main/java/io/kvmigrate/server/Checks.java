package io.kvmigrate.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.api.MoveRequest;
import io.kvmigrate.core.plan.Plan;
import io.kvmigrate.core.preflight.Mode;
import io.kvmigrate.core.preflight.PreflightReport;

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
        return JsonViews.preflight(report, r.accepted(), nanos / 1_000_000, Json::words, null);
    }

    ObjectNode plan(MoveRequest r) {
        Plan p;
        probes.lock();
        try {
            p = k.plan(r);
        } finally {
            probes.unlock();
        }
        return JsonViews.plan(p, Json::words);
    }
}
