package io.kvmigrate.core.engine;

import java.util.List;

/** Where a VM is running and where it is defined persistently, after a migration or a failed one. */
public record Placement(String vm, List<String> runningOn, List<String> persistentOn, List<String> presentOn) {
    public Placement {
        runningOn = List.copyOf(runningOn);
        persistentOn = List.copyOf(persistentOn);
        presentOn = List.copyOf(presentOn);
    }

    /** Exactly one running copy, on {@code host}, and defined persistently there. */
    public boolean runsOnlyOn(String host) {
        return runningOn.equals(List.of(host)) && persistentOn.contains(host);
    }

    @Override
    public String toString() {
        return "running on " + (runningOn.isEmpty() ? "no host" : String.join(", ", runningOn))
                + "; defined on " + (persistentOn.isEmpty() ? "no host" : String.join(", ", persistentOn));
    }
}
