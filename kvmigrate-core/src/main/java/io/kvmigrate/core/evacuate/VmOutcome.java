package io.kvmigrate.core.evacuate;

import java.util.List;

/**
 * How one VM of a drain ended, and where it is.
 *
 * @param target where it was to go (null when it fit nowhere)
 * @param jobId its move's job (null when none was started)
 * @param runningOn where it runs now, as its job recorded (the source when it never moved)
 * @param reason why it did not move, or null
 */
public record VmOutcome(String vm, String source, String target, Status status, String jobId, List<String> runningOn, String errorCode,
        String reason) {
    public VmOutcome {
        runningOn = runningOn == null ? List.of() : List.copyOf(runningOn);
    }

    /** A VM's end in a drain. */
    public enum Status {
        /** Moved: it runs (or, shut off, is defined) on its target only. */
        MOVED,
        /** Its move failed; it is where the job says (the source, unless post-copy had begun). */
        FAILED,
        /** The drain was cancelled before or while it moved; it stayed on the source. */
        CANCELLED,
        /** No target could take it (reasons in the plan); it never moved. */
        NOT_PLACED;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
        }
    }

    public boolean leftBehind() {
        return status != Status.MOVED;
    }
}
