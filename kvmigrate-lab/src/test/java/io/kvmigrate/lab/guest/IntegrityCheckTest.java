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
}
