package io.kvmigrate.core.engine;

import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.spi.HostSession;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where a VM is running and where it is defined persistently, after a migration or a failed one, as read through each
 * host's session. A host that could not be read (its daemon down, the link cut) is listed in {@code unreadable} with
 * why: what is known of it is nothing, and it is never reported as "no host".
 */
public record Placement(String vm, List<String> runningOn, List<String> persistentOn, List<String> presentOn,
        Map<String, String> unreadable) {
    public Placement {
        runningOn = List.copyOf(runningOn);
        persistentOn = List.copyOf(persistentOn);
        presentOn = List.copyOf(presentOn);
        unreadable = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(unreadable));
    }

    /** Every host read. */
    public Placement(String vm, List<String> runningOn, List<String> persistentOn, List<String> presentOn) {
        this(vm, runningOn, persistentOn, presentOn, Map.of());
    }

    /** Where {@code vm} runs and is defined, as seen through these sessions now; a session that fails is unreadable. */
    public static Placement of(String vm, List<HostSession> hosts) {
        return read(vm, hosts, null);
    }

    /**
     * As {@link #of}, for the two hosts of a live move: on the target, a paused copy that is not persistent is the
     * incoming copy of a migration in progress (it has not run an instruction yet), so it is present but not running.
     */
    public static Placement ofMove(String vm, HostSession source, HostSession target) {
        return read(vm, List.of(source, target), target);
    }

    /**
     * As {@link #ofMove}, with the source left out as unreadable for {@code why}: for when its session is held by a
     * hypervisor call that does not return (libvirt then answers that session's other calls on the VM no more).
     */
    public static Placement ofMoveTargetOnly(String vm, HostSession source, HostSession target, String why) {
        Placement t = read(vm, List.of(target), target);
        Map<String, String> unreadable = new LinkedHashMap<>();
        unreadable.put(source.host().name(), why);
        unreadable.putAll(t.unreadable());
        return new Placement(vm, t.runningOn(), t.persistentOn(), t.presentOn(), unreadable);
    }

    private static Placement read(String vm, List<HostSession> hosts, HostSession incomingOn) {
        List<String> running = new ArrayList<>();
        List<String> persistent = new ArrayList<>();
        List<String> present = new ArrayList<>();
        Map<String, String> unreadable = new LinkedHashMap<>();
        for (HostSession s : hosts) {
            String host = s.host().name();
            try {
                s.findVm(vm).ifPresent(v -> {
                    present.add(host);
                    boolean incoming = s == incomingOn && v.state() == VmState.PAUSED && !v.persistent();
                    if (v.state().isActive() && !incoming) running.add(host);
                    if (v.persistent()) persistent.add(host);
                });
            } catch (KvmigrateException e) {
                unreadable.put(host, e.getMessage());
            }
        }
        return new Placement(vm, running, persistent, present, unreadable);
    }

    /** Every host could be read. */
    public boolean known() {
        return unreadable.isEmpty();
    }

    /** Exactly one running copy, on {@code host}, and defined persistently there (as far as the readable hosts show). */
    public boolean runsOnlyOn(String host) {
        return runningOn.equals(List.of(host)) && persistentOn.contains(host);
    }

    @Override
    public String toString() {
        if (unreadable.isEmpty()) {
            return "running on " + (runningOn.isEmpty() ? "no host" : String.join(", ", runningOn))
                    + "; defined on " + (persistentOn.isEmpty() ? "no host" : String.join(", ", persistentOn));
        }
        // what could not be read first: it is the part an operator must look at, and it is never "no host"
        StringBuilder b = new StringBuilder("unknown on ");
        unreadable.forEach((h, why) -> b.append(h).append(" (could not be read: ").append(why).append("), "));
        b.setLength(b.length() - 2);
        return b.append("; on the other host(s): ").append(runningOn.isEmpty() ? "running nowhere" : "running on " + String.join(", ", runningOn))
                .append(", ").append(persistentOn.isEmpty() ? "defined nowhere" : "defined on " + String.join(", ", persistentOn)).toString();
    }
}
