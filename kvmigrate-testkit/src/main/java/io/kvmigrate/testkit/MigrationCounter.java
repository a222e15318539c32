package io.kvmigrate.testkit;

import java.util.HashMap;
import java.util.Map;

/** Live migrations running at once on a {@link FakeHypervisor}: now, and the most ever seen (in all, out of a host, into a host). */
public final class MigrationCounter {
    /** The most migrations seen running at once, and how many ran in all. */
    public record Peaks(int total, int outOfOneHost, int intoOneHost, int started) {
    }

    private final Map<String, Integer> out = new HashMap<>();
    private final Map<String, Integer> in = new HashMap<>();
    private int running;
    private int started;
    private int peakTotal;
    private int peakOut;
    private int peakIn;

    synchronized void started(String source, String target) {
        started++;
        running++;
        peakTotal = Math.max(peakTotal, running);
        peakOut = Math.max(peakOut, out.merge(source, 1, Integer::sum));
        peakIn = Math.max(peakIn, in.merge(target, 1, Integer::sum));
    }

    synchronized void ended(String source, String target) {
        running--;
        out.merge(source, -1, Integer::sum);
        in.merge(target, -1, Integer::sum);
    }

    public synchronized Peaks peaks() {
        return new Peaks(peakTotal, peakOut, peakIn, started);
    }
}
