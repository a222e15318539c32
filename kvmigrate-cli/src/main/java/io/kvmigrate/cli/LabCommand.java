package io.kvmigrate.cli;

import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.lab.Lab;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kvmigrate lab up|status|down}: real libvirt hosts on this machine. */
@Command(name = "lab", description = "Real libvirt hosts on this machine, for trying kvmigrate (root).",
        subcommands = {LabCommand.Up.class, LabCommand.Status.class, LabCommand.Down.class})
final class LabCommand {

    @Command(name = "up", description = "Install missing packages, start N libvirt hosts on 127.0.0.2.., a shared pool, register them, define the demo VM.")
    static final class Up implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Option(names = "--hosts", defaultValue = "2", description = "Number of hosts (default ${DEFAULT-VALUE}).") int hosts;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            Lab lab = Lab.standard(hosts);
            for (Lab.LabHost h : lab.up(line -> { out.println(line); out.flush(); })) {
                out.println(h.name() + "  " + h.ref().uri() + "  (registered as host '" + h.name() + "')");
            }
            Lab.LabHost demoHost = lab.ensureDemoVm(out::println);
            out.println("Shared storage: " + lab.sharedDir() + " (pool '" + Lab.SHARED_POOL + "' on every host). Demo VM '" + Lab.DEMO_VM
                    + "' is on " + demoHost.name() + ".");
            out.println("Local storage: pool '" + Lab.LOCAL_POOL + "' on " + Lab.LOCAL_DIR + ", private to each host (try --offline or --copy-storage).");
            return 0;
        }
    }

    @Command(name = "status", description = "Show the lab's hosts and their VMs.")
    static final class Status implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Option(names = "--hosts", defaultValue = "8", hidden = true) int hosts;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            boolean any = false;
            for (Lab.HostStatus s : Lab.standard(hosts).status()) {
                if (!s.daemonRunning() && !java.nio.file.Files.exists(s.host().dir())) continue;
                any = true;
                out.printf("%-6s %-28s %-12s %s%n", s.host().name(), s.host().ref().uri(),
                        s.reachable() ? "up" : s.daemonRunning() ? "unreachable" : "down",
                        s.vms().stream().map(v -> v.name() + " (" + state(v) + ")").collect(Collectors.joining(", ")));
            }
            if (!any) out.println("The lab is not set up. Start it with 'kvmigrate lab up'.");
            return 0;
        }

        private static String state(VmInfo v) {
            return v.state().name().toLowerCase();
        }
    }

    @Command(name = "down", description = "Power off the lab's VMs and stop its daemons (touches nothing it did not create).")
    static final class Down implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Option(names = "--hosts", defaultValue = "8", hidden = true) int hosts;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            Lab.standard(hosts).down(line -> { out.println(line); out.flush(); });
            out.println("Lab stopped. Disk images stay in " + Lab.Config.defaults(1).root() + ".");
            return 0;
        }
    }
}
