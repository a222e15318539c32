package io.kvmigrate.lab.guest;

import java.util.Objects;

/**
 * What the test guest writes into the body (dwords 2..1023) of a page, as dirtier.asm computes it, so a check can
 * derive every byte of a page from its index, the pass that wrote it and the seed.
 *
 * <p>{@link TestGuest.Content#REPEATING}: one dword, {@code (page * 0x9E3779B9) ^ seed}, repeated, written once in the
 * fill pass. {@link TestGuest.Content#RANDOM}: consecutive xorshift32 outputs whose state runs on from page to page and
 * pass to pass, so page i written in pass q holds outputs {@code (q * n + i) * 1022 + 1 ..}; xorshift32 is linear over
 * GF(2), so that state is reached by a 32x32 bit-matrix power instead of replaying every pass.
 */
public final class PageContent {

    /** Dwords per page body (the page minus its two header dwords). */
    public static final int BODY_DWORDS = TestGuest.PAGE_SIZE / 4 - 2;
    static final int GOLDEN = 0x9E3779B9;
    /** xorshift32 (13, 17, 5) has full period 2^32 - 1, so step counts are taken modulo it. */
    private static final long PERIOD = 0xFFFF_FFFFL;

    private final TestGuest.Params params;
    /** Columns of the matrix that advances the generator by one page body (1022 steps). */
    private final int[] onePage;

    /** Content model for guests started with {@code params}. */
    public PageContent(TestGuest.Params params) {
        this.params = Objects.requireNonNull(params, "params");
        this.onePage = power(stepMatrix(), BODY_DWORDS);
    }

    /** The repeated body dword of page {@code page} in {@link TestGuest.Content#REPEATING} mode. */
    public static int repeatingDword(int seed, int page) {
        return page * GOLDEN ^ seed;
    }

    /** One xorshift32 step, as dirtier.asm's {@code .xorshift} loop does it. */
    public static int xorshift(int x) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return x;
    }

    /**
     * A generator positioned just before the body of page {@code page} as written in pass {@code pass}; each
     * {@link Body#next()} returns the next body dword of that page, then of the following pages of the same pass.
     */
    public Body body(long pass, int page) {
        if (params.content() == TestGuest.Content.REPEATING) {
            return new Body(params.seed(), page, false);
        }
        long pagesBefore = (Math.floorMod(pass, PERIOD) * params.spanPages() + page) % PERIOD;
        return new Body(apply(power(onePage, pagesBefore), params.seed()), page, true);
    }

    /** Body dwords of consecutive pages of one pass, from the page it was made for. */
    public static final class Body {
        private int state;
        private int page;
        private int left = BODY_DWORDS;
        private final boolean random;

        private Body(int state, int page, boolean random) {
            this.state = state;
            this.page = page;
            this.random = random;
        }

        /** The next body dword. */
        public int next() {
            if (left == 0) {
                left = BODY_DWORDS;
                page++;
            }
            left--;
            if (random) {
                state = xorshift(state);
                return state;
            }
            return repeatingDword(state, page);
        }
    }

    /** Columns of the one-step matrix: column j is the step applied to the word with only bit j set. */
    private static int[] stepMatrix() {
        int[] m = new int[32];
        for (int j = 0; j < 32; j++) {
            m[j] = xorshift(1 << j);
        }
        return m;
    }

    private static int apply(int[] m, int x) {
        int y = 0;
        for (int j = 0; j < 32; j++) {
            if ((x >>> j & 1) != 0) {
                y ^= m[j];
            }
        }
        return y;
    }

    private static int[] multiply(int[] a, int[] b) {
        int[] c = new int[32];
        for (int j = 0; j < 32; j++) {
            c[j] = apply(a, b[j]);
        }
        return c;
    }

    private static int[] power(int[] m, long e) {
        int[] result = new int[32];
        for (int j = 0; j < 32; j++) {
            result[j] = 1 << j;
        }
        int[] base = m;
        while (e > 0) {
            if ((e & 1) != 0) {
                result = multiply(result, base);
            }
            base = multiply(base, base);
            e >>>= 1;
        }
        return result;
    }
}
