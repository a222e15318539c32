package io.kvmigrate.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.staticfiles.Location;
import io.kvmigrate.core.api.ClaimLoop;
import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.api.MoveRequest;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobFilter;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.core.model.DiskSpec;
import io.kvmigrate.core.model.HostFacts;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.HypervisorConnector;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * {@code kvmigrate serve}: the REST API under {@code /api/v1}, server-sent events of jobs, Prometheus metrics at
 * {@code /metrics} and the web UI under {@code /ui/}, on the facade only (no migration logic here).
 *
 * <p>Every path but {@code /metrics}, {@code /}, {@code /ui/...} and {@code /webjars/...} needs the bearer token, checked
 * before any route runs (an unknown path without the token is a 401, not a 404, so nothing about the API is read without
 * it). Errors are {@code {"error": {"code", "message", "hint", ...}}} with the core's {@link ErrorCode} names.
 */
public final class KvmigrateServer implements AutoCloseable {
    /**
     * Where to listen; {@code tlsCert}/{@code tlsKey} are PEM files (both or neither); {@code workers}: how many queued moves
     * this server runs at once (0: it runs none, other servers on the store do).
     */
    public record Config(String host, int port, Path tlsCert, Path tlsKey, Duration eventPoll, Duration reconcileEvery, int workers) {
        public static final String DEFAULT_LISTEN = "127.0.0.1:8470";
        /** Moves a server runs at once unless told: a few, as each live move may take the migration link's bandwidth. */
        public static final int DEFAULT_WORKERS = 4;
        public static final int MAX_WORKERS = 64;

        public Config {
            Objects.requireNonNull(host, "host");
            if ((tlsCert == null) != (tlsKey == null)) {
                throw KvmigrateException.invalidInput("--tls-cert and --tls-key go together.", "Give both PEM files, or neither.");
            }
            if (workers < 0 || workers > MAX_WORKERS) {
                throw KvmigrateException.invalidInput("--workers must be 0.." + MAX_WORKERS + ", got " + workers + ".",
                        "Give how many moves this server runs at once; 0 leaves them to other servers on the same database.");
            }
            if (eventPoll == null) eventPoll = Duration.ofMillis(250);
        }

        public Config(String host, int port, Path tlsCert, Path tlsKey, Duration eventPoll, Duration reconcileEvery) {
            this(host, port, tlsCert, tlsKey, eventPoll, reconcileEvery, DEFAULT_WORKERS);
        }

        /** The same, reconciling the jobs of dead controllers every {@code every} (null: never). */
        public Config withReconcileEvery(Duration every) {
            return new Config(host, port, tlsCert, tlsKey, eventPoll, every, workers);
        }

        /** The same, running at most {@code n} queued moves at once. */
        public Config withWorkers(int n) {
            return new Config(host, port, tlsCert, tlsKey, eventPoll, reconcileEvery, n);
        }

        /** {@code HOST:PORT} ({@code [v6]:PORT} for IPv6), checked. */
        public static Config listen(String listen, Path tlsCert, Path tlsKey) {
            Matcher m = Pattern.compile("(\\[[0-9A-Fa-f:.]+]|[A-Za-z0-9.-]+):([0-9]{1,5})").matcher(listen == null ? "" : listen);
            if (!m.matches() || Integer.parseInt(m.group(2)) > 65535) {
                throw KvmigrateException.invalidInput("--listen must be HOST:PORT (e.g. 127.0.0.1:8470), got '" + listen + "'.",
                        "Give an address and a port; 0.0.0.0 listens on every interface.");
            }
            String host = m.group(1).startsWith("[") ? m.group(1).substring(1, m.group(1).length() - 1) : m.group(1);
            return new Config(host, Integer.parseInt(m.group(2)), tlsCert, tlsKey, null, null, DEFAULT_WORKERS);
        }
    }

    private static final Pattern JOB_ID = Pattern.compile("j-[0-9]{8}-[0-9]{6}-[0-9a-f]+");

