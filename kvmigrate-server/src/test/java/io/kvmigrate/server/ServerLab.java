package io.kvmigrate.server;

import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.Lab;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.guest.TestGuest;
import io.kvmigrate.libvirt.DomainXmlRewriter;
import io.kvmigrate.libvirt.LibvirtConnector;
import io.kvmigrate.store.JobStores;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The lab of this module's integration tests and one real server on it: the lab started once per JVM on its own
 * loopback range and directory (system properties {@code kvmigrate.it.root}, {@code kvmigrate.it.firstOctet}), with a
 * private host registry and job store; the server on 127.0.0.1, an ephemeral port, with a token of its own.
 */
final class ServerLab {
    static final LibvirtConnector CONNECTOR = new LibvirtConnector();
    private static Lab lab;
    private static Kvmigrate facade;
    private static KvmigrateServer server;
    private static ApiToken token;

    private ServerLab() {
    }

    static synchronized Lab lab() {
        if (lab == null) {
            Path root = Path.of(System.getProperty("kvmigrate.it.root", "/var/tmp/kvmigrate-it-srv"));
            int first = Integer.getInteger("kvmigrate.it.firstOctet", 100);
            System.setProperty("kvmigrate.config.dir", root.resolve("config").toString());
            System.setProperty("kvmigrate.data.dir", root.resolve("data").toString());
            lab = new Lab(new Lab.Config(root, first, 2, "srv"), CONNECTOR, HostRegistry.fromEnvironment());
            lab.up(line -> System.out.println("[lab] " + line));
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                if (server != null) server.close();
                lab.down(line -> System.out.println("[lab] " + line));
            }));
        }
        return lab;
    }

    /** The server on the lab (started at first use); its facade is {@link #facade()}. */
    static synchronized KvmigrateServer server() {
        if (server == null) {
            lab();
            facade = Kvmigrate.configure().connector(CONNECTOR).rewriter(new DomainXmlRewriter()).store(JobStores.open(null)).load();
            token = ApiToken.loadOrCreate(HostRegistry.defaultConfigDir());
            server = new KvmigrateServer(facade, CONNECTOR, HostRegistry.fromEnvironment(), token,
                    new KvmigrateServer.Config("127.0.0.1", 0, null, null, null, null)).start();
            System.out.println("[server] " + server.baseUrl());
        }
        return server;
    }

    static synchronized Kvmigrate facade() {
        server();
        return facade;
    }

    static Http api() {
        return new Http(server().baseUrl(), token.value());
    }

    static String token() {
        server();
        return token.value();
    }

    static Lab.LabHost host(int i) {
        return lab().hosts().get(i);
    }

    static HostSession open(int i) {
        return CONNECTOR.open(host(i).ref());
    }

    /**
     * Defines and starts a test guest on host 0 in the shared directory; waits until it has written its whole span once
     * (pass counter 1), not for a second pass: a guest that dirties slowly may take minutes per pass.
     */
    static LabVm.Definition startGuest(String name, TestGuest.Params params) {
        removeEverywhere(name);
        LabVm.Definition d = LabVm.definition(name, lab().sharedDir(), params, lab().kvmAvailable());
        try (HostSession s = open(0)) {
            LabVm.create(s, d);
            s.startVm(name);
            if (!io.kvmigrate.lab.Poll.until(Duration.ofSeconds(120), Duration.ofMillis(100), () -> LabVm.passCounter(s, name).orElse(0) >= 1)) {
                throw new AssertionError("test guest " + name + " did not finish its fill pass within 120 s");
            }
        }
        return d;
    }

    /** Powers off and undefines a VM on every lab host (test set-up only). */
    static void removeEverywhere(String name) {
        for (int i = 0; i < lab().hosts().size(); i++) {
            try (HostSession s = open(i)) {
                s.findVm(name).ifPresent(v -> {
                    if (v.state().isActive()) s.destroyVm(name);
                    if (s.findVm(name).map(VmInfo::persistent).orElse(false)) s.undefineVm(name);
                });
            }
        }
    }

    /** "name:STATE:persistent" of every VM on host {@code i}. */
    static java.util.List<String> vmNames(int i) {
        try (HostSession s = open(i)) {
            return s.listVms().stream().map(v -> v.name() + ":" + v.state() + ":" + v.persistent()).sorted().toList();
        }
    }
}
