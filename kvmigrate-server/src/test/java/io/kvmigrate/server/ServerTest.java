package io.kvmigrate.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.job.JobFilter;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.core.model.DiskSpec;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.InMemoryJobStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server on loopback over the fake hypervisor and the in-memory store: auth, bad input, conflicts, event streams, metrics. */
@org.junit.jupiter.api.Timeout(60)
class ServerTest {
    private static final JobStats DONE = new JobStats(900, 1 << 20, 1 << 20, 0, 1 << 20, 1 << 20, 0, 100 << 20, 0, 4096, 2, 30, 0, 0, 0, 0, 0);
    @TempDir Path config;
    private final FakeHypervisor hv = new FakeHypervisor();
    private final InMemoryJobStore store = new InMemoryJobStore();
    private FakeHypervisor.FakeHost src;
    private Kvmigrate k;
    private KvmigrateServer server;
    private Http api;
    private ApiToken token;
    private HostRegistry registry;

    @BeforeEach
    void start() {
        src = hv.addHost("a");
        hv.addHost("b");
        hv.shareDirectory("/nfs");
        src.put(new VmSpec("web", "uuid-web", "kvm", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", 1 << 20, 1, null,
                List.of(new DiskSpec("vda", "disk", "file", "/nfs/web.img", "raw", null, null, false, false)), List.of(), List.of(), "<domain/>"),
                VmState.RUNNING, true);
        src.putFile("/nfs/web.img", new byte[4096]);
        registry = new HostRegistry(config);
        registry.add("a", "qemu+tcp://a/system");
        registry.add("b", "qemu+tcp://b/system");
        k = Kvmigrate.configure().connector(hv).rewriter((xml, disks, nets) -> xml).store(store).pollInterval(Duration.ofMillis(20)).load();
        token = ApiToken.loadOrCreate(config);
        server = new KvmigrateServer(k, hv, registry, token, new KvmigrateServer.Config("127.0.0.1", 0, null, null, Duration.ofMillis(50), null))
                .start();
        api = new Http(server.baseUrl(), token.value());
    }

    @AfterEach
    void stop() {
        server.close();
        k.close();
    }

