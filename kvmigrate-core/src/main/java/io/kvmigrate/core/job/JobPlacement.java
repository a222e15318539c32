package io.kvmigrate.core.job;

import java.util.List;
import java.util.Objects;

/**
 * Where a job left its VM: the hosts it runs on and the hosts it is defined on persistently, and, when a host could not
 * be read (unreachable, its daemon down), why not: then the lists hold what the readable hosts showed, and nothing is
 * known of the others. A job's placement is the proof of the "one running copy" invariant.
 */
public record JobPlacement(List<String> runningOn, List<String> definedOn, String unknownReason) {
    public JobPlacement {
        runningOn = List.copyOf(runningOn);
        definedOn = List.copyOf(definedOn);
    }

    /** Seen: running on {@code runningOn}, persistently defined on {@code definedOn}. */
    public static JobPlacement known(List<String> runningOn, List<String> definedOn) {
        return new JobPlacement(runningOn, definedOn, null);
    }

    /** Could not be read, for {@code reason}. */
    public static JobPlacement unknown(String reason) {
        return new JobPlacement(List.of(), List.of(), Objects.requireNonNull(reason, "reason"));
    }

    /** Seen on the hosts that could be read; the others could not, for {@code reason}. */
    public static JobPlacement partial(List<String> runningOn, List<String> definedOn, String reason) {
        return new JobPlacement(runningOn, definedOn, Objects.requireNonNull(reason, "reason"));
    }

    public boolean isKnown() {
        return unknownReason == null;
    }

    @Override
    public String toString() {
        if (!isKnown() && runningOn.isEmpty() && definedOn.isEmpty()) return "placement unknown: " + unknownReason;
        return (isKnown() ? "" : "as far as could be read: ") + "running on " + (runningOn.isEmpty() ? "no host" : String.join(", ", runningOn))
                + "; defined on " + (definedOn.isEmpty() ? "no host" : String.join(", ", definedOn)) + (isKnown() ? "" : "; unknown: " + unknownReason);
    }
}
