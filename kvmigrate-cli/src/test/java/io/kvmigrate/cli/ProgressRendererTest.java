package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.engine.MigrationEvent;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ProgressRendererTest {
    @Test
    void diskBar_halfwayWithHoles_showsCoverageSentRateAndEta() {
        long mib = 1 << 20;
        String bar = ProgressRenderer.diskBar(new MigrationEvent.DiskProgress(Instant.EPOCH, "vdb", "/x.raw", 128 * mib, 256 * mib,
                8 * mib, 64 * mib, 2000));

        assertThat(bar).startsWith("disk vdb [############............]  50%")
                .contains("128.0 MiB of 256.0 MiB", "sent 8.0 MiB", "64.0 MiB/s", "ETA 2.0 s");
    }

    @Test
    void phases_printedWithTheirStartSinceTheFirstEvent() {
        java.io.StringWriter w = new java.io.StringWriter();
        ProgressRenderer r = new ProgressRenderer(new java.io.PrintWriter(w, true), false);
        Instant t0 = Instant.parse("2026-01-01T00:00:00Z");
        r.on(new MigrationEvent.PhaseStarted(t0, io.kvmigrate.core.engine.Phase.RESOLVE, "looking up web"));
        r.on(new MigrationEvent.PhaseStarted(t0.plusMillis(1250), io.kvmigrate.core.engine.Phase.MIGRATE, "a -> b"));

        assertThat(w.toString()).contains("> resolve: looking up web  [0.00 s]").contains("> migrate: a -> b  [1.25 s]");
    }

    @Test
    void bar_liveMigrationCopyingDisks_showsDiskProgressBesideMemory() {
        long mib = 1 << 20;
        io.kvmigrate.core.model.JobStats s = new io.kvmigrate.core.model.JobStats(1000, 300 * mib, 100 * mib, 200 * mib, 128 * mib, 32 * mib,
                96 * mib, 50 * mib, 0, 4096, 1, 0, 0, 0, 64 * mib, 48 * mib, 16 * mib);

        assertThat(ProgressRenderer.bar(s)).contains("sent 32.0 MiB", "disks 48.0 MiB of 64.0 MiB (75%)");
    }

    private static io.kvmigrate.core.model.JobStats stats(long iteration, long remainingMiB, long sentMiB, long rateMiBps, long dirtyMiBps) {
        long mib = 1 << 20;
        return new io.kvmigrate.core.model.JobStats(1000, 1024 * mib, sentMiB * mib, remainingMiB * mib, 1024 * mib, (1024 - remainingMiB) * mib,
                remainingMiB * mib, rateMiBps * mib, dirtyMiBps * mib / 4096, 4096, iteration, 300, 0, 0, 0, 0, 0);
    }

    /** Recorded shape of a busy guest's job: a second pass re-sends dirtied pages, so the remaining memory grows again. */
    @Test
    void progress_newPassWithMoreLeft_percentageNeverRunsBackwards() {
        java.io.StringWriter w = new java.io.StringWriter();
        ProgressRenderer r = new ProgressRenderer(new java.io.PrintWriter(w, true), false);
        Instant t0 = Instant.parse("2026-01-01T00:00:00Z");
        r.on(new MigrationEvent.Progress(t0, stats(1, 80, 944, 40, 10)));
        r.on(new MigrationEvent.Progress(t0.plusSeconds(3), stats(2, 900, 1000, 40, 10)));
        String[] lines = w.toString().split("\n");
        assertThat(lines).hasSize(2);
        assertThat(lines[0]).contains(" 92% ");
        assertThat(lines[1]).as("never backwards").contains(" 92% ").contains("iteration 2");
    }

    @Test
    void bar_etaFromLiveRates_orWhyThereIsNone() {
        assertThat(ProgressRenderer.bar(stats(1, 300, 724, 40, 10))).contains("| ETA 10.0 s");
        assertThat(ProgressRenderer.bar(stats(3, 300, 2000, 40, 52))).contains("stalled: dirty 52.0 MiB/s >= link 40.0 MiB/s")
                .doesNotContain("ETA");
    }

    @Test
    void decision_isOneShortLine_theFullReasonStaysInTheEvent() {
        java.io.StringWriter w = new java.io.StringWriter();
        ProgressRenderer r = new ProgressRenderer(new java.io.PrintWriter(w, true), false);
        String reason = "the VM is software-emulated (domain type qemu) and QEMU 7.2.22 (before 9.0) can lose dirty pages of such guests; "
                + "throttling one (auto-converge) corrupted a real guest's memory; a stall switches straight to post-copy";
        r.on(new MigrationEvent.Decision(Instant.EPOCH, "throttle skipped", reason));
        r.on(new MigrationEvent.Decision(Instant.EPOCH, "abort", "cancelled by the user"));
        String[] lines = w.toString().split("\n");
        assertThat(lines[0]).isEqualTo("  decision: throttle skipped (the VM is software-emulated)");
        assertThat(lines[1]).isEqualTo("  decision: abort (cancelled by the user)");
        assertThat(lines[0].length()).isLessThanOrEqualTo(100);
    }
}
