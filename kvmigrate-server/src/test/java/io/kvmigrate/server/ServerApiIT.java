package io.kvmigrate.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.core.job.JobFilter;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.Poll;
import io.kvmigrate.lab.guest.TestGuest;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The API of a real server on loopback, on the real lab (two libvirt daemons, KVM test guests): authentication, bad
 * input, the VM lock as a 409, and a server-sent-event subscriber that comes in the middle of a migration.
 */
class ServerApiIT {
    /** 64 MiB span, barely dirtied after the fill (one page every few ms): converges, but takes several seconds at 8 MiB/s. */
    private static final TestGuest.Params SLOW = TestGuest.Params.defaults().withSpanMiB(64).withDelay(50_000_000).withContent(TestGuest.Content.RANDOM);

    private static String move(String vm, String extra) {
        return "{\"vm\": \"" + vm + "\", \"from\": \"" + ServerLab.host(0).name() + "\", \"to\": \"" + ServerLab.host(1).name() + "\"" + extra + "}";
    }

    @Test
    void api_withoutTokenWrongTokenOrBadBodies_refusedAndNothingChanged() throws Exception {
        LabVm.Definition d = ServerLab.startGuest("srv-auth", TestGuest.Params.defaults().withSpanMiB(8).withDelay(200_000));
        try {
            Http api = ServerLab.api();
            for (Http h : List.of(api.withToken(null), api.withToken("not-the-token"), api.withToken(ServerLab.token().toUpperCase()))) {
                Http.Response r = h.post("/api/v1/jobs", move(d.name(), ""));
                assertThat(r.status()).isEqualTo(401);
                assertThat(r.json().at("/error/code").asText()).isEqualTo("UNAUTHORIZED");
                assertThat(h.get("/api/v1/hosts").status()).isEqualTo(401);
                assertThat(h.get("/api/v1/jobs").status()).isEqualTo(401);
                assertThat(h.delete("/api/v1/hosts/" + ServerLab.host(0).name()).status()).isEqualTo(401);
            }
            // malformed JSON and unknown fields: 400 naming the field
            Http.Response malformed = api.post("/api/v1/jobs", "{\"vm\": \"" + d.name() + "\", \"from\": \"srv1\" \"to\": \"srv2\"}");
            assertThat(malformed.status()).isEqualTo(400);
            assertThat(malformed.json().at("/error/code").asText()).isEqualTo("INVALID_INPUT");
            assertThat(malformed.json().at("/error/field").asText()).isEqualTo("from");
            assertThat(malformed.json().at("/error/message").asText()).contains("line 1", "column");
            Http.Response unknown = api.post("/api/v1/jobs", move(d.name(), ", \"maxDowntimeMs\": 300"));
            assertThat(unknown.status()).isEqualTo(400);
            assertThat(unknown.json().at("/error/field").asText()).isEqualTo("maxDowntimeMs");
            assertThat(unknown.json().at("/error/hint").asText()).contains("maxDowntime");
            Http.Response wrongType = api.post("/api/v1/jobs", move(d.name(), ", \"bandwidth\": \"lots\""));
            assertThat(wrongType.json().at("/error/field").asText()).isEqualTo("bandwidth");
            // nothing was recorded, nothing moved; the registry is as it was
            assertThat(ServerLab.facade().jobs(JobFilter.all().vm(d.name()))).isEmpty();
            assertThat(ServerLab.vmNames(0)).contains(d.name() + ":RUNNING:true");
            assertThat(ServerLab.vmNames(1)).noneMatch(n -> n.startsWith(d.name() + ":"));
            JsonNode hosts = api.get("/api/v1/hosts").json().path("hosts");
            assertThat(hosts.findValuesAsText("name")).contains(ServerLab.host(0).name(), ServerLab.host(1).name());
            assertThat(hosts.get(0).path("reachable").asBoolean()).isTrue();
            JsonNode vms = api.get("/api/v1/hosts/" + ServerLab.host(0).name() + "/vms").json().path("vms");
            assertThat(vms.findValuesAsText("name")).contains(d.name());
            // a check through the API, on the real hosts
            Http.Response check = api.post("/api/v1/checks", move(d.name(), ""));
            assertThat(check.status()).isEqualTo(200);
            assertThat(check.json().path("mode").asText()).isEqualTo("live");
            assertThat(check.json().path("findings").size()).isPositive();
            // checks at once: each gets its report (two storage probes of the same hosts at once fail in libvirt)
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
            try {
                List<java.util.concurrent.Future<Http.Response>> all = new java.util.ArrayList<>();
                for (int i = 0; i < 40; i++) all.add(pool.submit(() -> api.post("/api/v1/checks", move(d.name(), ""))));
                for (var f : all) {
                    Http.Response r = f.get();
                    assertThat(r.status()).as(r.body()).isEqualTo(200);
                    assertThat(r.json().path("ok").asBoolean()).as(r.body()).isTrue();
                }
            } finally {
                pool.shutdownNow();
            }
        } finally {
            ServerLab.removeEverywhere(d.name());
        }
    }

