package io.kvmigrate.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.core.model.DiskSpec;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.InMemoryJobStore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * POST /api/v1/jobs queues the move; a server's workers claim it from the shared store: two servers over the fake
 * hypervisor and one in-memory store, one with no workers (it only serves the API), one with one.
 */
@org.junit.jupiter.api.Timeout(60)
class ServerQueueTest {
    @TempDir Path config;
    private final FakeHypervisor hv = new FakeHypervisor();
    private final InMemoryJobStore store = new InMemoryJobStore();
    private Kvmigrate front;
    private Kvmigrate back;
    private KvmigrateServer apiOnly;
    private KvmigrateServer worker;
    private Http viaApiOnly;
    private Http viaWorker;

    @BeforeEach
    void start() {
        FakeHypervisor.FakeHost src = hv.addHost("a");
        hv.addHost("b");
        hv.shareDirectory("/nfs");
        for (String vm : List.of("web", "db")) {
            src.put(new VmSpec(vm, "uuid-" + vm, "kvm", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", 1 << 20, 1, null,
                    List.of(new DiskSpec("vda", "disk", "file", "/nfs/" + vm + ".img", "raw", null, null, false, false)), List.of(), List.of(),
                    "<domain/>"), VmState.RUNNING, true);
            src.putFile("/nfs/" + vm + ".img", new byte[4096]);
        }
        hv.completeMigrationsAfter(vm -> Duration.ofMillis(vm.name().equals("db") ? 100 : 3_600_000));
        HostRegistry registry = new HostRegistry(config);
        registry.add("a", "qemu+tcp://a/system");
        registry.add("b", "qemu+tcp://b/system");
        ApiToken token = ApiToken.loadOrCreate(config);
        front = Kvmigrate.configure().connector(hv).rewriter((xml, disks, nets) -> xml).store(store).owner("front:1:aa")
                .pollInterval(Duration.ofMillis(20)).load();
        back = Kvmigrate.configure().connector(hv).rewriter((xml, disks, nets) -> xml).store(store).owner("back:2:bb")
                .pollInterval(Duration.ofMillis(20)).load();
        apiOnly = new KvmigrateServer(front, hv, registry, token, new KvmigrateServer.Config("127.0.0.1", 0, null, null, Duration.ofMillis(50), null)
                .withWorkers(0)).start();
        worker = new KvmigrateServer(back, hv, registry, token, new KvmigrateServer.Config("127.0.0.1", 0, null, null, Duration.ofMillis(50), null)
                .withWorkers(1)).start();
        viaApiOnly = new Http(apiOnly.baseUrl(), token.value());
        viaWorker = new Http(worker.baseUrl(), token.value());
    }

    @AfterEach
    void stop() {
        apiOnly.close();
        worker.close();
        front.close();
        back.close();
    }

    private static void await(BooleanSupplier c) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not met within 20 s");
            java.util.concurrent.locks.LockSupport.parkNanos(10_000_000);
        }
    }

    private static String move(String vm) {
        return "{\"vm\": \"" + vm + "\", \"from\": \"a\", \"to\": \"b\", \"policy\": \"plain\", \"noPlan\": true}";
    }

    @Test
    void postJobs_onAServerWithoutWorkers_queuedAndRunByTheOtherServer_whoClaimedItIsInTheTimeline() {
        Http.Response r = viaApiOnly.post("/api/v1/jobs", move("db"));
        assertThat(r.status()).isEqualTo(202);
        // queued; the other server's poll may have claimed it already by the time the answer is read back
        assertThat(r.json().path("state").asText()).isIn("queued", "running");
        assertThat(r.json().path("owner").isNull() || r.json().path("owner").asText().equals("back:2:bb")).as(r.body()).isTrue();
        String id = r.json().path("id").asText();
        await(() -> "succeeded".equals(viaApiOnly.get("/api/v1/jobs/" + id).json().path("state").asText()));
        JsonNode job = viaApiOnly.get("/api/v1/jobs/" + id).json();
        assertThat(job.path("owner").asText()).isEqualTo("back:2:bb");
        assertThat(front.events(id, 0)).filteredOn(e -> JobEvent.DECISION.equals(e.type()) && "claimed".equals(e.data().get("action")))
                .singleElement().satisfies(e -> assertThat(e.data()).containsEntry("owner", "back:2:bb"));
        // the figures of a job go to the metrics of the server that ran it
        await(() -> viaWorker.withToken(null).get("/metrics").body().contains("kvmigrate_migration_duration_seconds_count{kind=\"live\"} 1"));
        assertThat(viaApiOnly.withToken(null).get("/metrics").body()).doesNotContain("kvmigrate_migration_duration_seconds_count{kind=\"live\"} 1");
    }

    @Test
    void workersBusy_nextMoveWaitsQueued_cancelThroughEitherServerEndsItAndFreesTheVm() {
        String running = viaWorker.post("/api/v1/jobs", move("web")).json().path("id").asText();
        await(() -> "running".equals(viaWorker.get("/api/v1/jobs/" + running).json().path("state").asText()));
        // the one worker is busy: the second move stays queued, with its VM held
        assertThat(viaWorker.withToken(null).get("/metrics").body()).contains("kvmigrate_server_workers{state=\"busy\"} 1",
                "kvmigrate_server_workers{state=\"slots\"} 1");
        assertThat(viaApiOnly.withToken(null).get("/metrics").body()).contains("kvmigrate_server_workers{state=\"slots\"} 0");
        String waiting = viaApiOnly.post("/api/v1/jobs", move("db")).json().path("id").asText();
        assertThat(viaWorker.post("/api/v1/jobs", move("db")).json().at("/error/jobId").asText()).isEqualTo(waiting);
        assertThat(viaWorker.get("/api/v1/jobs/" + waiting).json().path("state").asText()).isEqualTo("queued");
        Http.Response c = viaWorker.post("/api/v1/jobs/" + waiting + "/cancel", "");
        assertThat(c.status()).isEqualTo(202);
        assertThat(c.json().path("state").asText()).isEqualTo("cancelled");
        assertThat(viaApiOnly.post("/api/v1/jobs", move("db")).status()).isEqualTo(202);
        // and the running one is cancelled through the server that does not run it: its owner reads the request from the store
        viaApiOnly.post("/api/v1/jobs/" + running + "/cancel", "");
        await(() -> "cancelled".equals(viaApiOnly.get("/api/v1/jobs/" + running).json().path("state").asText()));
    }
}
