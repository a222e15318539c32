package io.kvmigrate.cli;

import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.Lab;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.Poll;
import io.kvmigrate.lab.guest.TestGuest;
import io.kvmigrate.libvirt.LibvirtConnector;
import io.kvmigrate.server.ApiToken;
import io.kvmigrate.server.KvmigrateServer;
import io.kvmigrate.server.bench.LoadBenchmark;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kvmigrate bench serve}: on two lab hosts, a server on 127.0.0.1 (in this process, on its own port), one slow
 * live move through its API, many event-stream subscribers and a steady request rate; prints failures, lost events and
 * latency percentiles ({@link LoadBenchmark}).
 */
final class BenchServeCommand {
    private BenchServeCommand() {
    }

    @Command(name = "serve", description = "Load on the server: SSE subscribers and API requests while a migration runs (lab, loopback).")
    static final class Serve implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Option(names = "--root", defaultValue = "/var/lib/kvmigrate-lab", description = "Lab directory (default ${DEFAULT-VALUE}).") Path root;
        @Option(names = "--first-octet", defaultValue = "2", description = "First loopback octet of the lab (default ${DEFAULT-VALUE}).") int firstOctet;
        @Option(names = "--prefix", defaultValue = "lab", description = "Lab host name prefix (default ${DEFAULT-VALUE}).") String prefix;
        @Option(names = "--subscribers", defaultValue = "200", description = "Event-stream subscribers of the job (default ${DEFAULT-VALUE}).") int subscribers;
        @Option(names = "--rate", defaultValue = "50", description = "API requests per second (default ${DEFAULT-VALUE}).") int rate;
        @Option(names = "--seconds", defaultValue = "60", description = "How long the load lasts (default ${DEFAULT-VALUE}).") int seconds;
        @Option(names = "--bandwidth", defaultValue = "1", description = "The move's cap, MiB/s: low enough to outlast the load (default ${DEFAULT-VALUE}).")
        long bandwidth;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            System.setProperty("kvmigrate.config.dir", root.resolve("config").toString());
            System.setProperty("kvmigrate.data.dir", root.resolve("data").toString());
            LibvirtConnector connector = new LibvirtConnector();
            Lab lab = new Lab(new Lab.Config(root, firstOctet, 2, prefix), connector, HostRegistry.fromEnvironment());
            lab.up(line -> log(out, line));
            String moved = "bench-serve-move";
            String checked = "bench-serve-check";
            try (Kvmigrate k = Facade.open(null, spec.commandLine().getErr())) {
                for (String vm : new String[] {moved, checked}) start(connector, lab, vm);
                ApiToken token = ApiToken.loadOrCreate(HostRegistry.defaultConfigDir());
                try (KvmigrateServer server = new KvmigrateServer(k, connector, HostRegistry.fromEnvironment(), token,
                        new KvmigrateServer.Config("127.0.0.1", 0, null, null, null, null)).start()) {
                    log(out, "server on " + server.baseUrl());
                    LoadBenchmark.Result r = new LoadBenchmark(new LoadBenchmark.Options(URI.create(server.baseUrl()), token.value(), moved, checked,
                            lab.hosts().get(0).name(), lab.hosts().get(1).name(), bandwidth, subscribers, rate, Duration.ofSeconds(seconds)),
                            line -> log(out, line)).run();
                    LoadBenchmark.table(r).forEach(out::println);
                    out.println(r.ok() ? "OK: no failed request, every subscriber got the store's events" : "NOT OK");
                    out.flush();
                    k.awaitRunning();
                    return r.ok() ? 0 : 1;
                }
            } finally {
                for (String vm : new String[] {moved, checked}) remove(connector, lab, vm);
                lab.down(line -> log(out, line));
            }
        }

        private static void log(PrintWriter out, String line) {
            out.println("[bench] " + line);
            out.flush();
        }

        /** A 128 MiB guest with a 64 MiB span that barely dirties after its fill, on the first host. */
        private static void start(LibvirtConnector connector, Lab lab, String vm) {
            remove(connector, lab, vm);
            TestGuest.Params p = TestGuest.Params.defaults().withSpanMiB(64).withDelay(50_000_000).withContent(TestGuest.Content.RANDOM);
            LabVm.Definition d = LabVm.definition(vm, lab.sharedDir(), p, lab.kvmAvailable());
            try (HostSession s = connector.open(lab.hosts().get(0).ref())) {
                LabVm.create(s, d);
                s.startVm(vm);
                if (!Poll.until(Duration.ofSeconds(300), Duration.ofMillis(200), () -> LabVm.passCounter(s, vm).orElse(0) >= 1)) {
                    throw new IllegalStateException(vm + " did not finish filling its span within 300 s");
                }
            }
        }

        private static void remove(LibvirtConnector connector, Lab lab, String vm) {
            for (Lab.LabHost h : lab.hosts()) {
                try (HostSession s = connector.open(h.ref())) {
                    s.findVm(vm).ifPresent(v -> {
                        if (v.state().isActive()) s.destroyVm(vm);
                        if (s.findVm(vm).map(VmInfo::persistent).orElse(false)) s.undefineVm(vm);
                    });
                }
            }
        }
    }
}