    private static void await(BooleanSupplier c) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not met within 20 s");
            java.util.concurrent.locks.LockSupport.parkNanos(10_000_000);
        }
    }

    private static final String MOVE = "{\"vm\": \"web\", \"from\": \"a\", \"to\": \"b\", \"policy\": \"plain\", \"noPlan\": true}";

    @Test
    void token_madeAtFirstStart_isOwnerOnlyAndStable() throws Exception {
        Path f = config.resolve(ApiToken.FILE);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo("rw-------");
        assertThat(ApiToken.loadOrCreate(config).value()).isEqualTo(token.value()).hasSize(64);
    }

    @Test
    void api_withoutOrWithWrongToken_401AndNothingReadOrChanged() {
        for (Http h : List.of(api.withToken(null), api.withToken("wrong"), api.withToken(token.value() + "0"), api.withToken(token.value().substring(1)))) {
            Http.Response r = h.post("/api/v1/jobs", MOVE);
            assertThat(r.status()).isEqualTo(401);
            assertThat(r.json().at("/error/code").asText()).isEqualTo("UNAUTHORIZED");
            assertThat(h.post("/api/v1/hosts", "{\"name\": \"c\", \"uri\": \"qemu+tcp://c/system\"}").status()).isEqualTo(401);
            assertThat(h.delete("/api/v1/hosts/a").status()).isEqualTo(401);
            assertThat(h.get("/api/v1/jobs").status()).isEqualTo(401);
            assertThat(h.get("/api/v1/openapi.json").status()).isEqualTo(401);
            assertThat(h.get("/api/v1/no-such-thing").status()).isEqualTo(401);
            assertThat(h.get("/ui/../api/v1/jobs").status()).isEqualTo(401);
        }
        assertThat(k.jobs(JobFilter.all())).isEmpty();
        assertThat(registry.list()).extracting(r -> r.name()).containsExactly("a", "b");
        assertThat(src.lastMigration).isNull();
        // public: metrics and the UI
        assertThat(api.withToken(null).get("/metrics").status()).isEqualTo(200);
        assertThat(api.withToken(null).get("/ui/index.html").status()).isEqualTo(200);
    }

    @Test
    void postJobs_badBodies_400NamingTheFieldAndNoJob() {
        record Bad(String body, String field) {
        }
        for (Bad b : List.of(new Bad("{\"vm\": \"web\", \"from\": \"a\", \"to\": \"b\", \"bandwith\": 5}", "bandwith"),
                new Bad("{\"vm\": \"web\", \"from\": \"a\", \"to\": ", "to"),
                new Bad("{\"vm\": \"web\", \"from\": \"a\", \"to\": \"b\", \"bandwidth\": \"fast\"}", "bandwidth"),
                new Bad("{\"vm\": \"web\", \"from\": \"a\", \"to\": \"b\", \"bandwidth\": 1.5}", "bandwidth"),
                new Bad("{\"vm\": \"web\", \"from\": \"a\", \"to\": \"b\", \"maxDowntime\": -1}", "maxDowntime"),
                new Bad("{\"vm\": \"web\", \"from\": \"a\", \"to\": \"b\", \"policy\": \"yolo\"}", "policy"),
                new Bad("{\"vm\": \"web\", \"from\": \"a\", \"to\": \"b\", \"parallel\": 2, \"policy\": \"finish\"}", "parallel"),
                new Bad("{\"vm\": \"web\", \"from\": \"nowhere\", \"to\": \"b\"}", "from"),
                new Bad("{\"vm\": \"web\", \"from\": \"a\"}", "to"),
                new Bad("{\"vm\": \"web\", \"from\": \"a\", \"to\": \"b\", \"timeout\": 0}", "timeout"),
                new Bad("{\"vm\": \"a/b\", \"from\": \"a\", \"to\": \"b\"}", "vm"),
                new Bad("{\"vm\": \"web\", \"from\": \"a\", \"to\": \"b\", \"migrationAddress\": \"tcp://10.0.0.2\"}", "migrationAddress"),
                new Bad("{\"vm\": \"web\", \"from\": \"a\", \"to\": \"b\", \"migrationListen\": \"10.0.0.2\"}", "migrationListen"),
                new Bad("{\"vm\": \"web\", \"from\": \"a\", \"to\": \"b\", \"tls\": \"yes\"}", "tls"),
                new Bad("[1, 2]", "body"), new Bad("", "body"), new Bad("{\"vm\": \"web\", \"vm\": \"x\", \"from\": \"a\", \"to\": \"b\"}", "vm"))) {
            Http.Response r = api.post("/api/v1/jobs", b.body());
            assertThat(r.status()).as(b.body()).isEqualTo(400);
            assertThat(r.json().at("/error/field").asText()).as(r.body()).isEqualTo(b.field());
            assertThat(r.json().at("/error/message").asText()).as(r.body()).isNotBlank();
        }
        assertThat(k.jobs(JobFilter.all())).isEmpty();
        assertThat(src.lastMigration).isNull();
        assertThat(api.get("/api/v1/jobs?state=sleeping").json().at("/error/field").asText()).isEqualTo("state");
        assertThat(api.get("/api/v1/jobs?color=red").json().at("/error/field").asText()).isEqualTo("color");
    }

    @Test
    void postJobs_twiceForOneVm_one202AndOne409NamingTheHolder() {
        Http.Response first = api.post("/api/v1/jobs", MOVE);
        assertThat(first.status()).isEqualTo(202);
        String id = first.json().path("id").asText();
        await(() -> src.lastMigration != null);
        Http.Response second = api.post("/api/v1/jobs", MOVE);
        assertThat(second.status()).isEqualTo(409);
        assertThat(second.json().at("/error/code").asText()).isEqualTo("VM_BUSY");
        assertThat(second.json().at("/error/jobId").asText()).isEqualTo(id);
        src.lastMigration.succeed(DONE);
        await(() -> "succeeded".equals(api.get("/api/v1/jobs/" + id).json().path("state").asText()));
        assertThat(api.get("/api/v1/jobs?state=succeeded").json().path("jobs")).hasSize(1);
        assertThat(api.get("/api/v1/jobs?vm=web&limit=10").json().path("jobs")).hasSize(2);
        assertThat(api.post("/api/v1/jobs/" + id + "/cancel", "").status()).isEqualTo(409);
        assertThat(api.get("/api/v1/jobs/j-nope").status()).isEqualTo(404);
        await(() -> api.withToken(null).get("/metrics").body().contains("kvmigrate_migration_duration_seconds_count{kind=\"live\"} 1"));
        assertThat(api.withToken(null).get("/metrics").body()).contains("kvmigrate_jobs{state=\"succeeded\"} 1", "kvmigrate_jobs{state=\"failed\"} 1");
    }

    @Test
    void jobEvents_subscriberThatComesMidJob_getsThePastFirstThenLiveThenEnd() throws Exception {
        String id = api.post("/api/v1/jobs", MOVE).json().path("id").asText();
        await(() -> src.lastMigration != null);
        long pastSeq = k.events(id, 0).size();
        assertThat(pastSeq).isPositive();
        try (Http.Sse sse = api.sse("/api/v1/jobs/" + id + "/events"); Http.Sse all = api.sse("/api/v1/events")) {
            assertThat(sse.status).isEqualTo(200);
            await(() -> sse.snapshot().size() >= pastSeq);
            assertThat(metricsGauge("kvmigrate_active_migrations{host=\"a\",role=\"source\"}")).isEqualTo("1");
            src.lastMigration.succeed(DONE);
            await(() -> sse.ended);
            List<Http.Event> got = sse.snapshot();
            Http.Event end = got.get(got.size() - 1);
            assertThat(end.name()).isEqualTo("end");
            assertThat(end.json().path("state").asText()).isEqualTo("succeeded");
            List<Long> seqs = got.subList(0, got.size() - 1).stream().map(e -> Long.parseLong(e.id())).toList();
            // exactly the store's timeline, in order: the past ones first, then the rest
            assertThat(seqs).isEqualTo(k.events(id, 0).stream().map(e -> e.seq()).toList());
            assertThat(got.get(0).json().path("seq").asLong()).isEqualTo(1);
            await(() -> all.snapshot().stream().anyMatch(e -> e.name().equals("end")));
            assertThat(all.snapshot()).extracting(Http.Event::id).allMatch(s -> s.startsWith(id + "/"));
        }
        try (Http.Sse bad = api.new Sse("/api/v1/jobs/" + id + "/events", "three")) {
            assertThat(bad.status).isEqualTo(400);
        }
        try (Http.Sse none = api.sse("/api/v1/jobs/j-20200101-000000-000000/events")) {
            assertThat(none.status).isEqualTo(404);
        }
        // a reconnect with Last-Event-ID gets only what came after it
        try (Http.Sse again = api.new Sse("/api/v1/jobs/" + id + "/events", "3")) {
            await(() -> again.ended);
            List<Http.Event> got = again.snapshot();
            assertThat(got.get(0).id()).isEqualTo("4");
            assertThat(got.get(got.size() - 1).name()).isEqualTo("end");
        }
    }

    private String metricsGauge(String series) {
        for (String line : api.withToken(null).get("/metrics").body().split("\n")) {
            if (line.startsWith(series + " ")) return line.substring(series.length() + 1).replace(".0", "");
        }
        return null;
    }

    @Test
    void checksAndPlans_runTheFacadesCheckAndPlanAndRecordNothing() {
        Http.Response check = api.post("/api/v1/checks", "{\"vm\": \"web\", \"from\": \"a\", \"to\": \"b\"}");
        assertThat(check.status()).isEqualTo(200);
        assertThat(check.json().path("mode").asText()).isEqualTo("live");
        assertThat(check.json().path("findings").size()).isPositive();
        assertThat(check.json().has("ok")).isTrue();
        assertThat(api.post("/api/v1/checks", "{\"vm\": \"nope\", \"from\": \"a\", \"to\": \"b\"}").json().at("/error/code").asText())
                .isEqualTo("UNKNOWN_VM");
        assertThat(api.post("/api/v1/checks", "{\"vm\": \"web\", \"from\": \"a\", \"too\": \"b\"}").json().at("/error/field").asText())
                .isEqualTo("too");
        src.scriptDirtyRate("web", 10);
        Http.Response plan = api.post("/api/v1/plans", "{\"vm\": \"web\", \"from\": \"a\", \"to\": \"b\", \"bandwidth\": 100, \"measure\": true}");
        assertThat(plan.status()).as(plan.body()).isEqualTo(200);
        assertThat(plan.json().path("strategy").asText()).isNotBlank();
        assertThat(k.jobs(JobFilter.all())).isEmpty();
        assertThat(api.withToken(null).get("/metrics").body()).contains("kvmigrate_check_duration_seconds_count 2");
    }

    @Test
    void openapi_describesEveryRoute() {
        JsonNode doc = api.get("/api/v1/openapi.json").json();
        assertThat(doc.path("openapi").asText()).startsWith("3.");
        List<String> paths = new java.util.ArrayList<>();
        doc.path("paths").fieldNames().forEachRemaining(paths::add);
        assertThat(paths).containsExactlyInAnyOrder("/api/v1/hosts", "/api/v1/hosts/{name}", "/api/v1/hosts/{name}/vms", "/api/v1/checks",
                "/api/v1/plans", "/api/v1/jobs", "/api/v1/jobs/{id}", "/api/v1/jobs/{id}/timeline", "/api/v1/jobs/{id}/cancel",
                "/api/v1/jobs/{id}/events", "/api/v1/events", "/api/v1/openapi.json", "/metrics", "/api/v1/evacuations",
                "/api/v1/evacuations/{id}");
        List<String> drainFields = new java.util.ArrayList<>();
        doc.at("/components/schemas/Evacuation/properties").fieldNames().forEachRemaining(drainFields::add);
        assertThat(drainFields).containsExactlyInAnyOrder(java.util.Arrays.stream(Evacuations.EvacuationBody.class.getRecordComponents())
                .map(java.lang.reflect.RecordComponent::getName).toArray(String[]::new));
        // the body schema lists exactly the fields the server reads
        List<String> fields = new java.util.ArrayList<>();
        doc.at("/components/schemas/Move/properties").fieldNames().forEachRemaining(fields::add);
        assertThat(fields).containsExactlyInAnyOrder(java.util.Arrays.stream(Bodies.MoveBody.class.getRecordComponents())
                .map(java.lang.reflect.RecordComponent::getName).toArray(String[]::new));
    }

    @Test
    void hosts_addListRemove() {
        assertThat(api.post("/api/v1/hosts", "{\"name\": \"c\", \"uri\": \"qemu+tcp://c/system\"}").status()).isEqualTo(201);
        assertThat(api.post("/api/v1/hosts", "{\"name\": \"bad name\", \"uri\": \"qemu+tcp://c/system\"}").json().at("/error/field").asText())
                .isEqualTo("name");
        assertThat(api.post("/api/v1/hosts", "{\"name\": \"d\", \"uri\": \"http://x\"}").json().at("/error/field").asText()).isEqualTo("uri");
        JsonNode hosts = api.get("/api/v1/hosts").json().path("hosts");
        assertThat(hosts).hasSize(3);
        assertThat(hosts.get(0).path("reachable").asBoolean()).isTrue();
        assertThat(hosts.get(2).path("reachable").asBoolean()).isFalse(); // c: no such fake host
        assertThat(api.get("/api/v1/hosts/a/vms").json().at("/vms/0/name").asText()).isEqualTo("web");
        assertThat(api.get("/api/v1/hosts/zz/vms").status()).isEqualTo(404);
        assertThat(api.delete("/api/v1/hosts/c").status()).isEqualTo(204);
        assertThat(api.delete("/api/v1/hosts/c").status()).isEqualTo(404);
    }
}
