package io.kvmigrate.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.core.job.JobFilter;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.Poll;
import io.kvmigrate.lab.guest.TestGuest;
import io.kvmigrate.libvirt.DomainXmlRewriter;
import io.kvmigrate.store.JobStores;
import io.kvmigrate.store.TestPostgres;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Two servers on one real PostgreSQL with the lab, both running queued moves: ten moves submitted through both in turn
 * each run exactly once. The store says so (one claim each, by the server that owns the job, every job succeeded) and so
 * do the hypervisors (each VM defined on its target only). The moves are offline moves of shut-off VMs whose disks are
 * on the lab's shared directory, so each moves a definition, not data: cheap enough for ten.
 */
class TwoServersQueueIT {
    private static final int MOVES = 10;

    @Test
    void twoServersOnePostgres_tenQueuedMovesThroughBoth_eachRunsExactlyOnce() throws Exception {
        ServerLab.lab();
        String url = TestPostgres.newSchemaUrl();
        List<String> vms = new ArrayList<>();
        for (int i = 0; i < MOVES; i++) {
            String vm = "srv-q" + i;
            ServerLab.removeEverywhere(vm);
            try (HostSession s = ServerLab.open(0)) {
                LabVm.create(s, LabVm.definition(vm, ServerLab.lab().sharedDir(), TestGuest.Params.defaults(), ServerLab.lab().kvmAvailable()));
            }
            vms.add(vm);
        }
        String token = ApiToken.loadOrCreate(HostRegistry.defaultConfigDir()).value();
        Kvmigrate ka = Kvmigrate.configure().connector(ServerLab.CONNECTOR).rewriter(new DomainXmlRewriter()).store(JobStores.open(url)).load();
        try (ServerProcess b = new ServerProcess("server B", url, 10_000, 2);
                KvmigrateServer a = new KvmigrateServer(ka, ServerLab.CONNECTOR, HostRegistry.fromEnvironment(), ApiToken.of(token),
                        new KvmigrateServer.Config("127.0.0.1", 0, null, null, null, Duration.ofSeconds(10)).withWorkers(2)).start()) {
            List<Http> servers = List.of(new Http(a.baseUrl(), token), new Http(b.baseUrl(), token));
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < MOVES; i++) {
                Http.Response r = servers.get(i % 2).post("/api/v1/jobs", "{\"vm\": \"" + vms.get(i) + "\", \"from\": \"" + ServerLab.host(0).name()
                        + "\", \"to\": \"" + ServerLab.host(1).name() + "\", \"offline\": true}");
                assertThat(r.status()).as(r.body()).isEqualTo(202);
                assertThat(r.json().path("state").asText()).isIn("queued", "running"); // its server's worker may have claimed it already
                ids.add(r.json().path("id").asText());
            }
            assertThat(Poll.until(Duration.ofSeconds(300), Duration.ofMillis(250),
                    () -> ids.stream().allMatch(id -> ka.job(id).orElseThrow().state().isTerminal()))).as("all ten ended").isTrue();

            // the store: each job succeeded, claimed once, by the server that owns it
            Map<String, Integer> byOwner = new TreeMap<>();
            for (String id : ids) {
                Job j = ka.job(id).orElseThrow();
                assertThat(j.state()).as(id + " " + j.error()).isEqualTo(JobState.SUCCEEDED);
                List<JobEvent> claims = ka.events(id, 0).stream().filter(e -> "claimed".equals(e.data().get("action"))).toList();
                assertThat(claims).as("claims of " + id).singleElement().satisfies(e -> assertThat(e.data().get("owner")).isEqualTo(j.owner()));
                byOwner.merge(j.owner(), 1, Integer::sum);
            }
            System.out.println("[two servers, queue] moves run per server: " + byOwner);
            assertThat(byOwner).as("both servers ran moves").hasSize(2).containsKey(ka.ownerId());
            assertThat(ka.jobs(JobFilter.all())).hasSize(MOVES).allMatch(j -> j.state() == JobState.SUCCEEDED);
            // the hypervisors: every VM is defined on the target only, shut off as it was
            List<String> target = ServerLab.vmNames(1);
            List<String> source = ServerLab.vmNames(0);
            for (String vm : vms) {
                assertThat(target).as("on the target").contains(vm + ":SHUTOFF:true");
                assertThat(source).as("on the source").noneMatch(n -> n.startsWith(vm + ":"));
            }
        } finally {
            ka.close();
            for (String vm : vms) ServerLab.removeEverywhere(vm);
        }
    }
}
