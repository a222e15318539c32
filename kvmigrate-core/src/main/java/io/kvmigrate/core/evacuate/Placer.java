package io.kvmigrate.core.evacuate;

import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.preflight.Finding;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Places the VMs of drained hosts on targets, before anything moves. A target is compatible with a VM when the VM's
 * preflight checks pass there ({@link Compatibility}: the same checks as {@code check}); it has room when its free memory,
 * less what earlier placements reserved, covers the VM and QEMU's overhead, and its vCPUs (running ones plus reserved)
 * stay within {@code cpus * vcpuRatio}. Big VMs are placed first (they have the fewest choices); each goes to the
 * compatible target with room that has the most free memory left (spreading the load). Preflight is asked lazily, in
 * that order, and at most once per VM and target, so a fleet costs about one check per VM; only a VM that fits nowhere
 * is checked against every target, and reported with each target's reasons.
 *
 * <p>Shut-off VMs reserve nothing (they do not run on the target) but are spread the same way.
 */
public final class Placer {
    /** Preflight of one VM against one target: the findings that refuse the move (empty: compatible). */
    @FunctionalInterface
    public interface Compatibility {
        List<Finding> blocking(Candidate vm, HostRef target);
    }

    /** A VM to place, as its source host sees it. */
    public record Candidate(int vmId, VmInfo vm, HostRef source, MoveEstimate estimate) {
        public boolean live() {
            return vm.state().isActive();
        }
    }

    private final Compatibility compatibility;
    private final double vcpuRatio;

    public Placer(Compatibility compatibility, double vcpuRatio) {
        if (!(vcpuRatio > 0)) throw new IllegalArgumentException("vcpuRatio must be > 0");
        this.compatibility = compatibility;
        this.vcpuRatio = vcpuRatio;
    }

    /** Memory a running VM reserves on its target: its own and QEMU's overhead (as the memory check counts it). */
    public static long reservationKiB(long memoryKiB) {
        return memoryKiB + Math.max(64 * 1024, memoryKiB / 10);
    }

    public PlacementPlan place(List<Candidate> candidates, List<TargetCapacity> targets) {
        Map<String, Room> rooms = new LinkedHashMap<>();
        for (TargetCapacity t : targets) rooms.put(t.host().name(), new Room(t));
        List<Candidate> order = new ArrayList<>(candidates);
        order.sort(Comparator.comparing((Candidate c) -> !c.live()).thenComparing(c -> -c.vm().spec().memoryKiB())
                .thenComparing(c -> -c.vm().spec().vcpus()).thenComparing(c -> c.source().name()).thenComparingInt(Candidate::vmId));
        Map<String, List<Finding>> checked = new HashMap<>();
        List<PlannedMove> moves = new ArrayList<>();
        List<PlacementPlan.Unplaced> unplaced = new ArrayList<>();
        for (Candidate c : order) {
            List<Room> byFree = new ArrayList<>(rooms.values());
            byFree.sort(Comparator.comparingLong((Room r) -> -r.free()).thenComparing(r -> r.capacity.host().name()));
            Room chosen = null;
            for (Room r : byFree) {
                if (r.capacity.host().name().equals(c.source().name())) continue;
                if (shortOfRoom(c, r) != null) continue;
                if (compatible(c, r, checked).isEmpty()) {
                    chosen = r;
                    break;
                }
            }
            if (chosen == null) {
                Map<String, List<Finding>> reasons = new LinkedHashMap<>();
                for (Room r : rooms.values()) {
                    if (r.capacity.host().name().equals(c.source().name())) continue;
                    List<Finding> why = new ArrayList<>(compatible(c, r, checked));
                    Finding room = shortOfRoom(c, r);
                    if (room != null) why.add(room);
                    reasons.put(r.capacity.host().name(), why);
                }
                unplaced.add(new PlacementPlan.Unplaced(c.vmId(), c.vm().name(), c.source(), reasons));
                continue;
            }
            long reserve = c.live() ? reservationKiB(c.vm().spec().memoryKiB()) : 0;
            int vcpus = c.live() ? c.vm().spec().vcpus() : 0;
            chosen.reservedKiB += reserve;
            chosen.reservedVcpus += vcpus;
            chosen.vms++;
            moves.add(new PlannedMove(c.vmId(), c.vm().name(), c.vm().spec().uuid(), c.source(), chosen.capacity.host(), c.live(),
                    c.vm().spec().memoryKiB(), c.vm().spec().vcpus(), reserve, c.estimate()));
        }
        Map<String, PlacementPlan.Use> use = new LinkedHashMap<>();
        rooms.forEach((n, r) -> use.put(n, new PlacementPlan.Use(r.capacity, r.reservedKiB, r.reservedVcpus, r.vms)));
        return new PlacementPlan(moves, unplaced, use);
    }

    private List<Finding> compatible(Candidate c, Room r, Map<String, List<Finding>> checked) {
        return checked.computeIfAbsent(c.source().name() + "/" + c.vm().name() + "\0" + r.capacity.host().name(),
                k -> List.copyOf(compatibility.blocking(c, r.capacity.host())));
    }

    /** Why the target has no room left for the VM after the placements before it, or null. */
    private Finding shortOfRoom(Candidate c, Room r) {
        if (!c.live()) return null;
        long need = reservationKiB(c.vm().spec().memoryKiB());
        if (r.free() < need) {
            return Finding.fail("TARGET_MEMORY_RESERVED", "CAPACITY", mib(need), mib(Math.max(0, r.free())) + " left of "
                    + mib(r.capacity.freeMemoryKiB()) + " free", "The VM needs " + mib(need) + " (with QEMU's overhead) but only "
                    + mib(Math.max(0, r.free())) + " of the target's free memory is not yet reserved by VMs placed there before it.",
                    "Free memory on the targets, add a target, or drain in steps.");
        }
        int limit = (int) Math.floor(r.capacity.cpus() * vcpuRatio);
        int used = r.capacity.usedVcpus() + r.reservedVcpus;
        if (r.capacity.cpus() > 0 && used + c.vm().spec().vcpus() > limit) {
            return Finding.fail("TARGET_VCPUS_RESERVED", "CAPACITY", c.vm().spec().vcpus() + " vCPUs", used + " of " + limit
                    + " vCPUs in use or reserved", "The VM's " + c.vm().spec().vcpus() + " vCPUs would take the target past " + limit
                    + " vCPUs (" + r.capacity.cpus() + " CPUs x " + vcpuRatio + ").", "Raise {vcpuRatio} if the target may run "
                    + "overcommitted, add a target, or drain in steps.");
        }
        return null;
    }

    private static String mib(long kib) {
        return (kib / 1024) + " MiB";
    }

    /** A target's capacity and what this placement reserved on it. */
    private static final class Room {
        final TargetCapacity capacity;
        long reservedKiB;
        int reservedVcpus;
        int vms;

        Room(TargetCapacity capacity) {
            this.capacity = capacity;
        }

        long free() {
            return capacity.freeMemoryKiB() - reservedKiB;
        }
    }
}
