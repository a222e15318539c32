package io.kvmigrate.lab.guest;

import java.nio.ByteBuffer;

/**
 * Every page body of a span compared with what one pass would have written there: for each page the first and last
 * differing dword, the number of differing bytes, and the found and expected dwords at the first difference.
 */
final class BodyComparison {

    static final int NONE = -1;

    final long pass;
    private final PageContent.Body expected;
    private final int[] first;
    private final int[] last;
    private final int[] badBytes;
    private final int[] foundAtFirst;
    private final int[] expectedAtFirst;

    /** Compares pages 0.. in order (call {@link #page} once per page) with what pass {@code pass} wrote. */
    BodyComparison(PageContent content, long pass, int pages) {
        this.pass = pass;
        this.expected = content.body(pass, 0);
        this.first = new int[pages];
        this.last = new int[pages];
        this.badBytes = new int[pages];
        this.foundAtFirst = new int[pages];
        this.expectedAtFirst = new int[pages];
    }

    /** Compares the body of page {@code page}, which starts at {@code at} in {@code chunk}. */
    void page(int page, ByteBuffer chunk, int at) {
        int firstBad = NONE;
        int lastBad = NONE;
        int bytes = 0;
        for (int d = 0; d < PageContent.BODY_DWORDS; d++) {
            int want = expected.next();
            int found = chunk.getInt(at + 8 + 4 * d);
            int diff = found ^ want;
            if (diff != 0) {
                if (firstBad == NONE) {
                    firstBad = d;
                    foundAtFirst[page] = found;
                    expectedAtFirst[page] = want;
                }
                lastBad = d;
                bytes += differingBytes(diff);
            }
        }
        first[page] = firstBad;
        last[page] = lastBad;
        badBytes[page] = bytes;
    }

    boolean matches(int page) {
        return first[page] == NONE;
    }

    /** Index of the first body dword that differs, or {@link #NONE}. */
    int firstBadDword(int page) {
        return first[page];
    }

    /** Index of the last body dword that differs, or {@link #NONE}. */
    int lastBadDword(int page) {
        return last[page];
    }

    /** One line naming the differing bytes of a page: how many, the first and last byte offsets, found and expected. */
    String describe(int page) {
        int firstDword = first[page];
        int diff = foundAtFirst[page] ^ expectedAtFirst[page];
        int firstByte = 8 + 4 * firstDword + Integer.numberOfTrailingZeros(diff) / 8; // little-endian
        return String.format("page %d: body differs from pass %d's content in %d of %d bytes, first at byte %d"
                        + " (dword at %d: 0x%08x, expected 0x%08x), last in the dword at byte %d",
                page, pass, badBytes[page], 4 * PageContent.BODY_DWORDS, firstByte, 8 + 4 * firstDword,
                foundAtFirst[page], expectedAtFirst[page], 8 + 4 * last[page]);
    }

    private static int differingBytes(int diff) {
        int n = 0;
        for (int b = 0; b < 4; b++) {
            if ((diff >>> (8 * b) & 0xFF) != 0) {
                n++;
            }
        }
        return n;
    }
}