    private final Kvmigrate k;
    private final HypervisorConnector connector;
    private final HostRegistry registry;
    private final ApiToken token;
    private final Config config;
    private final ServerMetrics metrics;
    private final EventFeed feed;
    private final ExecutorService hostQueries = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "kvmigrate-host-query");
        t.setDaemon(true);
        return t;
    });
    private final java.util.concurrent.ScheduledExecutorService background = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kvmigrate-reconcile");
        t.setDaemon(true);
        return t;
    });
    private final String openapi;
    private final Javalin app;
    private final Checks checks;
    private volatile ClaimLoop claims;

    public KvmigrateServer(Kvmigrate k, HypervisorConnector connector, HostRegistry registry, ApiToken token, Config config) {
        this.k = k;
        this.connector = connector;
        this.registry = registry;
        this.token = token;
        this.config = config;
        this.metrics = new ServerMetrics(k, () -> {
            ClaimLoop c = claims;
            return c == null ? 0 : c.running();
        }, config.workers());
        this.feed = new EventFeed(k, config.eventPoll());
        this.openapi = resource("/openapi.json");
        this.checks = new Checks(k, metrics);
        this.app = Javalin.create(c -> {
            c.showJavalinBanner = false;
            c.staticFiles.add(s -> {
                s.hostedPath = "/ui";
                s.directory = "/public";
                s.location = Location.CLASSPATH;
            });
            c.staticFiles.enableWebjars();
            if (config.tlsCert() != null) {
                var ks = Pem.keyStore(config.tlsCert(), config.tlsKey());
                c.jetty.addConnector((server, http) -> {
                    SslContextFactory.Server ssl = new SslContextFactory.Server();
                    ssl.setKeyStore(ks);
                    ssl.setKeyStorePassword(Pem.PASSWORD);
                    http.addCustomizer(new SecureRequestCustomizer(false));
                    ServerConnector sc = new ServerConnector(server, new SslConnectionFactory(ssl, "http/1.1"), new HttpConnectionFactory(http));
                    sc.setHost(config.host());
                    sc.setPort(config.port());
                    return sc;
                });
            }
        });
        routes();
    }

    private static String resource(String name) {
        try (InputStream in = KvmigrateServer.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException(name + " is missing from the jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Starts listening (and, if configured, reconciling); returns this. */
    public KvmigrateServer start() {
        if (config.reconcileEvery() != null) {
            long ms = config.reconcileEvery().toMillis();
            background.scheduleWithFixedDelay(() -> {
                try {
                    k.reconcile().forEach(o -> org.slf4j.LoggerFactory.getLogger(KvmigrateServer.class).info("job {} (VM {}) of a controller that stopped: {}, {}",
                            o.jobId(), o.vm(), o.action(), o.detail()));
                } catch (RuntimeException e) {
                    org.slf4j.LoggerFactory.getLogger(KvmigrateServer.class).warn("reconcile: {}", e.toString());
                }
            }, ms, ms, TimeUnit.MILLISECONDS);
        }
        if (config.tlsCert() != null) app.start();
        else app.start(config.host(), config.port());
        // queued moves: this server's own at once, other servers' at the next poll; its figures go to this server's metrics
        claims = ClaimLoop.start(k, config.workers(), ClaimLoop.DEFAULT_POLL)
                .onClaimed(h -> h.outcome().whenComplete((ok, err) -> k.job(h.id()).ifPresent(metrics::jobEnded)))
                .onError(e -> org.slf4j.LoggerFactory.getLogger(KvmigrateServer.class).warn("claiming queued jobs: {}", e.toString()));
        return this;
    }

    /** The port listened on (the real one when the config said 0). */
    public int port() {
        for (Connector c : app.jettyServer().server().getConnectors()) {
            if (c instanceof ServerConnector sc) return sc.getLocalPort();
        }
        return app.port();
    }

    /** How many listening connectors the server has (one: plain HTTP, or TLS only). */
    int connectors() {
        return app.jettyServer().server().getConnectors().length;
    }

    public String baseUrl() {
        String h = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        return (config.tlsCert() != null ? "https" : "http") + "://" + h + ":" + port();
    }

    /** Public paths: the metrics, the UI and its libraries; everything else needs the token. */
    static boolean isPublic(String path) {
        return path.equals("/metrics") || path.equals("/") || path.equals("/ui") || path.startsWith("/ui/") || path.startsWith("/webjars/");
    }

    private void routes() {
        app.before(ctx -> {
            // both the raw URI and the decoded, normalised path must be public: /ui/../api/v1/jobs is not
            String raw = ctx.req().getRequestURI();
            String normal = Objects.toString(ctx.req().getServletPath(), "") + Objects.toString(ctx.req().getPathInfo(), "");
            if (isPublic(raw) && isPublic(normal) && !raw.contains("..") && !raw.contains("%")) return;
            if (!token.accepts(ctx.header("Authorization"))) {
                ctx.header("WWW-Authenticate", "Bearer realm=\"kvmigrate\"");
                throw new ApiException(401, "UNAUTHORIZED", ctx.header("Authorization") == null ? "No token given."
                        : "The token is not valid.", "Send 'Authorization: Bearer TOKEN'; 'kvmigrate serve --print-token' prints it.", null);
            }
        });
        app.after(ctx -> metrics.request(ctx.method().name(), ctx.statusCode()));
        app.exception(ApiException.class, (e, ctx) -> ctx.status(e.status()).json(Json.error(e)));
        app.exception(KvmigrateException.class, (e, ctx) -> {
            ObjectNode body = Json.error(e);
            if (e.code() == ErrorCode.VM_BUSY) {
                Matcher m = JOB_ID.matcher(String.valueOf(e.getMessage()));
                if (m.find()) ((ObjectNode) body.get("error")).put("jobId", m.group());
            }
            ctx.status(Json.status(e.code())).json(body);
        });
        app.exception(Exception.class, (e, ctx) -> {
            org.slf4j.LoggerFactory.getLogger(KvmigrateServer.class).error("{} {}", ctx.method(), ctx.path(), e);
            ctx.status(500).json(Json.error(new ApiException(500, "INTERNAL", e.toString(), "This is a bug; please report it.", null)));
        });
        app.error(404, ctx -> {
            if (ctx.result() == null || !ctx.result().startsWith("{\"error\"")) {
                ctx.json(Json.error(new ApiException(404, "NOT_FOUND", "No such resource: " + ctx.method() + " " + ctx.path() + ".",
                        "See /api/v1/openapi.json.", null)));
            }
        });

        app.get("/", ctx -> ctx.redirect("/ui/"));
        app.get("/metrics", ctx -> ctx.contentType(ServerMetrics.contentType()).result(metrics.scrape()));
        app.get("/api/v1/openapi.json", ctx -> ctx.contentType("application/json").result(openapi));

        app.get("/api/v1/hosts", this::listHosts);
        app.post("/api/v1/hosts", ctx -> {
            Bodies.HostBody b = Bodies.read(ctx.bodyAsBytes(), Bodies.HostBody.class);
            if (b.name() == null) throw ApiException.badField("name", "Field \"name\" is missing.", null);
            if (b.uri() == null) throw ApiException.badField("uri", "Field \"uri\" is missing.", null);
            try {
                HostRef.validateUri(b.uri());
            } catch (KvmigrateException e) {
                throw ApiException.badField("uri", e.getMessage(), e.hint());
            }
            try {
                registry.add(b.name(), b.uri());
            } catch (KvmigrateException e) {
                if (e.code() == ErrorCode.INVALID_INPUT) throw ApiException.badField("name", e.getMessage(), e.hint());
                throw e;
            }
            ctx.status(201).json(Json.MAPPER.createObjectNode().put("name", b.name()).put("uri", b.uri()));
        });
        app.delete("/api/v1/hosts/{name}", ctx -> {
            String name = ctx.pathParam("name");
            if (!registry.remove(name)) throw unknownHost(name);
            ctx.status(204);
        });
        app.get("/api/v1/hosts/{name}/vms", this::listVms);

        app.post("/api/v1/checks", ctx -> {
            Bodies.MoveBody b = Bodies.read(ctx.bodyAsBytes(), Bodies.MoveBody.class);
            ctx.json(checks.check(Moves.request(b, registry), b.offline()));
        });
        app.post("/api/v1/plans", ctx -> ctx.json(checks.plan(Moves.request(Bodies.read(ctx.bodyAsBytes(), Bodies.MoveBody.class), registry))));

        Evacuations.register(app, k, registry);
        app.post("/api/v1/jobs", this::submit);
        app.get("/api/v1/jobs", this::listJobs);
        app.get("/api/v1/jobs/{id}", ctx -> ctx.json(Json.job(job(ctx.pathParam("id")))));
        app.get("/api/v1/jobs/{id}/timeline", ctx -> {
            Job j = job(ctx.pathParam("id"));
            ObjectNode root = Json.job(j);
            ArrayNode arr = root.putArray("events");
            k.events(j.id(), 0).forEach(e -> arr.add(Json.event(e)));
            ctx.json(root);
        });
        app.post("/api/v1/jobs/{id}/cancel", ctx -> {
            Job j = job(ctx.pathParam("id"));
            if (j.state().isTerminal()) {
                throw new ApiException(409, "JOB_ENDED", "Job " + j.id() + " has already ended (" + j.state().name().toLowerCase(Locale.ROOT)
                        + ").", "Nothing to cancel.", Map.of("job", Json.MAPPER.convertValue(Json.job(j), Map.class)));
            }
            ctx.status(202).json(Json.job(k.cancel(j.id()).orElse(j)));
        });
        // the job must exist and Last-Event-ID be a seq before the stream starts (an SSE response is committed with 200 at once)
        app.before("/api/v1/jobs/{id}/events", ctx -> {
            job(ctx.pathParam("id"));
            lastEventId(ctx.header("Last-Event-ID"));
        });
        app.sse("/api/v1/jobs/{id}/events", client -> {
            client.keepAlive();
            long after = lastEventId(client.ctx().header("Last-Event-ID"));
            feed.subscribe(client.ctx().pathParam("id"), after, sink(client));
        });
        app.sse("/api/v1/events", client -> {
            client.keepAlive();
            feed.subscribeAll(sink(client));
        });
    }

    private static long lastEventId(String header) {
        if (header == null || header.isBlank()) return 0;
        try {
            return Math.max(0, Long.parseLong(header.trim()));
        } catch (NumberFormatException e) {
            throw ApiException.badField("Last-Event-ID", "Header Last-Event-ID must be an event's seq, got '" + header + "'.", null);
        }
    }

    private static EventFeed.Sink sink(io.javalin.http.sse.SseClient client) {
        return new EventFeed.Sink() {
            @Override
            public boolean send(String event, String id, String data) {
                if (client.terminated()) return false;
                if (event == null) client.sendComment("keep-alive");
                else if (id == null) client.sendEvent(event, data);
                else client.sendEvent(event, data, id);
                return !client.terminated();
            }

            @Override
            public void close() {
                client.close();
            }
        };
    }

    private Job job(String id) {
        return k.job(id).orElseThrow(() -> new ApiException(404, "UNKNOWN_JOB", "No job '" + id + "'.", "GET /api/v1/jobs lists the jobs.", null));
    }

    private static KvmigrateException unknownHost(String name) {
        return new KvmigrateException(ErrorCode.UNKNOWN_HOST, "hosts", name, null, "No host named '" + name + "' is registered.",
                "GET /api/v1/hosts lists the registered hosts.");
    }

    /** Queues the move (refused at once, nothing queued: bad input, VM_BUSY); a server's claim loop runs it, this one's first. */
    private void submit(Context ctx) {
        MoveRequest request = Moves.request(Bodies.read(ctx.bodyAsBytes(), Bodies.MoveBody.class), registry);
        Job queued = k.enqueue(request);
        Job j = k.job(queued.id()).orElse(queued);
        ctx.status(202).header("Location", "/api/v1/jobs/" + j.id()).json(Json.job(j));
    }

    private void listJobs(Context ctx) {
        for (String p : ctx.queryParamMap().keySet()) {
            if (!List.of("vm", "host", "state", "limit").contains(p)) {
                throw ApiException.badField(p, "Unknown query parameter \"" + p + "\".", "Filters: vm, host, state, limit.");
            }
        }
        JobFilter f = JobFilter.all().vm(ctx.queryParam("vm")).host(ctx.queryParam("host"));
        String state = ctx.queryParam("state");
        if (state != null) {
            try {
                f = f.state(JobState.valueOf(state.toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw ApiException.badField("state", "\"state\" must be one of queued, running, succeeded, failed, cancelled, interrupted; got '"
                        + state + "'.", null);
            }
        }
        String limit = ctx.queryParam("limit");
        int n = 100;
        if (limit != null) {
            try {
                n = Integer.parseInt(limit);
            } catch (NumberFormatException e) {
                n = -1;
            }
            if (n < 1 || n > 10_000) throw ApiException.badField("limit", "\"limit\" must be 1..10000, got '" + limit + "'.", null);
        }
        ObjectNode root = Json.MAPPER.createObjectNode();
        ArrayNode arr = root.putArray("jobs");
        k.jobs(f.limit(n)).forEach(j -> arr.add(Json.job(j)));
        ctx.json(root);
    }

    private void listHosts(Context ctx) {
        List<HostRef> hosts = registry.list();
        List<CompletableFuture<ObjectNode>> rows = hosts.stream().map(h -> CompletableFuture.supplyAsync(() -> {
            ObjectNode n = Json.MAPPER.createObjectNode();
            n.put("name", h.name());
            n.put("uri", h.uri());
            try (HostSession s = connector.open(h)) {
                HostFacts f = s.facts();
                n.put("reachable", true);
                n.put("hostname", f.hostname());
                n.put("libvirtVersion", HostFacts.version(f.libvirtVersion()));
                n.put("qemuVersion", HostFacts.version(f.hypervisorVersion()));
                n.put("arch", f.arch());
                n.put("cpuVendor", f.cpuVendor());
                n.put("cpuModel", f.cpuModel());
                n.put("cpus", f.cpus());
                n.put("memoryKiB", f.memoryKiB());
                n.put("freeMemoryKiB", f.freeMemoryKiB());
                n.put("runningVms", f.runningVms());
            } catch (KvmigrateException e) {
                n.put("reachable", false);
                n.put("error", e.getMessage());
            }
            return n;
        }, hostQueries)).toList();
        ObjectNode root = Json.MAPPER.createObjectNode();
        ArrayNode arr = root.putArray("hosts");
        for (var f : rows) arr.add(f.join());
        ctx.json(root);
    }

    private void listVms(Context ctx) {
        String name = ctx.pathParam("name");
        HostRef h = registry.find(name).orElseThrow(() -> unknownHost(name));
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("host", h.name());
        ArrayNode arr = root.putArray("vms");
        try (HostSession s = connector.open(h)) {
            for (VmInfo v : s.listVms()) {
                ObjectNode n = arr.addObject();
                n.put("name", v.name());
                n.put("uuid", v.spec().uuid());
                n.put("state", v.state().name().toLowerCase(Locale.ROOT));
                n.put("persistent", v.persistent());
                n.put("memoryKiB", v.spec().memoryKiB());
                n.put("vcpus", v.spec().vcpus());
                ArrayNode disks = n.putArray("disks");
                for (DiskSpec d : v.spec().disks()) {
                    disks.addObject().put("target", d.target()).put("device", d.device()).put("type", d.sourceType())
                            .put("source", d.sourcePath()).put("format", d.format());
                }
            }
        }
        ctx.json(root);
    }

    /** Stops claiming, listening and the event streams; running jobs go on (see {@link Kvmigrate#awaitRunning()}). */
    @Override
    public void close() {
        ClaimLoop c = claims;
        if (c != null) c.close();
        background.shutdownNow();
        feed.close();
        app.stop();
        hostQueries.shutdownNow();
        try {
            hostQueries.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
