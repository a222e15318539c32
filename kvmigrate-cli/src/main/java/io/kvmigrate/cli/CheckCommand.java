package io.kvmigrate.cli;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmNames;
import io.kvmigrate.core.preflight.Mode;
import io.kvmigrate.core.preflight.Preflight;
import io.kvmigrate.core.preflight.PreflightReport;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.HypervisorConnector;
import io.kvmigrate.libvirt.LibvirtConnector;
import java.io.PrintWriter;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
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
        VmNames.validate(move.vm);
        HostRegistry registry = HostRegistry.fromEnvironment();
        HostRef source = move.source(registry);
        HostRef target = move.target(registry);
        long started = System.nanoTime();
        Set<String> accepted = new LinkedHashSet<>(accept);
        PreflightReport report = run(new LibvirtConnector(), source, target);
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

    private PreflightReport run(HypervisorConnector connector, HostRef sourceRef, HostRef targetRef) {
        // Both connections open at once, each on its own thread (the common pool has one thread on a 2-CPU host):
        // a check of far-away hosts pays one connection set-up, not two.
        java.util.concurrent.ExecutorService opener = java.util.concurrent.Executors.newFixedThreadPool(2, r -> {
            Thread th = new Thread(r, "kvmigrate-connect");
            th.setDaemon(true);
            return th;
        });
        CompletableFuture<HostSession> s = CompletableFuture.supplyAsync(() -> connector.open(sourceRef), opener);
        CompletableFuture<HostSession> t = CompletableFuture.supplyAsync(() -> connector.open(targetRef), opener);
        opener.shutdown();
        try {
            HostSession source = join(s);
            HostSession target = join(t);
            VmInfo info = source.findVm(move.vm).orElseThrow(() -> new KvmigrateException(ErrorCode.UNKNOWN_VM, "resolve", sourceRef.name(), move.vm,
                    "No VM named '" + move.vm + "' is defined or running on host '" + sourceRef.name() + "'.",
                    "List the host's VMs with 'kvmigrate vms --host " + sourceRef.name() + "'."));
            Mode m = mode == null ? (info.state().isActive() ? Mode.LIVE : Mode.OFFLINE) : mode.live ? Mode.LIVE : Mode.OFFLINE;
            return Preflight.standard().run(source, target, info, m);
        } finally {
            // A failed open of one host must not leak the other's connection.
            closeQuietly(s);
            closeQuietly(t);
        }
    }

    private static HostSession join(CompletableFuture<HostSession> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof KvmigrateException k) throw k;
            throw e;
        }
    }

    private static void closeQuietly(CompletableFuture<HostSession> f) {
        if (f.isDone() && !f.isCompletedExceptionally()) f.join().close();
        else f.thenAccept(HostSession::close);
    }
}
