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
}
