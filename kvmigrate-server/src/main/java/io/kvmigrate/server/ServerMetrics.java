package io.kvmigrate.server;

import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobFilter;
import io.kvmigrate.core.job.JobState;
import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The server's Prometheus metrics ({@code /metrics}, text format). Jobs by state and active migrations per host are
 * read from the store at each scrape, so they count every controller's jobs; the histograms and the byte counter are
 * observed when a job this server ran (claimed from the queue) ends, and checks when this server runs one.
 */
final class ServerMetrics {
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Histogram duration;
    private final Histogram downtime;
    private final Counter bytesSent;
    private final Histogram checkLatency;
    private final Counter requests;

    ServerMetrics(Kvmigrate k) {
        this(k, () -> 0, 0);
    }

    /** With this server's workers: {@code running} says how many queued moves it runs now, of at most {@code slots}. */
    ServerMetrics(Kvmigrate k, java.util.function.IntSupplier running, int slots) {
        GaugeWithCallback.builder().name("kvmigrate_server_workers").help("This server's workers: the most moves it runs at once (slots) and"
                + " how many it runs now (busy)").labelNames("state").callback(cb -> {
                    cb.call(slots, "slots");
                    cb.call(running.getAsInt(), "busy");
                }).register(registry);
        GaugeWithCallback.builder().name("kvmigrate_jobs").help("Jobs in the store by state (every controller's)").labelNames("state")
                .callback(cb -> {
                    Map<JobState, Integer> n = new TreeMap<>();
                    for (JobState s : JobState.values()) n.put(s, 0);
                    for (Job j : k.jobs(JobFilter.all())) n.merge(j.state(), 1, Integer::sum);
                    n.forEach((s, c) -> cb.call(c, s.name().toLowerCase(Locale.ROOT)));
                }).register(registry);
        GaugeWithCallback.builder().name("kvmigrate_active_migrations").help("Running jobs by host and the host's role in them")
                .labelNames("host", "role").callback(cb -> {
                    Map<String, Integer> n = new TreeMap<>();
                    for (Job j : k.jobs(JobFilter.all().state(JobState.RUNNING))) {
                        if (j.kind() == io.kvmigrate.core.job.JobKind.EVACUATION) continue; // a drain migrates nothing itself: its moves count
                        n.merge(j.sourceHost() + "\u0000source", 1, Integer::sum);
                        n.merge(j.targetHost() + "\u0000target", 1, Integer::sum);
                    }
                    n.forEach((key, c) -> {
                        String[] p = key.split("\u0000");
                        cb.call(c, p[0], p[1]);
                    });
                }).register(registry);
        duration = Histogram.builder().name("kvmigrate_migration_duration_seconds").help("Total time of moves that succeeded (this server's)")
                .labelNames("kind").classicUpperBounds(1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800).register(registry);
        downtime = Histogram.builder().name("kvmigrate_migration_downtime_seconds").help("Downtime of live moves that succeeded (this server's)")
                .classicUpperBounds(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5).register(registry);
        bytesSent = Counter.builder().name("kvmigrate_migration_bytes_sent").help("Bytes sent by moves that ended (this server's)")
                .labelNames("kind").register(registry);
        checkLatency = Histogram.builder().name("kvmigrate_check_duration_seconds").help("Latency of preflight checks run through the API")
                .classicUpperBounds(0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10).register(registry);
        requests = Counter.builder().name("kvmigrate_http_requests").help("API requests by method and status").labelNames("method", "status")
                .register(registry);
    }

    /** A job this server ran has ended: its figures go into the histograms. */
    void jobEnded(Job j) {
        String kind = j.kind().name().toLowerCase(Locale.ROOT);
        if (j.figures().bytesSent() != null) bytesSent.labelValues(kind).inc(j.figures().bytesSent());
        if (j.state() != JobState.SUCCEEDED) return;
        if (j.figures().totalMs() != null) duration.labelValues(kind).observe(j.figures().totalMs() / 1000.0);
        if (j.figures().downtimeMs() != null) downtime.observe(j.figures().downtimeMs() / 1000.0);
    }

    void checkTook(long nanos) {
        checkLatency.observe(nanos / 1e9);
    }

    void request(String method, int status) {
        requests.labelValues(method, Integer.toString(status)).inc();
    }

    String scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape(), EscapingScheme.ALLOW_UTF8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    static String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }
}