    @Test
    void postJobs_twiceForOneVmAndALateSubscriber_one409AndThePastEventsFirst() throws Exception {
        LabVm.Definition d = ServerLab.startGuest("srv-move", SLOW);
        Http api = ServerLab.api();
        try {
            Http.Response first = api.post("/api/v1/jobs", move(d.name(), ", \"bandwidth\": 8, \"policy\": \"plain\", \"noPlan\": true, \"timeout\": 300"));
            assertThat(first.status()).isEqualTo(202);
            String id = first.json().path("id").asText();
            // queued, and claimed by this server's worker at once: the answer may already say running
            assertThat(first.json().path("state").asText()).isIn("queued", "running");

            Http.Response second = api.post("/api/v1/jobs", move(d.name(), ", \"bandwidth\": 8"));
            assertThat(second.status()).isEqualTo(409);
            assertThat(second.json().at("/error/code").asText()).isEqualTo("VM_BUSY");
            assertThat(second.json().at("/error/jobId").asText()).isEqualTo(id);

            // mid-job: some progress is in the store before the subscriber connects
            assertThat(Poll.until(Duration.ofSeconds(60), Duration.ofMillis(50), () -> ServerLab.facade().events(id, 0).stream()
                    .filter(e -> e.type().equals(JobEvent.PROGRESS)).count() >= 3)).isTrue();
            long seenBefore = ServerLab.facade().events(id, 0).size();
            assertThat(ServerLab.facade().job(id).orElseThrow().state().isTerminal()).isFalse();
            try (Http.Sse sse = api.sse("/api/v1/jobs/" + id + "/events")) {
                assertThat(sse.status).isEqualTo(200);
                assertThat(Poll.until(Duration.ofSeconds(300), Duration.ofMillis(100), () -> sse.ended)).isTrue();
                List<Http.Event> got = sse.snapshot();
                Http.Event end = got.get(got.size() - 1);
                assertThat(end.name()).isEqualTo("end");
                assertThat(end.json().path("state").asText()).as(end.data()).isEqualTo("succeeded");
                List<Http.Event> events = got.subList(0, got.size() - 1);
                // the earlier events first, from seq 1, then the live ones: exactly the store's timeline
                assertThat(events.get(0).json().path("seq").asLong()).isEqualTo(1);
                assertThat(events.size()).isGreaterThan((int) seenBefore);
                assertThat(events.stream().map(e -> e.json().path("seq").asLong()).toList())
                        .isEqualTo(ServerLab.facade().events(id, 0).stream().map(JobEvent::seq).toList());
                assertThat(events.stream().filter(e -> e.name().equals("progress")).count()).isGreaterThan(3);
            }
            JsonNode job = api.get("/api/v1/jobs/" + id).json();
            assertThat(job.path("state").asText()).isEqualTo("succeeded");
            assertThat(job.at("/placement/runningOn/0").asText()).isEqualTo(ServerLab.host(1).name());
            assertThat(ServerLab.vmNames(1)).contains(d.name() + ":RUNNING:true");
            assertThat(ServerLab.vmNames(0)).noneMatch(n -> n.startsWith(d.name() + ":"));
            assertThat(api.withToken(null).get("/metrics").body()).contains("kvmigrate_migration_duration_seconds_count{kind=\"live\"} 1");
        } finally {
            ServerLab.removeEverywhere(d.name());
        }
    }

    @Test
    void cancel_throughTheApi_abortsAndTheVmStaysOnTheSource() throws Exception {
        LabVm.Definition d = ServerLab.startGuest("srv-cancel", TestGuest.Params.defaults().withSpanMiB(64).withDelay(0));
        Http api = ServerLab.api();
        try {
            String id = api.post("/api/v1/jobs", move(d.name(), ", \"bandwidth\": 8, \"policy\": \"plain\", \"noPlan\": true")).json().path("id").asText();
            assertThat(Poll.until(Duration.ofSeconds(60), Duration.ofMillis(50), () -> ServerLab.facade().events(id, 0).stream()
                    .anyMatch(e -> e.type().equals(JobEvent.PROGRESS)))).isTrue();
            Http.Response c = api.post("/api/v1/jobs/" + id + "/cancel", "");
            assertThat(c.status()).isEqualTo(202);
            assertThat(c.json().path("cancelRequested").asBoolean()).isTrue();
            assertThat(Poll.until(Duration.ofSeconds(60), Duration.ofMillis(100),
                    () -> "cancelled".equals(api.get("/api/v1/jobs/" + id).json().path("state").asText()))).isTrue();
            assertThat(ServerLab.vmNames(0)).contains(d.name() + ":RUNNING:true");
            assertThat(ServerLab.vmNames(1)).noneMatch(n -> n.startsWith(d.name() + ":"));
        } finally {
            ServerLab.removeEverywhere(d.name());
        }
    }
}
