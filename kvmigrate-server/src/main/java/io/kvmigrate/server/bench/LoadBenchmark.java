package io.kvmigrate.server.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A load benchmark of a running server (a command, not a test): starts one move through the API, holds
 * {@code subscribers} event streams of that job open, and sends {@code rate} API requests per second (one in 25 a
 * preflight check of another VM between the same hosts, the rest the job list, the job and the metrics) for {@code duration}; then compares every subscriber's events with the store's
 * timeline and reports failures and latency percentiles per kind of request. Loopback servers only: its loops are
 * bounded in count and time.
 */
public final class LoadBenchmark {
    /** What to run. {@code checkVm} is checked between the same hosts while the move runs (a VM that stays put). */
    public record Options(URI base, String token, String vm, String checkVm, String from, String to, long bandwidthMiBps, int subscribers,
            int rate, Duration duration) {
    }

    /** Latencies of one kind of request, in ms. */
    public record Stats(String kind, int count, int failures, double p50, double p99, double max) {
    }

    public record Result(String jobId, String jobState, List<Stats> requests, int subscribers, int subscribersComplete, int subscribersMismatched,
            long storeEvents, int failures) {
        public boolean ok() {
            return failures == 0 && subscribersMismatched == 0 && subscribersComplete == subscribers;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http;
    private final Options o;
    private final Consumer<String> log;
    private final Map<String, List<Double>> latencies = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> failures = new ConcurrentHashMap<>();
    private final List<String> failureSamples = new CopyOnWriteArrayList<>();

    public LoadBenchmark(Options o, Consumer<String> log) {
        String host = o.base().getHost();
        if (!(host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]") || host.equals("::1"))) {
            throw new IllegalArgumentException("the load benchmark only targets loopback servers, not " + host);
        }
        if (o.subscribers() < 0 || o.subscribers() > 2000 || o.rate() < 0 || o.rate() > 1000 || o.duration().toSeconds() > 600) {
            throw new IllegalArgumentException("subscribers 0..2000, rate 0..1000/s, duration up to 600 s");
        }
        this.o = o;
        this.log = log;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10))
                .executor(Executors.newFixedThreadPool(16, daemon("bench-http"))).build();
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    private HttpRequest.Builder req(String path) {
        return HttpRequest.newBuilder(o.base().resolve(path)).header("Authorization", "Bearer " + o.token()).timeout(Duration.ofSeconds(30));
    }

    private JsonNode send(HttpRequest r, int expected) throws IOException, InterruptedException {
        HttpResponse<String> resp = http.send(r, HttpResponse.BodyHandlers.ofString());
        if (resp.statusCode() != expected) throw new IOException(r.method() + " " + r.uri().getPath() + " -> " + resp.statusCode() + " " + resp.body());
        return JSON.readTree(resp.body());
    }

    /** One subscriber: the seqs it received, and whether the stream ended with "end". */
    private static final class Subscriber {
        final List<Long> seqs = Collections.synchronizedList(new ArrayList<>());
        volatile boolean ended;
        volatile String error;
    }

    public Result run() throws IOException, InterruptedException {
        String move = JSON.createObjectNode().put("vm", o.vm()).put("from", o.from()).put("to", o.to()).put("bandwidth", o.bandwidthMiBps())
                .put("policy", "plain").put("noPlan", true).toString();
        JsonNode job = send(req("/api/v1/jobs").header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(move)).build(), 202);
        String id = job.path("id").asText();
        log.accept("job " + id + " started (" + o.vm() + " " + o.from() + " -> " + o.to() + " at " + o.bandwidthMiBps() + " MiB/s)");

        List<Subscriber> subs = new ArrayList<>();
        ExecutorService readers = Executors.newFixedThreadPool(Math.max(1, o.subscribers()), daemon("bench-sse"));
        CountDownLatch connected = new CountDownLatch(o.subscribers());
        for (int i = 0; i < o.subscribers(); i++) {
            Subscriber s = new Subscriber();
            subs.add(s);
            readers.execute(() -> read(id, s, connected));
        }
        if (!connected.await(60, TimeUnit.SECONDS)) log.accept("not every subscriber connected within 60 s");
        log.accept(o.subscribers() + " subscribers connected; " + o.rate() + " requests/s for " + o.duration().toSeconds() + " s");

        String check = JSON.createObjectNode().put("vm", o.checkVm()).put("from", o.from()).put("to", o.to()).toString();
        List<HttpRequest> kinds = List.of(req("/api/v1/jobs?limit=20").GET().build(), req("/api/v1/jobs/" + id).GET().build(),
                req("/api/v1/checks").header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(check)).build(),
                HttpRequest.newBuilder(o.base().resolve("/metrics")).timeout(Duration.ofSeconds(30)).GET().build());
        String[] names = {"GET /jobs", "GET /jobs/{id}", "POST /checks", "GET /metrics"};
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(daemon("bench-load"));
        AtomicInteger n = new AtomicInteger();
        long total = o.rate() * o.duration().toSeconds();
        if (o.rate() > 0) {
            timer.scheduleAtFixedRate(() -> {
                int i = n.getAndIncrement();
                if (i >= total) return;
                // one request in 25 is a check (2/s at 50/s: the server runs checks one at a time), the rest reads
                int k = i % 25 == 0 ? 2 : new int[] {0, 1, 3}[i % 3];
                long started = System.nanoTime();
                http.sendAsync(kinds.get(k), HttpResponse.BodyHandlers.ofString()).whenComplete((r, err) -> {
                    double ms = (System.nanoTime() - started) / 1e6;
                    latencies.computeIfAbsent(names[k], x -> Collections.synchronizedList(new ArrayList<>())).add(ms);
                    if (err != null || r.statusCode() != 200) {
                        failures.computeIfAbsent(names[k], x -> new AtomicInteger()).incrementAndGet();
                        if (failureSamples.size() < 5) failureSamples.add(names[k] + ": " + (err != null ? err : r.statusCode() + " " + r.body()));
                    }
                });
            }, 0, 1_000_000 / o.rate(), TimeUnit.MICROSECONDS);
        }
        Thread.sleep(o.duration().toMillis());
        timer.shutdown();
        timer.awaitTermination(10, TimeUnit.SECONDS);
        // let the last responses come in
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (done() < Math.min(n.get(), total) && System.nanoTime() < deadline) Thread.sleep(50);

