package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobFilter;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.core.model.DiskSpec;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.server.ApiToken;
import io.kvmigrate.server.KvmigrateServer;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.InMemoryJobStore;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code migrate} and {@code jobs} with {@code --server URL}: against a real server on loopback over the fake hypervisor and
 * the in-memory store; the token is read from the config directory, as a server of this user on this machine keeps it.
 */
@org.junit.jupiter.api.Timeout(60)
class ServerOptionTest {
    @TempDir Path config;
    private final FakeHypervisor hv = new FakeHypervisor();
    private final InMemoryJobStore store = new InMemoryJobStore();
    private Kvmigrate k;
    private KvmigrateServer server;
    private String previous;

    private void start(int workers) {
        FakeHypervisor.FakeHost src = hv.addHost("a");
        hv.addHost("b");
        hv.shareDirectory("/nfs");
        for (String vm : List.of("web", "db")) {
            src.put(new VmSpec(vm, "uuid-" + vm, "kvm", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", 1 << 20, 1, null,
                    List.of(new DiskSpec("vda", "disk", "file", "/nfs/" + vm + ".img", "raw", null, null, false, false)), List.of(), List.of(),
                    "<domain/>"), VmState.RUNNING, true);
            src.putFile("/nfs/" + vm + ".img", new byte[4096]);
        }
        hv.completeMigrationsAfter(vm -> Duration.ofMillis(200));
        HostRegistry registry = new HostRegistry(config);
        registry.add("a", "qemu+tcp://a/system");
        registry.add("b", "qemu+tcp://b/system");
        k = Kvmigrate.configure().connector(hv).rewriter((xml, disks, nets) -> xml).store(store).owner("srv:1:aa")
                .pollInterval(Duration.ofMillis(20)).load();
        server = new KvmigrateServer(k, hv, registry, ApiToken.loadOrCreate(config),
                new KvmigrateServer.Config("127.0.0.1", 0, null, null, Duration.ofMillis(50), null).withWorkers(workers)).start();
    }

    @BeforeEach
    void configDir() {
        previous = System.getProperty("kvmigrate.config.dir");
        System.setProperty("kvmigrate.config.dir", config.toString());
    }

    @AfterEach
    void stop() {
        if (server != null) server.close();
        if (k != null) k.close();
        if (previous == null) System.clearProperty("kvmigrate.config.dir");
        else System.setProperty("kvmigrate.config.dir", previous);
    }

    private String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new String[] {Integer.toString(exit), out.toString(), err.toString()};
    }

    @Test
    void migrate_throughTheServer_queuedRunThereAndFollowedToItsEnd_jobsListsAndShowsIt() {
        start(1);
        String url = server.baseUrl();
        String[] r = run("migrate", "web", "--from", "a", "--to", "b", "--policy", "plain", "--no-plan", "--server", url);
        assertThat(r[0]).as(r[1] + r[2]).isEqualTo("0");
        assertThat(r[1]).contains("queued on " + url, "claimed: controller srv:1:aa", "succeeded on " + url);
        Job j = store.jobs(JobFilter.all().vm("web")).get(0);
        assertThat(j.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(j.owner()).isEqualTo("srv:1:aa");

        String[] list = run("jobs", "--server", url);
        assertThat(list[0]).isEqualTo("0");
        assertThat(list[1]).contains(j.id(), "succeeded", "web");
        String[] show = run("jobs", "show", j.id(), "--server", url);
        assertThat(show[0]).as(show[2]).isEqualTo("0");
        assertThat(show[1]).contains("Job " + j.id(), "controller srv:1:aa", "claimed", "placement");
        // the same VM again while it is not on a: the server's answer is this command's error and exit code
        String[] again = run("migrate", "web", "--from", "a", "--to", "b", "--policy", "plain", "--no-plan", "--server", url);
        assertThat(again[0]).isNotEqualTo("0");
        assertThat(again[2]).contains(url);
    }

    @Test
    void jobsCancel_ofAQueuedJobThroughTheServer_cancelledBeforeAnythingRan() {
        start(0); // this server runs nothing: the move stays queued
        String url = server.baseUrl();
        Job queued = k.enqueue(io.kvmigrate.core.api.MoveRequest.live("db", new io.kvmigrate.core.model.HostRef("a", "qemu+tcp://a/system"),
                new io.kvmigrate.core.model.HostRef("b", "qemu+tcp://b/system")).withPolicy(io.kvmigrate.core.plan.PolicyKind.PLAIN));
        String[] c = run("jobs", "cancel", queued.id(), "--server", url);
        assertThat(c[0]).as(c[2]).isEqualTo("0");
        assertThat(c[1]).contains("was queued: cancelled before anything ran");
        assertThat(store.job(queued.id()).orElseThrow().state()).isEqualTo(JobState.CANCELLED);
        assertThat(run("jobs", "show", "j-20200101-000000-000000", "--server", url)[0]).isEqualTo("2");
    }

    @Test
    void serverOption_withDbOrWithoutToken_orNotAUrl_exit2NamingWhatToDo() throws Exception {
        start(1);
        String url = server.baseUrl();
        String[] both = run("jobs", "--server", url, "--db", "jdbc:sqlite:/tmp/x.db");
        assertThat(both[0]).isEqualTo("2");
        assertThat(both[2]).contains("--server and --db exclude each other");
        assertThat(run("jobs", "--server", "127.0.0.1:8470")[2]).contains("--server must be an http:// or https:// URL");
        Files.delete(config.resolve(ApiToken.FILE));
        String[] none = run("jobs", "--server", url);
        assertThat(none[0]).isEqualTo("2");
        assertThat(none[2]).contains("KVMIGRATE_TOKEN");
        Files.writeString(config.resolve(ApiToken.FILE), "0".repeat(64));
        String[] wrong = run("jobs", "--server", url);
        assertThat(wrong[0]).isEqualTo("2");
        assertThat(wrong[2]).contains("401");
    }
}
