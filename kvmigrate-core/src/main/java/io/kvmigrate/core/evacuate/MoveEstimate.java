package io.kvmigrate.core.evacuate;

import io.kvmigrate.core.plan.Calibration;
import io.kvmigrate.core.plan.GuestProfile;
import io.kvmigrate.core.plan.PreCopyModel;

/**
 * What one move is predicted to take at a given bandwidth: the planner's pre-copy model on the guest's measured profile
 * (non-zero memory; the dirty rate when it was measured, else 0 and the time is a lower bound) for a live move; the fixed
 * cost alone for an offline move of a definition.
 *
 * @param guest the live guest's profile; null for an offline move
 * @param downtimeMs the downtime limit the move starts with
 */
public record MoveEstimate(GuestProfile guest, long downtimeMs, Calibration calibration) {
    /** A shut-off VM: its definition moves, no memory. */
    public static MoveEstimate offline(Calibration c) {
        return new MoveEstimate(null, 0, c);
    }

    /** Bytes of memory the move must send at least once (its share of the drain's bandwidth bound). */
    public long nonZeroBytes() {
        return guest == null ? 0 : guest.nonZeroBytes();
    }

    /** Whether plain pre-copy converges at {@code bandwidthBps} under the downtime limit (always, for offline moves). */
    public boolean converges(long bandwidthBps) {
        return guest == null || PreCopyModel.simulate(guest, bandwidthBps, downtimeMs, calibration).converges();
    }

    /**
     * Predicted wall time at {@code bandwidthBps}; for a move that is not expected to converge, its floor (every non-zero
     * page sent once, plus the fixed cost), which is what it costs at least before its policy acts.
     */
    public long predictMs(long bandwidthBps) {
        if (guest == null) return calibration.startupMs();
        PreCopyModel.Outcome o = PreCopyModel.simulate(guest, bandwidthBps, downtimeMs, calibration);
        return o.converges() ? o.totalMs() : PreCopyModel.floorMs(guest, bandwidthBps) + calibration.startupMs();
    }
}
