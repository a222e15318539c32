package io.kvmigrate.cli;

import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.libvirt.LibvirtConnector;
import io.kvmigrate.server.ApiToken;
import io.kvmigrate.server.KvmigrateServer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kvmigrate serve}: the REST API, event streams, metrics and web UI of {@code kvmigrate-server}, until stopped. */
@Command(name = "serve", description = "Run the REST API (/api/v1), live event streams, Prometheus metrics (/metrics) and the web UI (/ui/).")
final class ServeCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Option(names = "--listen", paramLabel = "HOST:PORT", defaultValue = KvmigrateServer.Config.DEFAULT_LISTEN,
            description = "Address and port (default ${DEFAULT-VALUE}: loopback only).") String listen;
    @Option(names = "--tls-cert", paramLabel = "FILE", description = "Serve HTTPS with this PEM certificate (chain); with --tls-key.") Path tlsCert;
    @Option(names = "--tls-key", paramLabel = "FILE", description = "The certificate's unencrypted PKCS#8 PEM key.") Path tlsKey;
    @Option(names = "--print-token", description = "Print the API token (made if there is none yet) and exit.") boolean printToken;
    @Option(names = "--workers", paramLabel = "N", defaultValue = "" + KvmigrateServer.Config.DEFAULT_WORKERS,
            description = "Queued moves this server runs at once (default ${DEFAULT-VALUE}); 0: it runs none, other servers on the same"
                    + " --db do.") int workers;
    @Mixin Facade.DbOption db;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        // bad options are refused before anything is made or opened
        KvmigrateServer.Config config = printToken ? null
                : KvmigrateServer.Config.listen(listen, tlsCert, tlsKey).withReconcileEvery(Duration.ofSeconds(10)).withWorkers(workers);
        ApiToken token = ApiToken.loadOrCreate(HostRegistry.defaultConfigDir());
        if (printToken) {
            out.println(token.value());
            out.flush();
            return 0;
        }
        Kvmigrate k = Facade.open(db, spec.commandLine().getErr());
        KvmigrateServer server = new KvmigrateServer(k, new LibvirtConnector(), HostRegistry.fromEnvironment(), token, config).start();
        out.println("kvmigrate serve: listening on " + server.baseUrl() + " (web UI: " + server.baseUrl() + "/ui/, metrics: /metrics; token in "
                + token.file() + "); running up to " + workers + " queued move(s) at once");
        out.flush();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            k.close();
            stopped.countDown();
        }));
        stopped.await();
        return 0;
    }
}
