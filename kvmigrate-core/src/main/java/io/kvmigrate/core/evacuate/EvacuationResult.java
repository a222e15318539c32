package io.kvmigrate.core.evacuate;

import java.util.List;

/**
 * How a drain ended: every VM's outcome and placement, the plan it ran, and whether it was cancelled.
 *
 * @param jobId the drain's own job in the store (its moves are its children); null when it ran without a store
 */
public record EvacuationResult(EvacuationPlan plan, List<VmOutcome> outcomes, boolean cancelled, long elapsedMs, String jobId) {
    public EvacuationResult {
        outcomes = List.copyOf(outcomes);
    }

    public List<VmOutcome> leftBehind() {
        return outcomes.stream().filter(VmOutcome::leftBehind).toList();
    }

    public long moved() {
        return outcomes.stream().filter(o -> o.status() == VmOutcome.Status.MOVED).count();
    }
}
