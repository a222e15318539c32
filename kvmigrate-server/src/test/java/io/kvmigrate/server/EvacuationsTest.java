package io.kvmigrate.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.core.model.NicSpec;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.InMemoryJobStore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code POST /api/v1/evacuations} on the fake hypervisor: the dry run changes nothing, the real one is a job of jobs. */
@org.junit.jupiter.api.Timeout(60)
class EvacuationsTest {
    static final long GIB_KIB = 1 << 20;
    @TempDir Path config;
    private final FakeHypervisor hv = new FakeHypervisor();
    private final InMemoryJobStore store = new InMemoryJobStore();
    private FakeHypervisor.FakeHost a;
    private Kvmigrate k;
    private KvmigrateServer server;
    private Http api;

    static VmSpec spec(String name, List<NicSpec> nics) {
        return new VmSpec(name, "uuid-" + name, "kvm", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", GIB_KIB, 1, null, List.of(), nics, List.of(),
                "<domain><name>" + name + "</name></domain>");
    }

    @BeforeEach
    void start() {
        a = hv.addHost("a").withCapacity(16, 64 * GIB_KIB).withNetworks("only-a");
        hv.addHost("b").withCapacity(16, 16 * GIB_KIB);
        hv.addHost("c").withCapacity(16, 16 * GIB_KIB);
        for (int i = 1; i <= 3; i++) a.put(spec("vm" + i, List.of()), VmState.RUNNING, true);
        a.put(spec("pinned", List.of(new NicSpec("network", "only-a", "52:54:00:00:00:01", "virtio"))), VmState.RUNNING, true);
        HostRegistry registry = new HostRegistry(config);
        for (String h : List.of("a", "b", "c")) registry.add(h, "qemu+tcp://" + h + "/system");
        k = Kvmigrate.configure().connector(hv).rewriter((xml, disks, nets) -> xml).store(store).pollInterval(Duration.ofMillis(20)).load();
        ApiToken token = ApiToken.loadOrCreate(config);
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

    @Test
    void post_dryRun_isThePlanWithTheVmThatFitsNowhere_andNothingMoves() {
        Http.Response r = api.post("/api/v1/evacuations", "{\"host\": \"a\", \"maxParallel\": 2, \"dryRun\": true}");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        JsonNode plan = r.json();
        assertThat(plan.path("dryRun").asBoolean()).isTrue();
        List<String> placed = new ArrayList<>();
        plan.path("moves").forEach(m -> placed.add(m.path("vm").asText()));
        assertThat(placed).containsExactlyInAnyOrder("vm1", "vm2", "vm3");
        assertThat(plan.path("unplaced").get(0).path("vm").asText()).isEqualTo("pinned");
        assertThat(plan.path("unplaced").get(0).path("codes").get(0).asText()).isEqualTo("NETWORK_MISSING");
        assertThat(plan.path("targets")).hasSize(2);
        assertThat(hv.migrationPeaks().started()).isZero();
        assertThat(store.jobs(io.kvmigrate.core.job.JobFilter.all())).isEmpty();
    }

    @Test
    void post_runsTheDrainAsAJobOfJobs_visibleThroughTheJobsApi() {
        hv.completeMigrationsAfter(vm -> Duration.ofMillis(30));
        Http.Response r = api.post("/api/v1/evacuations", "{\"host\": \"a\", \"maxParallel\": 2, \"bandwidth\": 100}");
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        String id = r.json().path("jobId").asText();
        await(() -> store.job(id).map(j -> j.state().isTerminal()).orElse(false));
        JsonNode job = api.get("/api/v1/jobs/" + id).json();
        assertThat(job.toString()).contains("EVACUATION");
        assertThat(store.job(id).orElseThrow().state()).isEqualTo(JobState.FAILED); // pinned was left behind
        JsonNode drain = api.get("/api/v1/evacuations/" + id).json();
        assertThat(drain.path("children")).hasSize(3);
        drain.path("children").forEach(c -> assertThat(c.path("state").asText()).isEqualTo("succeeded"));
        assertThat(job.path("kind").asText()).isEqualTo("EVACUATION");
    }

    @Test
    void post_badInput_namesTheBodysField_andNothingIsPlanned() {
        Http.Response r = api.post("/api/v1/evacuations", "{\"host\": \"a\", \"maxParallel\": 0}");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.body()).contains("maxParallel");
        Http.Response unknown = api.post("/api/v1/evacuations", "{\"host\": \"a\", \"parallel\": 2}");
        assertThat(unknown.status()).isEqualTo(400);
        assertThat(unknown.body()).contains("Unknown field");
        assertThat(api.post("/api/v1/evacuations", "{\"maxParallel\": 2}").body()).contains("host");
        assertThat(hv.migrationPeaks().started()).isZero();
    }
}
