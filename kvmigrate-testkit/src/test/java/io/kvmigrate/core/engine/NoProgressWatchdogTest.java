package io.kvmigrate.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.model.MigrationRequest;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.spi.MigrationOptions;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.ManualScheduler;
import io.kvmigrate.testkit.MutableClock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** The no-progress watchdog once post-copy runs (issue 12, finding 2): it never aborts, it says why nothing moves. */
class NoProgressWatchdogTest {
    private final FakeHypervisor hv = new FakeHypervisor();
    private final MutableClock clock = new MutableClock();
    private final ManualScheduler scheduler = new ManualScheduler(clock);
    private final List<MigrationEvent> events = new CopyOnWriteArrayList<>();

    /** Switches to post-copy at the first statistics it sees. */
    private static final class PostCopyAtOnce implements ConvergencePolicy {
        private boolean switched;

        @Override
        public MigrationOptions initialOptions(MigrationRequest request) {
            return new MigrationOptions(request.bandwidthMiBps(), 0, false, false, true, false, 0);
        }

        @Override
        public List<Action> onStats(JobStats stats, Duration elapsed) {
            if (switched) return List.of();
            switched = true;
            return List.of(Action.postCopy("test"));
        }
    }

    @Test
    void tick_noDataMovedInPostCopy_waitsSayingTheLinkLooksCutAndSaysWhenItIsBack() {
        FakeHypervisor.FakeHost src = hv.addHost("a");
        FakeHypervisor.FakeHost dst = hv.addHost("b");
        hv.shareDirectory("/nfs");
        src.put(LiveMigrationTest.vm("web", "/nfs/web.img"), VmState.RUNNING, true);
        src.putFile("/nfs/web.img", new byte[4096]);
        LiveMigration m = new LiveMigration(src, dst, clock, scheduler, events::add, Duration.ofMillis(500), new PostCopyAtOnce())
                .noProgressTimeout(Duration.ofSeconds(30));
        CompletableFuture<MigrationReport> f = m.start(new MigrationRequest("web", src.host(), dst.host(), 100, 300, null));
        src.lastMigration.setStats(LiveMigrationTest.stats(400 << 20, 2));
        scheduler.advance(Duration.ofSeconds(1), Duration.ofMillis(500));
        assertThat(m.postCopyStarted()).isTrue();

        scheduler.advance(Duration.ofSeconds(100), Duration.ofMillis(500));
        assertThat(src.lastMigration.calls).containsExactly("postcopy");
        assertThat(f).isNotDone();
        assertThat(actions()).containsOnlyOnce("wait for the link").doesNotContain("abort");
        assertThat(reason("wait for the link")).contains("no data moved for 30 s in post-copy").contains("looks cut")
                .contains("can only move forward");

        src.lastMigration.setStats(LiveMigrationTest.stats(300 << 20, 2));
        scheduler.advance(Duration.ofSeconds(1), Duration.ofMillis(500));
        assertThat(actions()).endsWith("link back");
        assertThat(f).isNotDone();
    }

    private List<String> actions() {
        return events.stream().filter(e -> e instanceof MigrationEvent.Decision).map(e -> ((MigrationEvent.Decision) e).action()).toList();
    }

    private String reason(String action) {
        return events.stream().filter(e -> e instanceof MigrationEvent.Decision d && d.action().equals(action))
                .map(e -> ((MigrationEvent.Decision) e).reason()).findFirst().orElse("");
    }
}
