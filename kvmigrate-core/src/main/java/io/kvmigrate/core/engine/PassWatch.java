package io.kvmigrate.core.engine;

import io.kvmigrate.core.model.JobStats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The stall detection of {@link StagedConvergencePolicy}: passes and lows of the remaining in the current observation
 * window, which the policy restarts after every escalation so each stage gets its own chance. Pure: time is the
 * {@code elapsed} passed in. Not thread-safe (one polling thread).
 */
final class PassWatch {
    private final StagedConvergencePolicy.Settings settings;
    private long windowStartIteration = -1;
    private Duration windowStart = Duration.ZERO;
    private long currentIteration = -1;
    private long currentPeak;
    private final List<Long> passPeaks = new ArrayList<>();
    private Duration rateSince;
    private long bestPeak = Long.MAX_VALUE;
    private Duration bestPeakAt = Duration.ZERO;
    private Duration passStartedAt = Duration.ZERO;
    private long lastPassMs;
    /** When pass 2 was first seen: no pass can be smaller than the best before there is a best (a first pass may take minutes). */
    private Duration firstPassEndedAt;

    PassWatch(StagedConvergencePolicy.Settings settings) {
        this.settings = settings;
    }

    /** What the current pass started with (its peak remaining). */
    long currentPeak() {
        return currentPeak;
    }

    /** How long the pass before the current one took (the hypervisor's dirty rate is counted over it), or 0. */
    long lastPassMs() {
        return lastPassMs;
    }

    /** Complete passes (from pass 2 on) seen in the window. */
    int passes() {
        return passPeaks.size();
    }

    Duration windowStart() {
        return windowStart;
    }

    /** Tracks passes and lows of the remaining for the current observation window. */
    void observe(JobStats s, Duration elapsed) {
        if (windowStartIteration < 0) restart(s, elapsed);
        if (s.iteration() != currentIteration) {
            // A pass's volume is its peak: what it starts with (the pages dirtied during the pass before). Its low is
            // meaningless: every pass runs down to nearly nothing before the next dirty-bitmap sync refills it.
            if (currentIteration > windowStartIteration && currentIteration >= 2) {
                passPeaks.add(currentPeak);
                if (currentPeak < bestPeak - bestPeak / 100) {
                    bestPeak = currentPeak;
                    bestPeakAt = elapsed;
                }
            }
            if (currentIteration >= 0) lastPassMs = elapsed.minus(passStartedAt).toMillis();
            if (s.iteration() >= 2 && firstPassEndedAt == null) firstPassEndedAt = elapsed;
            passStartedAt = elapsed;
            currentIteration = s.iteration();
            currentPeak = s.memoryRemaining();
        } else {
            currentPeak = Math.max(currentPeak, s.memoryRemaining());
        }
        boolean outpaced = s.iteration() >= 2 && s.memoryBps() > 0 && s.dirtyRateBps() >= settings.rateRatio() * s.memoryBps();
        if (!outpaced) {
            rateSince = null;
        } else if (rateSince == null) {
            rateSince = elapsed;
        }
    }

    /** Why pre-copy counts as stalled in this window (the caller checked it is past pass 1 and above the limit), or null. */
    String preCopyStall(JobStats s, Duration elapsed) {
        if (rateSince != null && elapsed.minus(rateSince).compareTo(settings.rateWindow()) >= 0) {
            return String.format(Locale.ROOT, "dirtying %s while sending %s for %d s", mibs(s.dirtyRateBps()), mibs(s.memoryBps()),
                    elapsed.minus(rateSince).toSeconds());
        }
        int n = settings.stallPasses();
        if (passPeaks.size() > n) {
            boolean shrinking = false;
            for (int i = passPeaks.size() - n; i < passPeaks.size(); i++) {
                if (passPeaks.get(i) < passPeaks.get(i - 1) * 0.9) shrinking = true;
            }
            if (!shrinking) return "passes stopped shrinking: the last " + n + " each carried about " + mib(passPeaks.get(passPeaks.size() - 1));
        }
        Duration from = bestPeakAt.compareTo(windowStart) > 0 ? bestPeakAt : windowStart;
        if (firstPassEndedAt != null && firstPassEndedAt.compareTo(from) > 0) from = firstPassEndedAt;
        Duration since = elapsed.minus(from);
        // At least two passes long: with passes of 27 s (the lab's loaded 7 MiB/s) no new low within 15 s is no stall.
        Duration window = settings.noProgressWindow().compareTo(Duration.ofMillis(2 * lastPassMs)) >= 0 ? settings.noProgressWindow()
                : Duration.ofMillis(2 * lastPassMs);
        if (since.compareTo(window) >= 0) {
            return "no pass smaller than the best so far for " + since.toSeconds() + " s";
        }
        return null;
    }

    /** Starts a new observation window at this poll. */
    void restart(JobStats s, Duration elapsed) {
        windowStartIteration = s.iteration();
        windowStart = elapsed;
        passPeaks.clear();
        rateSince = null;
        bestPeak = Long.MAX_VALUE;
        bestPeakAt = elapsed;
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.0f MiB", bytes / 1048576.0);
    }

    static String mibs(long bps) {
        return String.format(Locale.ROOT, "%.0f MiB/s", bps / 1048576.0);
    }
}
