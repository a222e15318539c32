package io.kvmigrate.core.plan;

/**
 * The iterative pre-copy as a pass-by-pass simulation. Pass 1 sends every non-zero page (and walks the zero
 * pages); pass k+1 sends what the guest dirtied during pass k. A guest can never dirty more distinct pages than
 * it has non-zero ones, so a pass sends at most {@code nonZeroBytes}. The hypervisor stops the guest and sends the
 * rest once that rest fits in the downtime limit.
 *
 * <p>Pure arithmetic on measured inputs: the same numbers always give the same prediction.
 */
public final class PreCopyModel {
    /** Device state and the switch itself, on top of the last memory pass. */
    static final long SWITCHOVER_MS = 40;
    /** Give up simulating after this many passes: such a migration is not converging in any useful sense. */
    static final int MAX_PASSES = 200;

    private PreCopyModel() {
    }

    /** The outcome of plain pre-copy. */
    public record Outcome(boolean converges, int passes, long transferMs, long totalMs, long downtimeMs, long bytesSent,
            long stallRemainingBytes, long neededDowntimeMs) {
    }

    /**
     * Simulates plain pre-copy.
     *
     * @param bandwidthBps the usable link bandwidth (the cap), bytes/s, &gt; 0
     * @param downtimeLimitMs the limit the hypervisor switches over under
     */
    public static Outcome simulate(GuestProfile g, long bandwidthBps, long downtimeLimitMs, Calibration c) {
        if (bandwidthBps <= 0) throw new IllegalArgumentException("bandwidth must be > 0");
        double b = bandwidthBps * c.linkEfficiency();
        double w = g.nonZeroBytes();
        // A saturated measurement only bounds the rate from below: assume the guest rewrites its working set as
        // fast as the hypervisor can look (every sync), which is what such a guest does once dirty logging is on.
        double d = g.dirtyRateSaturated() ? Math.max(g.dirtyRateBps(), w * 1000.0 / Math.max(1, c.minIterationMs())) : g.dirtyRateBps();
        double t = w / b + (double) g.zeroBytes() / c.zeroScanBps();
        double sent = w;
        double rest = Math.min(w, d * t);
        int passes = 1;
        double previous = Double.MAX_VALUE;
        int flat = 0;
        while (passes < MAX_PASSES) {
            double restMs = rest / b * 1000;
            if (restMs <= downtimeLimitMs) {
                long transfer = Math.round(t * 1000 + restMs);
                return new Outcome(true, passes, transfer, transfer + c.startupMs(), Math.round(restMs) + SWITCHOVER_MS,
                        Math.round(sent + rest), 0, 0);
            }
            // A stall: the rest stopped shrinking (the guest refills the span as fast as it is sent).
            flat = rest >= previous * 0.98 ? flat + 1 : 0;
            if (flat >= 2) break;
            double pass = Math.max(rest / b, c.minIterationMs() / 1000.0);
            previous = rest;
            sent += rest;
            t += pass;
            rest = Math.min(w, d * pass);
            passes++;
        }
        return new Outcome(false, passes, -1, -1, -1, Math.round(sent), Math.round(rest), Math.round(rest / b * 1000) + SWITCHOVER_MS);
    }

    /** Time to send every non-zero page once at the cap: no migration of this guest can be faster. */
    public static long floorMs(GuestProfile g, long bandwidthBps) {
        return Math.round((double) g.nonZeroBytes() / bandwidthBps * 1000);
    }
}
