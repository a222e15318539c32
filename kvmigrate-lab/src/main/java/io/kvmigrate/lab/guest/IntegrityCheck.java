package io.kvmigrate.lab.guest;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** Verifies every byte of the span of a PAUSED guest: one boundary, no stale or lost page, no changed byte. */
public final class IntegrityCheck {

    /** More than this many lines would bury the first, most useful ones. */
    static final int MAX_PROBLEMS = 20;

    private IntegrityCheck() {
    }

    /**
     * Outcome of {@link #verify}.
     *
     * @param ok true if no problem was found
     * @param pass pass counter read from the status block, -1 if the status block is missing
     * @param boundaryPage k: pages [0,k) carry {@code pass}, pages [k,n) carry {@code pass - 1}; -1 if unknown
     * @param pagesChecked pages read from the span, all 4096 bytes of each
     * @param problems at most {@value #MAX_PROBLEMS} lines, each naming the page and the found/expected values
     */
    public record Result(boolean ok, long pass, long boundaryPage, int pagesChecked, List<String> problems) {

        /** Copies the list so a Result never changes after the fact. */
        public Result {
            problems = List.copyOf(problems);
        }
    }

    /**
     * Checks the status block and all 4096 bytes of every page of the span.
     *
     * <p>With c = pass counter and n = span pages, a consistent snapshot has one k such that pages [0,k) hold
     * dword0 == c and pages [k,n) hold c-1, every page i holds dword1 == i ^ 0x4B564D47, and k is the status block's
     * page index or the one after it (or 0 right after the guest started a new pass). In pass 0 (the fill) every page
     * must already hold 0, i.e. the guest must have printed {@link TestGuest#READY_MARKER}. Every body (dwords 2..1023)
     * must hold what {@link PageContent} derives for the pass its header names; only the page the guest was writing may
     * hold a prefix of the new pass's body and the old one's after it (in RANDOM mode the body is written before the
     * header).
     */
    public static Result verify(GuestMemory mem, TestGuest.Params p) {
        Objects.requireNonNull(mem, "mem");
        Objects.requireNonNull(p, "p");
        ByteBuffer status = TestGuest.readExactly(mem, TestGuest.STATUS_ADDRESS, 12);
        if (status.getInt(0) != TestGuest.STATUS_MAGIC) {
            return new Result(false, -1, -1, 0, List.of(String.format(
                    "status block at 0x600: magic 0x%08x, expected 0x%08x (\"KVMC\"): guest not started",
                    status.getInt(0), TestGuest.STATUS_MAGIC)));
        }
        long pass = Integer.toUnsignedLong(status.getInt(4));
        long statusPage = Integer.toUnsignedLong(status.getInt(8));
        int n = p.spanPages();
        int[] dword0 = new int[n];
        int[] dword1 = new int[n];
        PageContent content = new PageContent(p);
        // In REPEATING mode every body is the fill pass's (pass 0); in pass 0 there is no previous pass.
        boolean rewritten = p.content() == TestGuest.Content.RANDOM;
        BodyComparison currentBodies = new BodyComparison(content, rewritten ? pass : 0, n);
        BodyComparison previousBodies = rewritten && pass > 0 ? new BodyComparison(content, pass - 1, n) : currentBodies;
        readPages(mem, p, dword0, dword1, currentBodies, previousBodies);

        List<String> summary = new ArrayList<>();
        List<String> details = new ArrayList<>();
        int current = (int) pass;
        int previous = current - 1;
        if (statusPage >= n) {
            summary.add(String.format("status block page index %d is outside the span of %d pages", statusPage, n));
        }
        int[] mismatches = mismatchesPerBoundary(dword0, current, previous);
        int k = chooseBoundary(pass, statusPage, mismatches);
        if (pass == 0 && statusPage + 1 < n) {
            summary.add(String.format("guest is still in the fill pass (pass 0) at page %d of %d: wait for \"%s\"",
                    statusPage, n, TestGuest.READY_MARKER));
        }
        if (pass > 0) {
            describeBoundaries(dword0, current, previous, mismatches, k, statusPage, summary);
        }
        for (int i = 0; i < n; i++) {
            int expected = i < k ? current : previous;
            if (dword0[i] != expected) {
                details.add(String.format("page %d: dword0 (pass) = %d, expected %d (%s the boundary at page %d)%s",
                        i, Integer.toUnsignedLong(dword0[i]), Integer.toUnsignedLong(expected),
                        i < k ? "before" : "at or after", k, age(dword0[i], expected)));
            }
            int tag = i ^ TestGuest.PAGE_TAG;
            if (dword1[i] != tag) {
                int other = dword1[i] ^ TestGuest.PAGE_TAG;
                details.add(String.format("page %d: dword1 = 0x%08x, expected 0x%08x (page index XOR 0x%08x)%s",
                        i, dword1[i], tag, TestGuest.PAGE_TAG,
                        other >= 0 && other < n ? " - holds the tag of page " + other : ""));
            }
            BodyComparison bodies = i < k ? currentBodies : previousBodies;
            if (!bodies.matches(i) && !(i == k && k == statusPage && halfRewritten(i, currentBodies, previousBodies))) {
                details.add(bodies.describe(i));
            }
        }
        List<String> problems = new ArrayList<>(summary);
        int room = Math.max(2, MAX_PROBLEMS - problems.size());
        if (details.size() > room) {
            problems.addAll(details.subList(0, room - 1));
            problems.add(String.format("... and %d more page problems", details.size() - (room - 1)));
        } else {
            problems.addAll(details);
        }
        return new Result(problems.isEmpty(), pass, k, n, problems);
    }

