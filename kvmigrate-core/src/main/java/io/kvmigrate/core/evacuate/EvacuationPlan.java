package io.kvmigrate.core.evacuate;

import java.util.Map;

/**
 * What a drain will do, decided before anything moves: where each VM goes, what fits nowhere, the order and the prediction.
 *
 * @param excluded targets left out, by name, with why (in maintenance, unreachable)
 */
public record EvacuationPlan(EvacuationRequest request, Map<String, String> excluded, PlacementPlan placement, DrainSchedule schedule) {
    public EvacuationPlan {
        excluded = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(excluded));
    }

    /** VMs on the drained hosts: placed and not. */
    public int vmCount() {
        return placement.moves().size() + placement.unplaced().size();
    }
}
