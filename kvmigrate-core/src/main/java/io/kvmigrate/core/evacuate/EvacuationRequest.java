package io.kvmigrate.core.evacuate;

import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.api.MoveRequest;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.plan.PolicyKind;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Empty one or more hosts: every VM on {@code sources} moves to one of {@code targets} (hosts in maintenance are left out
 * by the facade), within {@code limits}. Validated as a whole by {@link #validate()}, naming the bad field as a
 * {@code {field}} token (see {@link MoveRequest#wordFields}).
 *
 * @param bandwidthMiBps the total for all moves at once, divided among the running ones; 0 = no cap
 * @param maxDowntimeMs each live move's downtime limit (0 = libvirt's default)
 * @param timeout each move's timeout (null = none)
 * @param vcpuRatio how many vCPUs a target may run per CPU (1 = never overcommitted)
 * @param accepted preflight codes accepted for every move (as {@code migrate --accept})
 * @param measure measure each running guest's dirty rate before placing (about a second per VM) instead of predicting from
 *        its non-zero memory alone
 */
public record EvacuationRequest(List<HostRef> sources, List<HostRef> targets, DrainLimits limits, long bandwidthMiBps, PolicyKind policy,
        long maxDowntimeMs, Duration timeout, double vcpuRatio, Set<String> accepted, boolean measure) {

    public EvacuationRequest {
        sources = List.copyOf(sources == null ? List.of() : sources);
        targets = List.copyOf(targets == null ? List.of() : targets);
        if (limits == null) limits = DrainLimits.defaults();
        if (policy == null) policy = PolicyKind.SAFE;
        accepted = Set.copyOf(accepted == null ? Set.of() : accepted);
    }

    /** Drain {@code source} onto {@code targets} with the defaults. */
    public static EvacuationRequest of(HostRef source, List<HostRef> targets) {
        return new EvacuationRequest(List.of(source), targets, DrainLimits.defaults(), 0, PolicyKind.SAFE, 0, null, 1.0, Set.of(), false);
    }

    public EvacuationRequest withLimits(DrainLimits l) {
        return new EvacuationRequest(sources, targets, l, bandwidthMiBps, policy, maxDowntimeMs, timeout, vcpuRatio, accepted, measure);
    }

    public EvacuationRequest withBandwidth(long mibps) {
        return new EvacuationRequest(sources, targets, limits, mibps, policy, maxDowntimeMs, timeout, vcpuRatio, accepted, measure);
    }

    public EvacuationRequest withPolicy(PolicyKind p) {
        return new EvacuationRequest(sources, targets, limits, bandwidthMiBps, p, maxDowntimeMs, timeout, vcpuRatio, accepted, measure);
    }

    /** Checks every field; returns this, or throws INVALID_INPUT naming the field. */
    public EvacuationRequest validate() {
        if (sources.isEmpty()) throw invalid("No host to evacuate given.", "Name the host to empty.");
        if (targets.isEmpty()) throw invalid("No target host given.", "Name the targets in {to}, or register more hosts.");
        limits.validate();
        if (bandwidthMiBps < 0 || bandwidthMiBps > MoveRequest.MAX_BANDWIDTH_MIBPS) {
            throw invalid("{bandwidth} must be 0.." + MoveRequest.MAX_BANDWIDTH_MIBPS + " MiB/s, got " + bandwidthMiBps + ".",
                    "Give the total MiB/s for all moves, 0 for no cap.");
        }
        if (bandwidthMiBps > 0 && bandwidthMiBps < limits.maxParallel()) {
            throw invalid("{bandwidth} of " + bandwidthMiBps + " MiB/s cannot be divided among " + limits.maxParallel()
                    + " moves ({maxParallel}).", "Give at least 1 MiB/s per move.");
        }
        if (maxDowntimeMs < 0) throw invalid("{maxDowntime} must be >= 0, got " + maxDowntimeMs + ".", "Give milliseconds, e.g. 300.");
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw invalid("{timeout} must be positive, got " + timeout.toSeconds() + " s.", "Give seconds, e.g. 600.");
        }
        if (!(vcpuRatio >= 0.1 && vcpuRatio <= 64)) throw invalid("{vcpuRatio} must be 0.1..64, got " + vcpuRatio + ".", "Give e.g. 1 or 4.");
        Set<String> seen = new HashSet<>();
        for (HostRef s : sources) {
            if (!seen.add(s.uri())) throw invalid("Host " + s.name() + " is given twice to evacuate.", "Name each host once.");
        }
        Set<String> targetUris = new HashSet<>();
        for (HostRef t : targets) {
            if (!targetUris.add(t.uri())) throw invalid("Target " + t.name() + " is given twice in {to}.", "Name each target once.");
            if (seen.contains(t.uri())) throw invalid("Host " + t.name() + " is being evacuated and cannot be a target.", "Drop it from {to}.");
        }
        return this;
    }

    private static KvmigrateException invalid(String message, String hint) {
        return KvmigrateException.invalidInput(message, hint);
    }
}
