package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.PoolInfo;
import io.kvmigrate.lab.Lab;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Concurrent jobs on one host share its pools: one writes and deletes sharing-probe files in the shared pool while
 * another refreshes that pool (every file lookup and pool listing does). libvirt refuses a refresh while a volume is
 * being created in the pool ("has asynchronous jobs running"), and deactivates a pool whose rescan fails; seen once in
 * CI as four queued moves on two servers failing a move with an empty "unknown libvirt error". Neither may fail a job.
 */
class PoolRefreshRaceIT {
    private static final int ROUNDS = 150;

    @Test
    void probesWrittenWhileThePoolIsRefreshed_neitherFails_andThePoolStaysActive() throws Exception {
        String dir = ItLab.get().sharedDir().toString();
        AtomicBoolean done = new AtomicBoolean();
        CompletableFuture<Integer> writer = CompletableFuture.supplyAsync(() -> {
            try (HostSession s = ItLab.open(0)) {
                for (int i = 0; i < ROUNDS; i++) {
                    String name = "race-probe-" + i;
                    s.writeProbe(dir, name, ("probe " + i).getBytes());
                    s.deleteProbe(dir, name);
                }
                return ROUNDS;
            } finally {
                done.set(true);
            }
        });
        CompletableFuture<Integer> reader = CompletableFuture.supplyAsync(() -> {
            int refreshes = 0;
            try (HostSession s = ItLab.open(0)) {
                while (!done.get()) {
                    assertThat(s.fileSize(dir, "no-such-file")).isEqualTo(Optional.empty());
                    assertThat(s.pools()).extracting(PoolInfo::name).contains(Lab.SHARED_POOL);
                    refreshes += 2;
                }
            }
            return refreshes;
        });
        assertThat(writer.get()).isEqualTo(ROUNDS);
        int refreshes = reader.get();
        System.out.println("[pool race] " + ROUNDS + " probes written and deleted during " + refreshes + " refreshes");
        try (HostSession s = ItLab.open(0)) {
            List<PoolInfo> pools = s.pools();
            assertThat(pools).filteredOn(p -> p.name().equals(Lab.SHARED_POOL)).singleElement().satisfies(p -> assertThat(p.active()).isTrue());
        }
    }
}
