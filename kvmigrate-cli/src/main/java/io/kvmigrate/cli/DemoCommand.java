package io.kvmigrate.cli;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.engine.MigrationReport;
import io.kvmigrate.core.api.JobHandle;
import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.api.MoveRequest;
import io.kvmigrate.core.job.JobKind;
import io.kvmigrate.core.plan.PolicyKind;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.Lab;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.libvirt.LibvirtConnector;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code kvmigrate demo}: lab up, then a live migration of the demo VM there and back, proving the guest kept running. */
@Command(name = "demo", description = "Start the lab and live-migrate the demo VM to the second host and back (root).")
final class DemoCommand implements Callable<Integer> {
    /** A cap that makes the transfer last a few seconds, so the progress bar has something to show. */
    static final long DEMO_BANDWIDTH_MIBPS = 32;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Lab lab = Lab.standard(2);
        out.println("== Lab");
        List<Lab.LabHost> hosts = lab.up(line -> { out.println(line); out.flush(); });
        Lab.LabHost home = lab.ensureDemoVm(out::println);
        Lab.LabHost away = hosts.get(0).equals(home) ? hosts.get(1) : hosts.get(0);
        LibvirtConnector connector = new LibvirtConnector();
        try (HostSession s = connector.open(home.ref())) {
            VmInfo vm = s.findVm(Lab.DEMO_VM).orElseThrow();
            if (!vm.state().isActive()) {
                out.println("Starting VM '" + Lab.DEMO_VM + "' on " + home.name() + " ...");
                s.startVm(Lab.DEMO_VM);
            }
            long pass = LabVm.awaitRunning(s, Lab.DEMO_VM, Duration.ofSeconds(120));
            out.println("Guest running on " + home.name() + ": pass counter " + pass + " (read from guest memory through libvirt).");
        }
        LabVm.Position before = position(connector, home);
        out.println();
        out.println("== Live migration " + home.name() + " -> " + away.name() + " (bandwidth capped at " + DEMO_BANDWIDTH_MIBPS + " MiB/s)");
        MigrationReport there = migrate(connector, out, home, away);
        LabVm.Position middle = position(connector, away);
        out.println();
        out.println("== Live migration " + away.name() + " -> " + home.name());
        MigrationReport back = migrate(connector, out, away, home);
        LabVm.Position after = position(connector, home);
        out.println();
        if (!(before.compareTo(middle) < 0 && middle.compareTo(after) < 0)) {
            throw new KvmigrateException(ErrorCode.VERIFY_FAILED, "demo", home.name(), Lab.DEMO_VM,
                    "The guest's position did not keep rising: " + before + " -> " + middle + " -> " + after + ".", "See the serial log.");
        }
        out.println("The guest never stopped: its loop went from " + before + " (" + home.name() + ") to " + middle + " (" + away.name()
                + ") to " + after + " (" + home.name() + "), read from guest memory through libvirt; it never went back.");
        out.println("Downtime: " + there.downtimeMs() + " ms and " + back.downtimeMs() + " ms.");
        return 0;
    }

    private static MigrationReport migrate(LibvirtConnector connector, PrintWriter out, Lab.LabHost from, Lab.LabHost to) {
        MoveRequest req = new MoveRequest(Lab.DEMO_VM, from.ref(), to.ref(), JobKind.LIVE, PolicyKind.PLAIN, DEMO_BANDWIDTH_MIBPS, 0,
                Duration.ofMinutes(5), 0, false, null, null, java.util.Set.of(), false, null, false, false, false, false, true);
        try (Kvmigrate k = Facade.open(null, out)) {
            JobHandle job = k.submit(req.validate(), new ProgressRenderer(out, System.console() != null));
            out.println("Job " + job.id());
            MigrationReport r = job.await().live();
            MigrateCommand.printSummary(out, r);
            return r;
        }
    }

    private static LabVm.Position position(LibvirtConnector connector, Lab.LabHost host) {
        try (HostSession s = connector.open(host.ref())) {
            return LabVm.position(s, Lab.DEMO_VM);
        }
    }
}
