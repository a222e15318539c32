package io.kvmigrate.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.model.HostFacts;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.libvirt.LibvirtConnector;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code kvmigrate hosts add|list|remove}: the named hosts in the user's config file. */
@Command(name = "hosts", description = "Manage named libvirt hosts.", subcommands = {HostsCommand.Add.class, HostsCommand.ListHosts.class,
        HostsCommand.Remove.class, HostsCommand.Maintenance.class})
final class HostsCommand {

    @Command(name = "add", description = "Register a host: NAME and libvirt URI (qemu+ssh://root@kvm2/system, qemu+tls://..., qemu:///system).")
    static final class Add implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Parameters(index = "1", paramLabel = "URI") String uri;

        @Override
        public Integer call() {
            HostRegistry registry = HostRegistry.fromEnvironment();
            registry.add(name, uri);
            spec.commandLine().getOut().println("Added host " + name + " = " + uri + " (" + registry.file() + ")");
            return 0;
        }
    }

    @Command(name = "remove", description = "Forget a registered host (nothing on the host changes).")
    static final class Remove implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Parameters(index = "0", paramLabel = "NAME") String name;

        @Override
        public Integer call() {
            if (!HostRegistry.fromEnvironment().remove(name)) {
                throw new KvmigrateException(io.kvmigrate.core.api.ErrorCode.UNKNOWN_HOST, "hosts remove", name, null,
                        "No host named '" + name + "' is registered.", "'kvmigrate hosts list' shows the registered hosts.");
            }
            spec.commandLine().getOut().println("Removed host " + name);
            return 0;
        }
    }

    @Command(name = "list", description = "List registered hosts: reachable?, libvirt and QEMU versions, CPU, memory, running VMs.")
    static final class ListHosts implements Callable<Integer>, Main.JsonCapable {
        @Spec CommandSpec spec;
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        public boolean json() {
            return json;
        }

        record Row(HostRef host, HostFacts facts, KvmigrateException error) {
        }

        @Override
        public Integer call() {
            List<HostRef> hosts = HostRegistry.fromEnvironment().list();
            LibvirtConnector connector = new LibvirtConnector();
            List<CompletableFuture<Row>> futures = hosts.stream().map(h -> CompletableFuture.supplyAsync(() -> {
                try (HostSession s = connector.open(h)) {
                    return new Row(h, s.facts(), null);
                } catch (KvmigrateException e) {
                    return new Row(h, null, e);
                }
            })).toList();
            List<Row> rows = futures.stream().map(CompletableFuture::join).toList();
            var out = spec.commandLine().getOut();
            if (json) {
                ArrayNode arr = Output.json().createArrayNode();
                for (Row r : rows) {
                    ObjectNode n = arr.addObject();
                    n.put("name", r.host().name());
                    n.put("uri", r.host().uri());
                    n.put("reachable", r.facts() != null);
                    if (r.facts() != null) {
                        HostFacts f = r.facts();
                        n.put("hostname", f.hostname());
                        n.put("libvirtVersion", HostFacts.version(f.libvirtVersion()));
                        n.put("qemuVersion", HostFacts.version(f.hypervisorVersion()));
                        n.put("arch", f.arch());
                        n.put("cpuVendor", f.cpuVendor());
                        n.put("cpuModel", f.cpuModel());
                        n.put("cpus", f.cpus());
                        n.put("memoryKiB", f.memoryKiB());
                        n.put("freeMemoryKiB", f.freeMemoryKiB());
                        n.put("runningVms", f.runningVms());
                    } else {
                        n.put("error", r.error().getMessage());
                    }
                }
                Output.printJson(out, arr);
                return 0;
            }
            if (rows.isEmpty()) {
                out.println("No hosts registered. Add one with 'kvmigrate hosts add NAME URI' (or start the lab: 'kvmigrate lab up').");
                return 0;
            }
            out.printf("%-12s %-34s %-9s %-8s %-8s %-16s %5s %10s %8s%n", "NAME", "URI", "REACHABLE", "LIBVIRT", "QEMU", "CPU", "CPUS",
                    "MEMORY", "RUNNING");
            for (Row r : rows) {
                HostFacts f = r.facts();
                if (f == null) {
                    out.printf("%-12s %-34s %-9s %s%n", r.host().name(), r.host().uri(), "no", r.error().getMessage());
                } else {
                    out.printf("%-12s %-34s %-9s %-8s %-8s %-16s %5d %10s %8d%n", r.host().name(), r.host().uri(), "yes",
                            HostFacts.version(f.libvirtVersion()), HostFacts.version(f.hypervisorVersion()),
                            f.cpuVendor() + " " + f.cpuModel(), f.cpus(), Output.mib(f.memoryKiB() * 1024), f.runningVms());
                }
            }
            return 0;
        }
    }

    @Command(name = "maintenance", description = "Put a host in maintenance (never a target of evacuate) or take it out, in the job store; "
            + "without arguments, list the hosts in maintenance.")
    static final class Maintenance implements Callable<Integer>, Main.JsonCapable {
        @Spec CommandSpec spec;
        @picocli.CommandLine.Mixin Facade.DbOption db;
        @Parameters(index = "0", arity = "0..1", paramLabel = "HOST", description = "Registered host name or libvirt URI.") String host;
        @Parameters(index = "1", arity = "0..1", paramLabel = "on|off") String state;
        @Option(names = "--json", description = "Print JSON.") boolean json;

        @Override
        public boolean json() {
            return json;
        }

        @Override
        public Integer call() {
            if (host != null && (state == null || !(state.equals("on") || state.equals("off")))) {
                throw KvmigrateException.invalidInput("hosts maintenance " + host + " needs 'on' or 'off'" + (state == null ? "." : ", got '" + state + "'."),
                        "Use 'kvmigrate hosts maintenance " + host + " on' (or off); without arguments it lists the hosts in maintenance.");
            }
            HostRef ref = host == null ? null : HostRegistry.fromEnvironment().resolve(host);
            var out = spec.commandLine().getOut();
            try (io.kvmigrate.core.api.Kvmigrate k = Facade.open(db, spec.commandLine().getErr())) {
                boolean changed = ref != null && k.maintenance(ref, state.equals("on"));
                List<io.kvmigrate.core.job.HostMaintenance> now = k.maintenanceHosts();
                if (json) {
                    ObjectNode root = Output.json().createObjectNode();
                    if (ref != null) {
                        root.put("host", ref.name());
                        root.put("maintenance", state.equals("on"));
                        root.put("changed", changed);
                    }
                    ArrayNode arr = root.putArray("inMaintenance");
                    for (var m : now) arr.addObject().put("host", m.host()).put("uri", m.uri()).put("since", m.since().toString());
                    Output.printJson(out, root);
                    return 0;
                }
                if (ref != null) {
                    out.println("Host " + ref.name() + (state.equals("on") ? " is in maintenance" : " is out of maintenance")
                            + (changed ? "" : " (it already was)") + (state.equals("on") ? ": evacuate never places VMs on it." : "."));
                } else if (now.isEmpty()) {
                    out.println("No host is in maintenance.");
                } else {
                    for (var m : now) out.println(m.host() + " (" + m.uri() + ") in maintenance since " + m.since());
                }
                return 0;
            }
        }
    }
}
