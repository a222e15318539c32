package io.kvmigrate.core.evacuate;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.engine.MigrationEvent;
import io.kvmigrate.core.engine.Phase;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a move can use, judged from its statistics against the cap it sent under. */
class LinkSharesTest {
    private final Map<String, Long> applied = new LinkedHashMap<>();

    private static MigrationEvent migrating() {
        return new MigrationEvent.PhaseStarted(Instant.EPOCH, Phase.MIGRATE, "s -> t");
    }

    @Test
    void observe_rateMeasuredAcrossARaiseFromTheFloor_isNotJudgedAgainstTheNewCap() {
        LinkShares link = new LinkShares(100);
        link.started("a", "vm-a", 0, BandwidthSplit.FLOOR_MIBPS);
        link.observe("a", migrating());
        assertThat(link.observe("a", DrainRunnerTest.progress(500, 0))).as("transferring, no rate yet: wants all").isTrue();
        assertThat(link.resplit(applied::put)).isTrue();
        assertThat(applied).containsEntry("a", 100L);

        // 1 MiB in 500 ms: what the floor let through before the raise; it sent at its cap, so it still wants all
        assertThat(link.observe("a", DrainRunnerTest.progress(1000, 1))).as("judged against the floor it ran under").isFalse();
        assertThat(link.resplit(applied::put)).isFalse();

        // the same rate wholly under the raised cap is far below it: limited elsewhere, twice its rate is enough
        assertThat(link.observe("a", DrainRunnerTest.progress(1500, 2))).isTrue();
        assertThat(link.resplit(applied::put)).isTrue();
        assertThat(applied).containsEntry("a", 4L);
    }
}
