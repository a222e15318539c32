package io.kvmigrate.core.engine;

import java.util.List;

/** Where a VM is running and where it is defined persistently, after a migration or a failed one. */
public record Placement(String vm, List<String> runningOn, List<String> persistentOn, List<String> presentOn) {
    public Placement {
        runningOn = List.copyOf(runningOn);
        persistentOn = List.copyOf(persistentOn);
        presentOn = List.copyOf(presentOn);
    }

    /** Where {@code vm} runs and is defined, as seen through these sessions now. */
    public static Placement of(String vm, List<io.kvmigrate.core.spi.HostSession> hosts) {
        List<String> running = new java.util.ArrayList<>();
        List<String> persistent = new java.util.ArrayList<>();
        List<String> present = new java.util.ArrayList<>();
        for (io.kvmigrate.core.spi.HostSession s : hosts) {
            s.findVm(vm).ifPresent(v -> {
                present.add(s.host().name());
                if (v.state().isActive()) running.add(s.host().name());
                if (v.persistent()) persistent.add(s.host().name());
            });
        }
        return new Placement(vm, running, persistent, present);
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
