package io.kvmigrate.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.model.DiskSpec;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.libvirt.LibvirtConnector;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kvmigrate vms [--host H]}: VMs with state, memory, vCPUs and disks. */
@Command(name = "vms", description = "List VMs of one host (--host) or of every registered host.")
final class VmsCommand implements Callable<Integer>, Main.JsonCapable {
    @Spec CommandSpec spec;
    @Option(names = "--host", paramLabel = "HOST", description = "Registered host name or libvirt URI.") String host;
    @Option(names = "--json", description = "Print JSON.") boolean json;

    @Override
    public boolean json() {
        return json;
    }

    @Override
    public Integer call() {
        HostRegistry registry = HostRegistry.fromEnvironment();
        List<HostRef> hosts = host != null ? List.of(registry.resolve(host)) : registry.list();
        LibvirtConnector connector = new LibvirtConnector();
        record Row(HostRef host, VmInfo vm) {
        }
        List<Row> rows = new ArrayList<>();
        for (HostRef h : hosts) {
            try (HostSession s = connector.open(h)) {
                s.listVms().forEach(v -> rows.add(new Row(h, v)));
            }
        }
        var out = spec.commandLine().getOut();
        if (json) {
            ArrayNode arr = Output.json().createArrayNode();
            for (Row r : rows) {
                ObjectNode n = arr.addObject();
                n.put("host", r.host().name());
                n.put("name", r.vm().name());
                n.put("uuid", r.vm().spec().uuid());
                n.put("state", r.vm().state().name().toLowerCase());
                n.put("persistent", r.vm().persistent());
                n.put("memoryKiB", r.vm().spec().memoryKiB());
                n.put("vcpus", r.vm().spec().vcpus());
                ArrayNode disks = n.putArray("disks");
                for (DiskSpec d : r.vm().spec().disks()) {
                    disks.addObject().put("target", d.target()).put("device", d.device()).put("type", d.sourceType())
                            .put("source", d.sourcePath()).put("format", d.format());
                }
            }
            Output.printJson(out, arr);
            return 0;
        }
        out.printf("%-10s %-20s %-9s %-10s %10s %5s  %s%n", "HOST", "NAME", "STATE", "DEFINED", "MEMORY", "VCPUS", "DISKS");
        for (Row r : rows) {
            VmInfo v = r.vm();
            out.printf("%-10s %-20s %-9s %-10s %10s %5d  %s%n", r.host().name(), v.name(), v.state().name().toLowerCase(),
                    v.persistent() ? "persistent" : "transient", Output.mib(v.spec().memoryKiB() * 1024), v.spec().vcpus(),
                    v.spec().disks().stream().map(d -> d.target() + "=" + d.sourcePath()).collect(Collectors.joining(", ")));
        }
        return 0;
    }
}
