package io.kvmigrate.core.job;

import java.util.List;
import java.util.Objects;

/**
 * Where a job left its VM: the hosts it runs on and the hosts it is defined on persistently, or, when that could not
 * be read (a host unreachable), why not. A job's placement is the proof of the "one running copy" invariant.
 */
public record JobPlacement(List<String> runningOn, List<String> definedOn, String unknownReason) {
    public JobPlacement {
        runningOn = List.copyOf(runningOn);
        definedOn = List.copyOf(definedOn);
        if (unknownReason != null && (!runningOn.isEmpty() || !definedOn.isEmpty())) {
            throw new IllegalArgumentException("A placement is either known (hosts) or unknown (a reason), not both");
        }
    }

    /** Seen: running on {@code runningOn}, persistently defined on {@code definedOn}. */
    public static JobPlacement known(List<String> runningOn, List<String> definedOn) {
        return new JobPlacement(runningOn, definedOn, null);
    }

    /** Could not be read, for {@code reason}. */
    public static JobPlacement unknown(String reason) {
        return new JobPlacement(List.of(), List.of(), Objects.requireNonNull(reason, "reason"));
    }

    public boolean isKnown() {
        return unknownReason == null;
    }

    @Override
    public String toString() {
        if (!isKnown()) return "placement unknown: " + unknownReason;
        return "running on " + (runningOn.isEmpty() ? "no host" : String.join(", ", runningOn))
                + "; defined on " + (definedOn.isEmpty() ? "no host" : String.join(", ", definedOn));
    }
}
