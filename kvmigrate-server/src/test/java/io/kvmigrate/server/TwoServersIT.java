package io.kvmigrate.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.Poll;
import io.kvmigrate.lab.guest.TestGuest;
import io.kvmigrate.libvirt.DomainXmlRewriter;
import io.kvmigrate.store.JobStores;
import io.kvmigrate.store.TestPostgres;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Two servers on one real PostgreSQL with the lab: the same VM submitted through both at once is queued once (the store's
 * VM lock); a server killed with SIGKILL in the middle of a move has its job adopted by the other (its periodic
 * reconciliation), which sees it to its end with the VM on exactly one host.
 */
class TwoServersIT {
    private static final TestGuest.Params SLOW = TestGuest.Params.defaults().withSpanMiB(64).withDelay(50_000_000).withContent(TestGuest.Content.RANDOM);

    private static String move(String vm) {
        return "{\"vm\": \"" + vm + "\", \"from\": \"" + ServerLab.host(0).name() + "\", \"to\": \"" + ServerLab.host(1).name()
                + "\", \"bandwidth\": 4, \"policy\": \"plain\", \"noPlan\": true, \"timeout\": 300}";
    }

    @Test
    void twoServersOnePostgres_oneRunPerVmAndAKilledServersJobAdoptedByTheOther() throws Exception {
        ServerLab.lab();
        String url = TestPostgres.newSchemaUrl();
        LabVm.Definition d = ServerLab.startGuest("srv-two", SLOW);
        // server B: a process of its own, killed below; server A: in this JVM, reconciling every second and running no queued
        // moves itself (workers 0), so that the move queued through B is B's to run when B is killed
        ServerProcess b = new ServerProcess("server B", url, 1000, KvmigrateServer.Config.DEFAULT_WORKERS);
        Kvmigrate ka = Kvmigrate.configure().connector(ServerLab.CONNECTOR).rewriter(new DomainXmlRewriter()).store(JobStores.open(url)).load();
        String token = ApiToken.loadOrCreate(HostRegistry.defaultConfigDir()).value();
        try (KvmigrateServer a = new KvmigrateServer(ka, ServerLab.CONNECTOR, HostRegistry.fromEnvironment(), ApiToken.of(token),
                new KvmigrateServer.Config("127.0.0.1", 0, null, null, null, Duration.ofSeconds(1)).withWorkers(0)).start()) {
            Http apiA = new Http(a.baseUrl(), token);
            Http apiB = new Http(b.baseUrl(), token);

            // the same VM through both servers at once: one runs, the other is refused with VM_BUSY
            Http.Response viaB = apiB.post("/api/v1/jobs", move(d.name()));
            Http.Response viaA = apiA.post("/api/v1/jobs", move(d.name()));
            assertThat(viaB.status()).isEqualTo(202);
            assertThat(viaA.status()).isEqualTo(409);
            assertThat(viaA.json().at("/error/code").asText()).isEqualTo("VM_BUSY");
            String id = viaB.json().path("id").asText();
            assertThat(viaA.json().at("/error/jobId").asText()).isEqualTo(id);
            // B claimed and runs it; A sees B's job and its events through the shared store
            assertThat(Poll.until(Duration.ofSeconds(60), Duration.ofMillis(100), () -> ka.events(id, 0).stream()
                    .filter(e -> e.type().equals(JobEvent.PROGRESS)).count() >= 2)).isTrue();
            String ownerB = ka.job(id).orElseThrow().owner();

            assertThat(ownerB).isNotEqualTo(ka.ownerId());
            b.close(); // SIGKILL: no clean-up of any kind
            assertThat(b.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            long killed = System.nanoTime();
            assertThat(ServerLab.vmNames(0)).contains(d.name() + ":RUNNING:true"); // the hypervisor job goes on, unwatched

            // A adopts it within the lease (10 s) and sees it to its end
            assertThat(Poll.until(Duration.ofSeconds(20), Duration.ofMillis(100), () -> {
                Job j = ka.job(id).orElseThrow();
                return j.state().isTerminal() || !ownerB.equals(j.owner());
            })).as("adopted within 20 s of the kill").isTrue();
            System.out.printf("[two servers] job %s taken over %.1f s after the kill%n", id, (System.nanoTime() - killed) / 1e9);
            assertThat(Poll.until(Duration.ofSeconds(300), Duration.ofMillis(500), () -> ka.job(id).orElseThrow().state().isTerminal())).isTrue();
            Job end = ka.job(id).orElseThrow();
            assertThat(end.state().name()).as(String.valueOf(end.error())).isEqualTo("SUCCEEDED");
            assertThat(end.placement().runningOn()).containsExactly(ServerLab.host(1).name());
            assertThat(ServerLab.vmNames(1)).contains(d.name() + ":RUNNING:true");
            assertThat(ServerLab.vmNames(0)).noneMatch(n -> n.startsWith(d.name() + ":"));
            // the whole timeline is in the store, B's part and A's
            assertThat(apiA.get("/api/v1/jobs/" + id + "/timeline").json().path("events").size()).isEqualTo(ka.events(id, 0).size());
        } finally {
            b.close();
            ka.close();
            ServerLab.removeEverywhere(d.name());
        }
    }
}
