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
}
