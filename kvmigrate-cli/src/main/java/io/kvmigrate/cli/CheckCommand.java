package io.kvmigrate.cli;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.preflight.Mode;
import io.kvmigrate.core.preflight.Preflight;
import io.kvmigrate.core.preflight.PreflightReport;
import java.io.PrintWriter;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kvmigrate check VM --from H --to H}: every preflight check, nothing moved; exit status non-zero on any failure. */
@Command(name = "check", description = "Check whether a VM can move from one host to another, without moving it.")
final class CheckCommand implements Callable<Integer>, Main.JsonCapable {
    @Spec CommandSpec spec;
    @Mixin VmAndHosts move;
    @ArgGroup(exclusive = true) ModeOption mode;
    @Option(names = "--accept", paramLabel = "CODE", description = "Accept a warning or overridable failure by its code (repeatable), as migrate would.")
    List<String> accept = List.of();
    @Option(names = "--json", description = "Print one JSON object with every finding, nothing else.") boolean json;

    /** --live or --offline; neither: live when the VM runs, offline when it is shut off. */
    static final class ModeOption {
        @Option(names = "--live", description = "Check for a live migration (default when the VM runs).") boolean live;
        @Option(names = "--offline", description = "Check for an offline migration (default when the VM is shut off).") boolean offline;
    }

    @Override
    public boolean json() {
        return json;
    }

    @Override
    public Integer call() {
        HostRegistry registry = HostRegistry.fromEnvironment();
        HostRef source = move.source(registry);
        HostRef target = move.target(registry);
        long started = System.nanoTime();
        Set<String> accepted = new LinkedHashSet<>(accept);
        Mode m = mode == null ? null : mode.live ? Mode.LIVE : Mode.OFFLINE;
        PreflightReport report;
        try (Kvmigrate k = Facade.create(null)) {
            report = k.check(move.vm, source, target, m); // opens no job store: a check records nothing
        }
        long elapsedMs = (System.nanoTime() - started) / 1_000_000;
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Output.printJson(out, PreflightPrinter.json(report, accepted, elapsedMs));
        } else {
            out.println("Preflight of VM '" + move.vm + "': " + source.name() + " -> " + target.name() + " (" + report.mode().name().toLowerCase()
                    + "), " + elapsedMs + " ms");
            PreflightPrinter.print(out, report, accepted, true);
        }
        return report.passes(accepted) ? 0 : ErrorCode.PREFLIGHT_FAILED.exitCode();
    }
}
