package io.kvmigrate.lab.guest;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PageContentTest {

    @Test
    void body_random_equalsReplayingTheGuestsLoopPassByPass() {
        // Replays dirtier.asm's loop: one xorshift32 state for every body dword of every page of every pass.
        TestGuest.Params p = new TestGuest.Params(1 << 20, 5, 0, TestGuest.Content.RANDOM, 0x2545F491);
        PageContent content = new PageContent(p);
        int state = p.seed();
        for (long pass = 0; pass < 4; pass++) {
            for (int page = 0; page < p.spanPages(); page++) {
                PageContent.Body body = content.body(pass, page);
                for (int d = 0; d < PageContent.BODY_DWORDS; d++) {
                    state = step(state);
                    assertThat(body.next()).as("pass %d page %d dword %d", pass, page, d).isEqualTo(state);
                }
            }
        }
    }

    @Test
    void body_random_runsOnIntoTheNextPage() {
        TestGuest.Params p = new TestGuest.Params(1 << 20, 8, 0, TestGuest.Content.RANDOM, 7);
        PageContent content = new PageContent(p);
        PageContent.Body run = content.body(3, 2);
        for (int d = 0; d < PageContent.BODY_DWORDS; d++) {
            run.next();
        }
        assertThat(run.next()).isEqualTo(content.body(3, 3).next());
    }

    @Test
    void body_repeating_isOneDwordPerPageFromIndexAndSeed() {
        TestGuest.Params p = TestGuest.Params.defaults();
        PageContent.Body body = new PageContent(p).body(9, 3);

        assertThat(body.next()).isEqualTo(3 * 0x9E3779B9 ^ 0x2545F491);
        assertThat(PageContent.repeatingDword(p.seed(), 4)).isNotEqualTo(PageContent.repeatingDword(p.seed(), 3));
    }

    /** xorshift32 (13, 17, 5) written out again, so a slip in PageContent.xorshift shows here. */
    private static int step(int x) {
        int y = x ^ (x << 13);
        y = y ^ (y >>> 17);
        return y ^ (y << 5);
    }
}
