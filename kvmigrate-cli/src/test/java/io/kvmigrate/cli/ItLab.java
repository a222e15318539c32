package io.kvmigrate.cli;

import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.Lab;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.guest.TestGuest;
import io.kvmigrate.libvirt.LibvirtConnector;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The lab shared by all integration tests of one JVM: started once, on its own loopback range and directory
 * (system properties {@code kvmigrate.it.root}, {@code kvmigrate.it.firstOctet}), with a private host registry.
 */
final class ItLab {
    static final LibvirtConnector CONNECTOR = new LibvirtConnector();
    private static Lab lab;

    private ItLab() {
    }

    static synchronized Lab get() {
        return get(2);
    }

    /**
     * The lab with at least {@code hosts} hosts: a test that needs more than the two most need (evacuation: three) adds
     * the missing ones to the running lab ({@link Lab#up} starts only what is not running).
     */
    static synchronized Lab get(int hosts) {
        if (lab == null || lab.config().hosts() < hosts) {
            boolean first = lab == null;
            Path root = Path.of(System.getProperty("kvmigrate.it.root", "/var/tmp/kvmigrate-it"));
            int firstOctet = Integer.getInteger("kvmigrate.it.firstOctet", 20);
            System.setProperty("kvmigrate.config.dir", root.resolve("config").toString());
            // the job store of this lab's commands: an embedded database of its own
            System.setProperty("kvmigrate.data.dir", root.resolve("data").toString());
            lab = new Lab(new Lab.Config(root, firstOctet, Math.max(2, hosts), "it"), CONNECTOR, HostRegistry.fromEnvironment());
            lab.up(line -> System.out.println("[lab] " + line));
            if (first) Runtime.getRuntime().addShutdownHook(new Thread(() -> lab.down(line -> System.out.println("[lab] " + line))));
        }
        return lab;
    }

    /** The facade the CLI uses, on this lab's job store (close it after use). */
    static io.kvmigrate.core.api.Kvmigrate facade() {
        get();
        return Facade.create(null);
    }

    static Lab.LabHost host(int i) {
        return get().hosts().get(i);
    }

    static HostSession open(int i) {
        return CONNECTOR.open(host(i).ref());
    }

    /** Defines and starts a test guest on host 0 in the shared directory; waits until it runs its second pass. */
    static LabVm.Definition startGuest(String name, TestGuest.Params params) {
        return startGuest(name, params, false);
    }

    /** As {@link #startGuest(String, TestGuest.Params)}; {@code dirtyRing}: with KVM's dirty ring (the per-vCPU dirty limit's need). */
    static LabVm.Definition startGuest(String name, TestGuest.Params params, boolean dirtyRing) {
        removeEverywhere(name);
        LabVm.Definition d = LabVm.definition(name, get().sharedDir(), params, get().kvmAvailable());
        if (dirtyRing) d = d.withDirtyRing();
        try (HostSession s = open(0)) {
            LabVm.create(s, d);
            s.startVm(name);
            LabVm.awaitRunning(s, name, Duration.ofSeconds(120));
        }
        return d;
    }

    /** Powers off and undefines a VM on every lab host (test set-up only). */
    /**
     * As {@link #removeEverywhere}, for a finally block after a failure: a VM left mid-migration can hold libvirt's state
     * lock for a while, and the cleanup's error must not replace the test's own failure; it is printed instead.
     */
    static void removeEverywhereQuietly(String name) {
        try {
            removeEverywhere(name);
        } catch (RuntimeException e) {
            System.out.println("cleanup of " + name + " failed (the test's own outcome stands): " + e.getMessage());
        }
    }

    static void removeEverywhere(String name) {
        for (int i = 0; i < get().hosts().size(); i++) {
            try (HostSession s = open(i)) {
                // A migration a failed test left running holds the VM's state lock: abort it first, or undefine times out
                // ("cannot acquire state change lock") and hides the test's own failure.
                if (s.jobInProgress(name)) {
                    s.activeMigration(name).ifPresent(io.kvmigrate.core.spi.MigrationHandle::abort);
                    io.kvmigrate.lab.Poll.until(Duration.ofSeconds(60), Duration.ofMillis(200), () -> !s.jobInProgress(name));
                }
                s.findVm(name).ifPresent(v -> {
                    if (v.state().isActive()) s.destroyVm(name);
                    if (s.findVm(name).map(VmInfo::persistent).orElse(false)) s.undefineVm(name);
                });
            }
        }
    }

    /** The result of one in-process CLI run. */
    record Run(int exit, String out, String err) {
    }

    static Run cli(String... args) {
        get();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        System.out.println("$ kvmigrate " + String.join(" ", args) + "  -> exit " + exit + "\n" + out + err);
        return new Run(exit, out.toString(), err.toString());
    }

    /** The actions of the decisions in a {@code migrate --json} result, in order. */
    static List<String> decisionActions(com.fasterxml.jackson.databind.JsonNode result) {
        List<String> out = new java.util.ArrayList<>();
        for (com.fasterxml.jackson.databind.JsonNode d : result.path("decisions")) out.add(d.path("action").asText());
        return out;
    }

    static List<String> vmNames(int host) {
        try (HostSession s = open(host)) {
            return s.listVms().stream().map(v -> v.name() + ":" + v.state() + ":" + v.persistent()).sorted().toList();
        }
    }
}
