package io.kvmigrate.lab.guest;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class IntegrityCheckTest {

    /** 1 MiB span = 256 pages: small fake RAM, still sixteen 64 KiB reads. */
    private static final TestGuest.Params P = TestGuest.Params.defaults().withSpanMiB(1);
    private static final int N = P.spanPages();

    @Test
    void verify_consistentSnapshotInDelayLoop_passes() {
        // Stopped after page 99's header store: status says 99, boundary at 100.
        FakeGuestMemory mem = FakeGuestMemory.forSpan(P).status(7, 99).span(P, 7, 100);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, P);

        assertThat(result.problems()).isEmpty();
        assertThat(result.ok()).isTrue();
        assertThat(result.pass()).isEqualTo(7);
        assertThat(result.boundaryPage()).isEqualTo(100);
        assertThat(result.pagesChecked()).isEqualTo(N);
    }

    @Test
    void verify_consistentSnapshotBeforeHeaderStore_passes() {
        FakeGuestMemory mem = FakeGuestMemory.forSpan(P).status(7, 100).span(P, 7, 100);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, P);

        assertThat(result.problems()).isEmpty();
        assertThat(result.boundaryPage()).isEqualTo(100);
    }

    @Test
    void verify_newPassBeforePageIndexReset_passes() {
        // The guest stores the new pass first; the page index still says the last page.
        FakeGuestMemory mem = FakeGuestMemory.forSpan(P).status(8, N - 1).span(P, 8, 0);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, P);

        assertThat(result.problems()).isEmpty();
        assertThat(result.boundaryPage()).isZero();
    }

    @Test
    void verify_lastPageWritten_passes() {
        FakeGuestMemory mem = FakeGuestMemory.forSpan(P).status(8, N - 1).span(P, 8, N);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, P);

        assertThat(result.problems()).isEmpty();
        assertThat(result.boundaryPage()).isEqualTo(N);
    }

    @Test
    void verify_fillFinished_passes() {
        FakeGuestMemory mem = FakeGuestMemory.forSpan(P).status(0, N - 1).span(P, 0, N);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, P);

        assertThat(result.problems()).isEmpty();
        assertThat(result.pass()).isZero();
        assertThat(result.boundaryPage()).isEqualTo(N);
    }

    @Test
    void verify_fillInProgress_failsAndSaysSo() {
        FakeGuestMemory mem = FakeGuestMemory.forSpan(P).status(0, 10).span(P, 0, 11);
        for (int i = 11; i < N; i++) {
            mem.header(P, i, 0, 0); // untouched RAM
        }

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, P);

        assertThat(result.ok()).isFalse();
        assertThat(result.problems().get(0)).contains("fill pass").contains("page 10");
        assertThat(result.problems()).hasSize(IntegrityCheck.MAX_PROBLEMS);
    }

    @Test
    void verify_stalePage_reportsIt() {
        // Page 150 is after the boundary, so it should be at pass 6; it still holds pass 5.
        FakeGuestMemory mem = FakeGuestMemory.forSpan(P).status(7, 99).span(P, 7, 100).dword0(P, 150, 5);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, P);

        assertThat(result.ok()).isFalse();
        assertThat(result.boundaryPage()).isEqualTo(100);
        assertThat(result.problems()).containsExactly(
                "page 150: dword0 (pass) = 5, expected 6 (at or after the boundary at page 100) - stale by one pass");
    }

    @Test
    void verify_stalePageBeforeBoundary_reportsIt() {
        // Page 40 was written in pass 7 but the snapshot carries its pass-6 contents: a lost dirty page.
        FakeGuestMemory mem = FakeGuestMemory.forSpan(P).status(7, 99).span(P, 7, 100).dword0(P, 40, 6);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, P);

        assertThat(result.ok()).isFalse();
        assertThat(result.boundaryPage()).isEqualTo(100);
        assertThat(result.problems()).anySatisfy(line -> assertThat(line)
                .startsWith("page 40: dword0 (pass) = 6, expected 7 (before the boundary at page 100)"));
        assertThat(result.problems()).noneSatisfy(line -> assertThat(line).startsWith("page 41"));
    }

    @Test
    void verify_lostPagesJustBeforeBoundary_pointsAtThemAndTheStatusBlock() {
        // Pages 96..98 were dirtied in pass 7 but arrived with their pass-6 contents (page 99 may be unwritten yet).
        FakeGuestMemory mem = FakeGuestMemory.forSpan(P).status(7, 99).span(P, 7, 96);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, P);

        assertThat(result.ok()).isFalse();
        assertThat(result.problems()).anySatisfy(line -> assertThat(line)
                .contains("consistent with a boundary at page 96").contains("page 99 of pass 7"));
        assertThat(result.problems()).filteredOn(line -> line.contains("stale by one pass"))
                .hasSize(3).allSatisfy(line -> assertThat(line).matches("page 9[678]: .*"));
    }

    @Test
    void verify_wrongDword1_reportsIt() {
        FakeGuestMemory mem = FakeGuestMemory.forSpan(P).status(7, 99).span(P, 7, 100)
                .header(P, 200, 6, 17 ^ TestGuest.PAGE_TAG);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, P);

        assertThat(result.ok()).isFalse();
        assertThat(result.problems()).containsExactly(String.format(
                "page 200: dword1 = 0x%08x, expected 0x%08x (page index XOR 0x4b564d47) - holds the tag of page 17",
                17 ^ TestGuest.PAGE_TAG, 200 ^ TestGuest.PAGE_TAG));
    }

    @Test
    void verify_twoBoundaries_fails() {
        FakeGuestMemory mem = FakeGuestMemory.forSpan(P).status(7, 99).span(P, 7, 100);
        for (int i = 180; i < 190; i++) {
            mem.dword0(P, i, 7);
        }

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, P);

        assertThat(result.ok()).isFalse();
        assertThat(result.boundaryPage()).isEqualTo(100);
        assertThat(result.problems().get(0)).isEqualTo(
                "2 boundaries where pass 7 turns into pass 6, at pages [100, 190]; expected one");
        assertThat(result.problems()).anySatisfy(line -> assertThat(line)
                .startsWith("page 180: dword0 (pass) = 7, expected 6").endsWith("newer than the pass counter"));
    }

    @Test
    void verify_missingStatusMagic_fails() {
        FakeGuestMemory mem = FakeGuestMemory.forSpan(P).span(P, 7, 100);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, P);

        assertThat(result.ok()).isFalse();
        assertThat(result.pass()).isEqualTo(-1);
        assertThat(result.pagesChecked()).isZero();
        assertThat(result.problems()).singleElement().asString().contains("KVMC");
    }

    @Test
    void verify_statusPageOutsideSpan_fails() {
        FakeGuestMemory mem = FakeGuestMemory.forSpan(P).status(7, N + 5).span(P, 7, 100);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, P);

        assertThat(result.ok()).isFalse();
        assertThat(result.problems().get(0)).contains("page index " + (N + 5)).contains("outside the span");
    }

    @Test
    void verify_everyPageWrong_listsAtMostTwentyProblems() {
        FakeGuestMemory mem = FakeGuestMemory.forSpan(P).status(7, 99);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, P);

        assertThat(result.ok()).isFalse();
        assertThat(result.problems()).hasSize(IntegrityCheck.MAX_PROBLEMS);
        assertThat(result.problems().get(IntegrityCheck.MAX_PROBLEMS - 1)).matches("\\.\\.\\. and \\d+ more page problems");
    }

    @Test
    void verify_readsSpanInChunksOfAtMost64KiB() {
        TestGuest.Params p = TestGuest.Params.defaults();
        TestGuest.Params odd = new TestGuest.Params(p.spanStart(), 3 * 16 + 5, 0, p.content(), p.seed());
        FakeGuestMemory mem = FakeGuestMemory.forSpan(odd).status(3, 20).span(odd, 3, 21);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, odd);

        assertThat(result.problems()).isEmpty();
        // status block, three full 16-page chunks, then the 5-page tail
        assertThat(mem.readLengths).containsExactly(12, 65536, 65536, 65536, 5 * 4096);
    }

    @Test
    void verify_passCounterNearWrap_usesUnsignedValues() {
        FakeGuestMemory mem = FakeGuestMemory.forSpan(P).status(0x80000001L, 9).span(P, 0x80000001L, 10);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, P);

        assertThat(result.problems()).isEmpty();
        assertThat(result.pass()).isEqualTo(0x80000001L);
    }

    private static final TestGuest.Params RANDOM = P.withContent(TestGuest.Content.RANDOM);

    @Test
    void verify_oneBodyByteFlipped_reportsThePageAndTheByte() {
        // Byte 1234 of page 150 (in the body, behind the header): what a corrupting compressor or a lost write would do.
        FakeGuestMemory mem = FakeGuestMemory.forSpan(P).status(7, 99).span(P, 7, 100).flip(P, 150, 1234, 0x10);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, P);

        assertThat(result.ok()).isFalse();
        assertThat(result.problems()).singleElement().asString()
                .startsWith("page 150: body differs from pass 0's content in 1 of 4088 bytes, first at byte 1234")
                .contains("dword at 1232");
    }

    @Test
    void verify_lastByteOfAPageFlipped_isCaught() {
        FakeGuestMemory mem = FakeGuestMemory.forSpan(P).status(7, 99).span(P, 7, 100).flip(P, 3, 4095, 0x01);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, P);

        assertThat(result.problems()).singleElement().asString().startsWith("page 3: body differs from pass 0's content in 1")
                .contains("first at byte 4095");
    }

    @Test
    void verify_bodyOfAnotherPage_isCaught() {
        // Page 20's body copied over page 21's, headers intact: the header-only check passed this.
        FakeGuestMemory mem = FakeGuestMemory.forSpan(P).status(7, 99).span(P, 7, 100);
        int from = (int) P.spanStart() + 20 * 4096;
        System.arraycopy(mem.ram.array(), from + 8, mem.ram.array(), from + 4096 + 8, 4088);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, P);

        assertThat(result.problems()).singleElement().asString().startsWith("page 21: body differs").contains("in 4088 of 4088 bytes");
    }

    @Test
    void verify_randomContentConsistent_passes() {
        FakeGuestMemory mem = FakeGuestMemory.forSpan(RANDOM).status(7, 99).span(RANDOM, 7, 100);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, RANDOM);

        assertThat(result.problems()).isEmpty();
        assertThat(result.boundaryPage()).isEqualTo(100);
    }

    @Test
    void verify_randomContentOneByteFlipped_fails() {
        FakeGuestMemory mem = FakeGuestMemory.forSpan(RANDOM).status(7, 99).span(RANDOM, 7, 100).flip(RANDOM, 5, 9, 0x80);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, RANDOM);

        assertThat(result.problems()).singleElement().asString().startsWith("page 5: body differs from pass 7's content in 1 of")
                .contains("first at byte 9");
    }

    @Test
    void verify_randomBodyHalfRewrittenOnThePageBeingWritten_passes() {
        // Paused inside fill_body of page 100: 300 dwords of pass 7's body, the rest still pass 6's, header still pass 6.
        FakeGuestMemory mem = halfRewritten(100, 300);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, RANDOM);

        assertThat(result.problems()).isEmpty();
        assertThat(result.boundaryPage()).isEqualTo(100);
    }

    @Test
    void verify_randomBodyHalfRewrittenOnAnotherPage_fails() {
        // The same mix on page 101, which the guest had not reached: a page that changed behind the guest's back.
        FakeGuestMemory mem = halfRewritten(101, 300);

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, RANDOM);

        assertThat(result.ok()).isFalse();
        assertThat(result.problems()).singleElement().asString().startsWith("page 101: body differs from pass 6's content")
                .contains("first at byte 8");
    }

    @Test
    void verify_randomBodyOfThePreviousPassUnderANewHeader_fails() {
        // Page 40's header says pass 7 but its body is pass 6's: the body update was lost.
        FakeGuestMemory mem = FakeGuestMemory.forSpan(RANDOM).status(7, 99).span(RANDOM, 7, 100)
                .body(RANDOM, 40, 0, PageContent.BODY_DWORDS, new PageContent(RANDOM).body(6, 40));

        IntegrityCheck.Result result = IntegrityCheck.verify(mem, RANDOM);

        assertThat(result.problems()).singleElement().asString().startsWith("page 40: body differs from pass 7's content in");
    }

    /** Status at page 100 of pass 7, pages [0,100) at pass 7, and page {@code page}'s body: pass 7's up to {@code dwords}. */
    private static FakeGuestMemory halfRewritten(int page, int dwords) {
        FakeGuestMemory mem = FakeGuestMemory.forSpan(RANDOM).status(7, 100).span(RANDOM, 7, 100);
        PageContent content = new PageContent(RANDOM);
        mem.body(RANDOM, page, 0, dwords, content.body(7, page));
        return mem;
    }
}
