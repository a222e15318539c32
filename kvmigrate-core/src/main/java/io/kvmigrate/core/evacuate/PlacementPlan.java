package io.kvmigrate.core.evacuate;

import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.preflight.Finding;
import java.util.List;
import java.util.Map;

/**
 * Where every VM of the drained hosts goes, decided before anything moves: the moves, and the VMs that fit nowhere with
 * the reasons per target (the preflight failures, or the room already reserved by VMs placed before them).
 */
public record PlacementPlan(List<PlannedMove> moves, List<Unplaced> unplaced, Map<String, Use> use) {
    public PlacementPlan {
        moves = List.copyOf(moves);
        unplaced = List.copyOf(unplaced);
        use = Map.copyOf(use);
    }

    /** A VM no target can take: each target's blocking findings, by target name, in the order the targets were given. */
    public record Unplaced(int vmId, String vm, HostRef source, Map<String, List<Finding>> reasons) {
        public Unplaced {
            reasons = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(reasons));
        }

        /** The distinct failing codes, for a one-line summary. */
        public List<String> codes() {
            return reasons.values().stream().flatMap(List::stream).map(Finding::code).distinct().toList();
        }
    }

    /** What a target holds after placement: its capacity and what the drain reserved on it. */
    public record Use(TargetCapacity capacity, long reservedMemoryKiB, int reservedVcpus, int vms) {
        public long freeAfterKiB() {
            return capacity.freeMemoryKiB() - reservedMemoryKiB;
        }
    }
}