    /** The page being rewritten: the new pass's body up to some dword, the old pass's from there on. */
    private static boolean halfRewritten(int page, BodyComparison current, BodyComparison previous) {
        int newUpTo = current.matches(page) ? PageContent.BODY_DWORDS : current.firstBadDword(page);
        return previous.lastBadDword(page) < newUpTo;
    }

    /** Reads the span in 64 KiB chunks (libvirt's remote limit), keeps the header dwords and compares the bodies. */
    private static void readPages(GuestMemory mem, TestGuest.Params p, int[] dword0, int[] dword1,
            BodyComparison current, BodyComparison previous) {
        long total = p.spanBytes();
        int page = 0;
        for (long offset = 0; offset < total; offset += GuestMemory.MAX_READ) {
            int length = (int) Math.min(GuestMemory.MAX_READ, total - offset);
            ByteBuffer chunk = TestGuest.readExactly(mem, p.spanStart() + offset, length);
            for (int at = 0; at < length; at += TestGuest.PAGE_SIZE, page++) {
                dword0[page] = chunk.getInt(at);
                dword1[page] = chunk.getInt(at + 4);
                current.page(page, chunk, at);
                if (previous != current) {
                    previous.page(page, chunk, at);
                }
            }
        }
    }

    /**
     * Picks k among the values the status block allows, the one that explains the most headers. Anchoring k to the
     * status block (rather than to the headers alone) is what makes a stale page before the boundary show up as that
     * page instead of moving the boundary.
     */
    private static int chooseBoundary(long pass, long statusPage, int[] mismatches) {
        int n = mismatches.length - 1;
        if (pass == 0) {
            return n; // the fill pass has no "previous" pages: all must be written
        }
        List<Integer> candidates = new ArrayList<>();
        if (statusPage < n) {
            candidates.add((int) statusPage);      // stopped before the header store of that page
            candidates.add((int) statusPage + 1);  // stopped after it (in the delay loop, say)
        }
        if (statusPage == n - 1) {
            candidates.add(0);                     // new pass stored, page index not yet reset
        }
        if (candidates.isEmpty()) {
            candidates.add(bestBoundary(mismatches));
        }
        int best = candidates.get(0);
        for (int candidate : candidates) {
            if (mismatches[candidate] < mismatches[best]) {
                best = candidate;
            }
        }
        return best;
    }

    /** Adds a line for every extra c to c-1 edge, and one if the headers alone point at a different boundary. */
    private static void describeBoundaries(int[] dword0, int current, int previous, int[] mismatches, int k,
            long statusPage, List<String> summary) {
        List<Integer> edges = new ArrayList<>();
        for (int i = 1; i < dword0.length; i++) {
            if (dword0[i - 1] == current && dword0[i] == previous) {
                edges.add(i);
            }
        }
        if (edges.size() > 1) {
            summary.add(String.format("%d boundaries where pass %d turns into pass %d, at pages %s; expected one",
                    edges.size(), Integer.toUnsignedLong(current), Integer.toUnsignedLong(previous),
                    edges.size() > 8 ? edges.subList(0, 8) + "..." : edges));
        }
        int headersOnly = bestBoundary(mismatches);
        if (mismatches[k] > 0 && mismatches[headersOnly] == 0) {
            summary.add(String.format("headers alone are consistent with a boundary at page %d, but the status block"
                    + " says the guest was at page %d of pass %d: pages lost, or a stale status block",
                    headersOnly, statusPage, Integer.toUnsignedLong(current)));
        }
    }

    /** mismatches[k] = pages that disagree with a boundary at k, for every k in [0, n]. */
    private static int[] mismatchesPerBoundary(int[] dword0, int current, int previous) {
        int n = dword0.length;
        int[] mismatches = new int[n + 1];
        int after = 0;
        for (int i = 0; i < n; i++) {
            if (dword0[i] != previous) {
                after++;
            }
        }
        int before = 0;
        mismatches[0] = after;
        for (int k = 1; k <= n; k++) {
            if (dword0[k - 1] != current) {
                before++;
            }
            if (dword0[k - 1] != previous) {
                after--;
            }
            mismatches[k] = before + after;
        }
        return mismatches;
    }

    private static int bestBoundary(int[] mismatches) {
        int best = 0;
        for (int k = 1; k < mismatches.length; k++) {
            if (mismatches[k] < mismatches[best]) {
                best = k;
            }
        }
        return best;
    }

    /** Says which way a wrong pass number is off, so "stale" and "from the future" read differently. */
    private static String age(int found, int expected) {
        int behind = expected - found; // wraps like the guest's u32 counter
        if (behind > 0 && behind < 1 << 30) {
            return behind == 1 ? " - stale by one pass" : " - stale by " + behind + " passes";
        }
        if (behind < 0 && behind > -(1 << 30)) {
            return " - newer than the pass counter";
        }
        return "";
    }
}
