package io.kvmigrate.cli;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.evacuate.DrainLimits;
import io.kvmigrate.core.evacuate.Evacuation;
import io.kvmigrate.core.evacuate.EvacuationPlan;
import io.kvmigrate.core.evacuate.EvacuationRequest;
import io.kvmigrate.core.evacuate.EvacuationResult;
import io.kvmigrate.core.model.HostRef;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * {@code kvmigrate evacuate HOST}: empty a host. Thin over the facade ({@link Kvmigrate#evacuation}): flags become an
 * {@link EvacuationRequest}, the core places, orders and runs the moves as jobs, {@link EvacuationOutput} draws them.
 * Exit 0 when every VM moved, {@link ErrorCode#VMS_LEFT_BEHIND} (20) when any stayed (fit nowhere, failed, cancelled).
 */
@Command(name = "evacuate", description = "Empty a host: place every VM on a target that passes its checks, then move them in parallel within limits.")
final class EvacuateCommand implements Callable<Integer>, Main.JsonCapable {
    @Spec CommandSpec spec;
    @Mixin Facade.DbOption db;
    @Parameters(index = "0", paramLabel = "HOST", description = "The host to empty: registered name or libvirt URI.") String host;
    @Option(names = "--to", split = ",", paramLabel = "H,H,...", description = "Targets (default: every other registered host). Hosts in maintenance are never targets.")
    List<String> to;
    @Option(names = "--max-parallel", paramLabel = "N", defaultValue = "2", description = "Moves at once, in all (default ${DEFAULT-VALUE}).") int maxParallel;
    @Option(names = "--max-out-per-host", paramLabel = "N", defaultValue = "2", description = "Moves leaving one host at once (default ${DEFAULT-VALUE}).") int maxOutPerHost;
    @Option(names = "--max-in-per-host", paramLabel = "N", defaultValue = "1", description = "Moves arriving at one host at once (default ${DEFAULT-VALUE}).") int maxInPerHost;
    @Option(names = "--bandwidth", paramLabel = "MiB/s", description = "Total bandwidth for all moves at once, divided among the running ones (default: no cap).") long bandwidth;
    @Option(names = "--policy", defaultValue = "safe", paramLabel = "plain|safe|finish", description = "Each live move's convergence policy, as for migrate (default ${DEFAULT-VALUE}).") String policy;
    @Option(names = "--max-downtime", paramLabel = "ms", description = "Each live move's downtime limit, as for migrate.") long maxDowntime;
    @Option(names = "--timeout", paramLabel = "s", description = "Abort a move after this many seconds (its VM stays on the source).") Long timeout;
    @Option(names = "--vcpu-ratio", paramLabel = "R", defaultValue = "1", description = "vCPUs a target may run per CPU (default ${DEFAULT-VALUE}: never overcommitted).") double vcpuRatio;
    @Option(names = "--accept", paramLabel = "CODE", description = "Accept a preflight finding for every move by its code (repeatable).") List<String> accept = List.of();
    @Option(names = "--measure", description = "Measure each running guest's dirty rate (about 1 s each) before planning.") boolean measure;
    @Option(names = "--dry-run", description = "Print the plan (VM -> target, predicted time each, predicted makespan) and change nothing.") boolean dryRun;
    @Option(names = "--json", description = "Print one JSON object with the plan and every VM's outcome, nothing else.") boolean json;

    @Override
    public boolean json() {
        return json;
    }

    @Override
    public Integer call() {
        HostRegistry registry = HostRegistry.fromEnvironment();
        HostRef source = registry.resolve(host);
        List<HostRef> targets = new ArrayList<>();
        if (to != null && !to.isEmpty()) {
            for (String t : to) targets.add(registry.resolve(t.trim()));
        } else {
            for (HostRef h : registry.list()) if (!h.uri().equals(source.uri()) && !h.name().equals(source.name())) targets.add(h);
        }
        EvacuationRequest request = new EvacuationRequest(List.of(source), targets, new DrainLimits(maxParallel, maxOutPerHost, maxInPerHost),
                bandwidth, MigrateCommand.policyKind(policy), maxDowntime, timeout == null ? null : Duration.ofSeconds(timeout), vcpuRatio,
                new LinkedHashSet<>(accept), measure).validate();
        PrintWriter out = spec.commandLine().getOut();
        try (Kvmigrate k = Facade.open(db, spec.commandLine().getErr())) {
            Evacuation evacuation = k.evacuation(request);
            EvacuationPlan plan = evacuation.plan();
            EvacuationOutput output = new EvacuationOutput(out);
            if (!json) output.printPlan(plan, dryRun);
            if (dryRun) {
                if (json) Output.printJson(out, EvacuationOutput.json(plan, null));
                return plan.placement().unplaced().isEmpty() ? 0 : ErrorCode.VMS_LEFT_BEHIND.exitCode();
            }
            SignalHandler previousInt = installCancel("INT", evacuation);
            SignalHandler previousTerm = installCancel("TERM", evacuation);
            EvacuationResult result;
            try {
                result = evacuation.run(plan, json ? null : output::on);
            } finally {
                restore("INT", previousInt);
                restore("TERM", previousTerm);
            }
            if (json) Output.printJson(out, EvacuationOutput.json(plan, result));
            else output.printSummary(result);
            return result.leftBehind().isEmpty() ? 0 : ErrorCode.VMS_LEFT_BEHIND.exitCode();
        }
    }

    /** Ctrl-C and SIGTERM stop the drain cleanly: queued moves never start, running ones are aborted (each VM on one host). */
    private static SignalHandler installCancel(String name, Evacuation e) {
        try {
            return Signal.handle(new Signal(name), sig -> e.cancel("SIG" + name));
        } catch (IllegalArgumentException ex) {
            return null;
        }
    }

    private static void restore(String name, SignalHandler previous) {
        if (previous != null) Signal.handle(new Signal(name), previous);
    }

    /** For messages that need it: the exception a left-behind drain is, in JSON's error object. */
    static KvmigrateException leftBehind(EvacuationResult r) {
        return new KvmigrateException(ErrorCode.VMS_LEFT_BEHIND, "evacuate", r.plan().request().sources().get(0).name(), null,
                r.leftBehind().size() + " VM(s) left on the host: " + String.join(", ", r.leftBehind().stream().map(o -> o.vm() + " ("
                        + o.status().label() + ")").toList()) + ".", "See each VM's reason; fix it and run evacuate again (moved VMs stay where they are).");
    }
}
