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

    /** The guest's dirty rate as measured (bytes/s; 0 when not measured or offline). */
    public long dirtyBps() {
        return guest == null ? 0 : guest.dirtyRateBps();
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
     * What the move costs the drain when it is guaranteed {@code shareBps}: its set-up (the fixed cost and the walk over its
     * zero pages, which use no bandwidth) and the bytes it sends (every non-zero page, then what was dirtied meanwhile, as
     * pre-copy at that share sends them; its non-zero memory once when it would not converge there).
     */
    public Work work(long shareBps) {
        if (guest == null) return new Work(calibration.startupMs(), 0, true);
        long setup = calibration.startupMs() + Math.round((double) guest.zeroBytes() * 1000 / calibration.zeroScanBps());
        PreCopyModel.Outcome o = PreCopyModel.simulate(guest, shareBps, downtimeMs, calibration);
        return new Work(setup, o.converges() ? o.bytesSent() : guest.nonZeroBytes(), o.converges());
    }

    /** A move's cost in the drain's fluid model: time without bandwidth first, then bytes over the link. */
    public record Work(long setupMs, long bytes, boolean converges) {
        /** Its wall time alone at {@code bps} (the link's efficiency aside): how long it is, for ordering. */
        public long aloneMs(long bps) {
            return setupMs + Math.round((double) bytes * 1000 / Math.max(1, bps));
        }
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
