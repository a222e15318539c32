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
    void bar_liveMigrationCopyingDisks_showsDiskProgressBesideMemory() {
        long mib = 1 << 20;
        io.kvmigrate.core.model.JobStats s = new io.kvmigrate.core.model.JobStats(1000, 300 * mib, 100 * mib, 200 * mib, 128 * mib, 32 * mib,
                96 * mib, 50 * mib, 0, 4096, 1, 0, 0, 0, 64 * mib, 48 * mib, 16 * mib);

        assertThat(ProgressRenderer.bar(s)).contains("sent 32.0 MiB", "disks 48.0 MiB of 64.0 MiB (75%)");
    }
}
