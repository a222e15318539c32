package io.kvmigrate.cli;

import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.api.MoveRequest;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.plan.Plan;
import io.kvmigrate.core.plan.PolicyKind;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kvmigrate plan VM --from H --to H}: measure the guest, predict the migration, name the strategy. */
@Command(name = "plan", description = "Measure a running VM's dirty rate and memory, predict a live migration and name the strategy.")
final class PlanCommand implements Callable<Integer>, Main.JsonCapable {
    @Spec CommandSpec spec;
    @Mixin VmAndHosts move;
    @Option(names = "--bandwidth", paramLabel = "MiB/s", description = "Bandwidth cap in MiB/s (default: assume a 10 GbE link).") long bandwidth;
    @Option(names = "--max-downtime", paramLabel = "ms", description = "Most downtime the policy may allow (default 300).") long maxDowntime;
    @Option(names = "--policy", defaultValue = "safe", paramLabel = "plain|safe|finish", description = "Convergence policy (default ${DEFAULT-VALUE}).") String policy;
    @Option(names = "--measure", description = "Plan for 'migrate --measure' (which measures before every start and may arm"
            + " auto-converge) instead of plain 'migrate' (which starts short migrations unmeasured).") boolean measure;
    @Option(names = "--json", description = "Print one JSON object, nothing else.") boolean json;

    @Override
    public boolean json() {
        return json;
    }

    @Override
    public Integer call() {
        HostRegistry registry = HostRegistry.fromEnvironment();
        PolicyKind kind = MigrateCommand.policyKind(policy);
        MoveRequest request = MoveRequest.live(move.vm, move.source(registry), move.target(registry)).withPolicy(kind)
                .withLimits(bandwidth, maxDowntime, null).withMeasure(measure);
        Plan p;
        try (Kvmigrate k = Facade.create(null)) {
            p = k.plan(request); // opens no job store: a plan records nothing
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            var root = Output.json().createObjectNode();
            root.put("ok", true);
            root.put("vm", move.vm);
            root.set("plan", PlanOutput.json(p));
            Output.printJson(out, root);
        } else {
            PlanOutput.print(out, p);
        }
        return 0;
    }
}
