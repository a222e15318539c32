package io.kvmigrate.cli;

import io.kvmigrate.core.engine.EventListener;
import io.kvmigrate.core.engine.MigrationEvent;
import io.kvmigrate.core.model.JobStats;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;

/**
 * Draws migration events for a person: phases and decisions as lines, progress as a bar redrawn in place
 * on a terminal, or as a line every few seconds when output is a pipe or file. The bar's percentage never runs
 * backwards (a new pass re-sends dirtied pages; a restart starts again), the line carries an ETA from the live rates,
 * or says why there is none; a decision is one short line (what, and the first clause of why), the full reasoning
 * is in {@code --json} and the job's timeline.
 */
final class ProgressRenderer implements EventListener {
    private static final int WIDTH = 24;
    private final PrintWriter out;
    private final boolean terminal;
    private Instant lastLine = Instant.EPOCH;
    private boolean barShown;
    private Instant first;
    private double shownFraction;
    /** Longest reason printed on a decision line; the rest is in --json. */
    static final int REASON_WIDTH = 90;

    ProgressRenderer(PrintWriter out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    @Override
    public synchronized void on(MigrationEvent e) {
        if (first == null) first = e.at();
        if (e instanceof MigrationEvent.PhaseStarted p) {
            // When each step began, from the first: where the time of a slow move went.
            line("> " + p.phase().label() + ": " + p.detail() + String.format(java.util.Locale.ROOT, "  [%.2f s]",
                    java.time.Duration.between(first, p.at()).toMillis() / 1000.0));
        } else if (e instanceof MigrationEvent.StorageVerified s) {
            line("  disk " + s.disk() + " " + s.path() + ": shared (" + s.how() + ")");
        } else if (e instanceof MigrationEvent.Planned pl) {
            line("  decision: plan: " + pl.plan().strategy().label() + " (expected: " + expected(pl.plan()) + ")");
        } else if (e instanceof MigrationEvent.Decision d) {
            line("  decision: " + d.action() + " (" + shortReason(d.reason()) + ")");
        } else if (e instanceof MigrationEvent.PreflightFinished p) {
            endBar();
            if (!p.report().findings().stream().allMatch(f -> f.severity() == io.kvmigrate.core.preflight.Severity.PASS)) {
                PreflightPrinter.print(out, p.report(), p.accepted(), false);
            } else {
                out.println("  preflight: all " + p.report().findings().size() + " checks passed");
            }
        } else if (e instanceof MigrationEvent.Progress p) {
            progress(p);
        } else if (e instanceof MigrationEvent.DiskProgress d) {
            progress(d.at(), diskBar(d));
        } else if (e instanceof MigrationEvent.DiskCopied c) {
            line("  disk " + c.disk() + " copied to " + c.to() + ": " + Output.mib(c.bytesSent()) + " sent of " + Output.mib(c.length())
                    + " in " + Output.seconds(c.millis()) + ", verified sha256 " + c.sha256().substring(0, 16) + "...");
        } else {
            endBar();
        }
        out.flush();
    }

    private void progress(MigrationEvent.Progress p) {
        shownFraction = Math.max(shownFraction, p.stats().memoryFraction());
        progress(p.at(), bar(p.stats(), shownFraction));
    }

    /** The first clause of a reason, at most {@link #REASON_WIDTH} characters. */
    static String shortReason(String reason) {
        if (reason == null) return "";
        String r = reason.strip();
        int cut = r.length();
        for (String sep : new String[] {"; ", " (", ": "}) {
            int i = r.indexOf(sep);
            if (i > 20 && i < cut) cut = i;
        }
        r = r.substring(0, cut);
        return r.length() <= REASON_WIDTH ? r : r.substring(0, REASON_WIDTH - 3) + "...";
    }

    private static String expected(io.kvmigrate.core.plan.Plan p) {
        if (p.lowerBoundOnly()) return "at least " + Output.seconds(p.expectedTotalMs());
        return p.expectedToComplete() ? "about " + Output.seconds(p.expectedTotalMs()) + (p.expectedDowntimeMs() >= 0 ? ", downtime about "
                + p.expectedDowntimeMs() + " ms" : "") : "does not complete";
    }

    private void progress(Instant at, String text) {
        if (terminal) {
            out.print("\r" + text + "\u001b[K");
            barShown = true;
        } else if (Duration.between(lastLine, at).toMillis() >= 2000) {
            out.println(text);
            lastLine = at;
        }
    }

    static String bar(JobStats s) {
        return bar(s, s.memoryFraction());
    }

    /** {@code shown}: the fraction to draw, the highest seen so far in this move. */
    static String bar(JobStats s, double shown) {
        double f = Math.max(0, Math.min(1, shown));
        int filled = (int) Math.round(f * WIDTH);
        String phase = s.postcopyRequests() > 0 ? "post-copy" : s.iteration() <= 1 ? "copying" : "iteration " + s.iteration();
        return "[" + "#".repeat(filled) + ".".repeat(WIDTH - filled) + "] " + String.format("%3d%%", Math.round(f * 100)) + " " + phase
                + " | sent " + Output.mib(s.memoryProcessed()) + " | left " + Output.mib(s.memoryRemaining())
                + " | " + Output.mibPerSec(s.memoryBps()) + " | dirty " + Output.mibPerSec(s.dirtyRateBps())
                + " | exp. downtime " + s.downtimeMs() + " ms" + eta(s)
                + (s.diskTotal() > 0 ? " | disks " + Output.mib(s.diskProcessed()) + " of " + Output.mib(s.diskTotal())
                        + " (" + Math.round(100.0 * (s.diskTotal() - s.diskRemaining()) / s.diskTotal()) + "%)" : "");
    }

    /**
     * Time left from the live rates: what is left over what the link gains on the guest per second; when the guest
     * dirties as fast as the link sends, there is no ETA, and the line says so (the policy acts on it).
     */
    static String eta(JobStats s) {
        if (s.postcopyRequests() > 0 || s.memoryBps() <= 0 || s.memoryRemaining() <= 0) return "";
        long gain = s.memoryBps() - s.dirtyRateBps();
        if (gain <= s.memoryBps() / 20) {
            return " | stalled: dirty " + Output.mibPerSec(s.dirtyRateBps()) + " >= link " + Output.mibPerSec(s.memoryBps());
        }
        return " | ETA " + Output.seconds(s.memoryRemaining() * 1000 / gain);
    }

    /** One disk's copy: share of the file covered (holes count as covered), data sent, rate and time left. */
    static String diskBar(MigrationEvent.DiskProgress d) {
        double f = d.total() <= 0 ? 1 : Math.min(1.0, (double) d.position() / d.total());
        int filled = (int) Math.round(f * WIDTH);
        return "disk " + d.disk() + " [" + "#".repeat(filled) + ".".repeat(WIDTH - filled) + "] " + String.format("%3d%%", Math.round(f * 100))
                + " | " + Output.mib(d.position()) + " of " + Output.mib(d.total()) + " | sent " + Output.mib(d.bytesSent())
                + " | " + Output.mibPerSec(d.rateBps()) + " | ETA " + Output.seconds(d.etaMs());
    }

    private void line(String text) {
        endBar();
        out.println(text);
    }

    private void endBar() {
        if (barShown) {
            out.println();
            barShown = false;
        }
    }
}
