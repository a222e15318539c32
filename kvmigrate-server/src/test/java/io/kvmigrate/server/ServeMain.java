package io.kvmigrate.server;

import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.libvirt.DomainXmlRewriter;
import io.kvmigrate.libvirt.LibvirtConnector;
import io.kvmigrate.store.JobStores;
import java.time.Duration;

/**
 * A server in a process of its own for the tests (the CLI's {@code serve} is built after this module): args are the
 * job store URL, the reconcile interval in ms and optionally the number of workers (default {@link
 * KvmigrateServer.Config#DEFAULT_WORKERS}); prints "PORT n" once it listens, then runs until killed.
 */
public final class ServeMain {
    private ServeMain() {
    }

    public static void main(String[] args) throws Exception {
        Kvmigrate k = Kvmigrate.configure().connector(new LibvirtConnector()).rewriter(new DomainXmlRewriter()).store(JobStores.open(args[0])).load();
        k.reconcile();
        KvmigrateServer server = new KvmigrateServer(k, new LibvirtConnector(), HostRegistry.fromEnvironment(),
                ApiToken.loadOrCreate(HostRegistry.defaultConfigDir()), new KvmigrateServer.Config("127.0.0.1", 0, null, null, null, null)
                        .withReconcileEvery(Duration.ofMillis(Long.parseLong(args[1])))
                        .withWorkers(args.length > 2 ? Integer.parseInt(args[2]) : KvmigrateServer.Config.DEFAULT_WORKERS)).start();
        System.out.println("PORT " + server.port());
        System.out.flush();
        Thread.currentThread().join();
    }
}