        log.accept("load done; waiting for the job to end");
        JsonNode end = null;
        deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
        while (System.nanoTime() < deadline) {
            end = send(req("/api/v1/jobs/" + id).GET().build(), 200);
            String st = end.path("state").asText();
            if (!st.equals("running") && !st.equals("queued")) break;
            Thread.sleep(500);
        }
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (subs.stream().anyMatch(s -> !s.ended && s.error == null) && System.nanoTime() < deadline) Thread.sleep(100);
        readers.shutdownNow();

        List<Long> store = new ArrayList<>();
        for (JsonNode e : send(req("/api/v1/jobs/" + id + "/timeline").GET().build(), 200).path("events")) store.add(e.path("seq").asLong());
        int complete = 0, mismatched = 0;
        for (Subscriber s : subs) {
            if (s.ended) complete++;
            List<Long> got;
            synchronized (s.seqs) {
                got = List.copyOf(s.seqs);
            }
            if (!got.equals(store)) {
                mismatched++;
                if (failureSamples.size() < 10) failureSamples.add("subscriber got " + got.size() + " events, store has " + store.size()
                        + (s.error != null ? " (" + s.error + ")" : ""));
            }
        }
        List<Stats> stats = new ArrayList<>();
        int failed = 0;
        for (String k : names) {
            List<Double> l;
            List<Double> raw = latencies.getOrDefault(k, List.of());
            synchronized (raw) {
                l = new ArrayList<>(raw);
            }
            Collections.sort(l);
            int f = failures.getOrDefault(k, new AtomicInteger()).get();
            failed += f;
            stats.add(new Stats(k, l.size(), f, pct(l, 50), pct(l, 99), l.isEmpty() ? 0 : l.get(l.size() - 1)));
        }
        failureSamples.forEach(x -> log.accept("  " + x));
        return new Result(id, end == null ? "?" : end.path("state").asText(), stats, subs.size(), complete, mismatched, store.size(), failed);
    }

    private int done() {
        int d = 0;
        for (List<Double> l : latencies.values()) d += l.size();
        return d;
    }

    private static double pct(List<Double> sorted, int p) {
        if (sorted.isEmpty()) return 0;
        int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
    }

    private void read(String id, Subscriber s, CountDownLatch connected) {
        try {
            HttpResponse<java.io.InputStream> r = http.send(req("/api/v1/jobs/" + id + "/events").header("Accept", "text/event-stream")
                    .timeout(Duration.ofMinutes(20)).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
            connected.countDown();
            if (r.statusCode() != 200) {
                s.error = "status " + r.statusCode();
                return;
            }
            try (BufferedReader br = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                String event = null, eventId = null;
                for (String line; (line = br.readLine()) != null; ) {
                    if (line.startsWith("event:")) event = line.substring(6).trim();
                    else if (line.startsWith("id:")) eventId = line.substring(3).trim();
                    else if (line.isEmpty()) {
                        if ("end".equals(event)) {
                            s.ended = true;
                            return;
                        }
                        if (eventId != null) s.seqs.add(Long.parseLong(eventId));
                        event = null;
                        eventId = null;
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            s.error = e.toString();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (connected.getCount() > 0) connected.countDown();
        }
    }

    /** The result as a table. */
    public static List<String> table(Result r) {
        List<String> out = new ArrayList<>();
        out.add(String.format("%-16s %7s %8s %9s %9s %9s", "request", "count", "failed", "p50 ms", "p99 ms", "max ms"));
        for (Stats s : r.requests()) out.add(String.format("%-16s %7d %8d %9.1f %9.1f %9.1f", s.kind(), s.count(), s.failures(), s.p50(), s.p99(), s.max()));
        out.add("subscribers: " + r.subscribers() + ", complete (got 'end'): " + r.subscribersComplete() + ", events differing from the store's "
                + r.storeEvents() + ": " + r.subscribersMismatched() + "; job " + r.jobId() + " " + r.jobState());
        return out;
    }

    /** For callers that only want the per-kind p50s. */
    public static Map<String, Double> p50s(Result r) {
        Map<String, Double> m = new TreeMap<>();
        r.requests().forEach(s -> m.put(s.kind(), s.p50()));
        return m;
    }
}
