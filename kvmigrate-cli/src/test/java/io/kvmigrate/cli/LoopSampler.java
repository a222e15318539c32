package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.Poll;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Continuity of the test guest across a move, by its loop position (pass, page) sampled again and again on whichever
 * lab host runs it: before the move, while it moves and after it. A guest that kept running holds a position that only
 * grows, from the source's samples into the target's, and moves on after the switch-over; a guest restarted from its
 * image, or a target resumed from an older snapshot, goes back.
 *
 * <p>Start it before the move and {@link #close} it in {@code finally}: it runs on its own thread and open sessions.
 */
final class LoopSampler implements AutoCloseable {

    /** One reading: the host (lab index and name) whose running VM was read, and the loop position there. */
    record Sample(int host, String hostName, LabVm.Position position) {
        @Override
        public String toString() {
            return hostName + ": " + position;
        }
    }

    private final String vm;
    private final int[] hosts;
    private final List<Sample> samples = new ArrayList<>();
    private final Thread thread;
    private volatile boolean stop;

    private LoopSampler(String vm, int... hosts) {
        this.vm = vm;
        this.hosts = hosts.clone();
        this.thread = new Thread(this::run, "loop-sampler-" + vm);
        this.thread.setDaemon(true);
    }

    /** Starts sampling {@code vm} on the lab hosts {@code hosts} (every ~100 ms); waits for a first reading. */
    static LoopSampler start(String vm, int... hosts) {
        LoopSampler s = new LoopSampler(vm, hosts);
        s.thread.start();
        assertThat(Poll.until(Duration.ofSeconds(30), Duration.ofMillis(50), () -> s.samples().size() >= 3))
                .as("first loop positions of '%s'", vm).isTrue();
        return s;
    }

    /** Samples so far, in the order they were taken. */
    List<Sample> samples() {
        synchronized (samples) {
            return List.copyOf(samples);
        }
    }

    /**
     * Waits for {@code more} samples on {@code host} after the ones taken so far, then checks the whole series: several
     * samples on {@code from} first, several on {@code to} last, positions never going back (across the switch either),
     * and the last ones on {@code to} beyond the first one there (the guest resumed, it does not just sit there).
     */
    void assertContinuousAcross(int from, int to, int more) {
        int seenOnTarget = (int) samples().stream().filter(s -> s.host() == to).count();
        assertThat(Poll.until(Duration.ofSeconds(60), Duration.ofMillis(100),
                () -> samples().stream().filter(s -> s.host() == to).count() >= seenOnTarget + more))
                .as("%d more loop positions on %s; samples: %s", more, ItLab.host(to).name(), samples()).isTrue();
        assertContinuous(samples(), from, to);
    }

    /**
     * The checks of {@link #assertContinuousAcross} on a series: at least 3 samples on {@code from}, first; the last on
     * {@code to}; positions never going back; one switch of host; the last position on {@code to} beyond its first.
     */
    static void assertContinuous(List<Sample> all, int from, int to) {
        String series = all.toString();
        assertThat(all.stream().filter(s -> s.host() == from).count()).as("samples on the source: %s", series).isGreaterThanOrEqualTo(3);
        assertThat(all.get(0).host()).as("first sample on the source: %s", series).isEqualTo(from);
        assertThat(all.get(all.size() - 1).host()).as("last sample on the target: %s", series).isEqualTo(to);
        int switches = 0;
        for (int i = 1; i < all.size(); i++) {
            Sample a = all.get(i - 1);
            Sample b = all.get(i);
            assertThat(b.position()).as("sample %d (%s) after sample %d (%s): the loop never goes back; %s", i, b, i - 1, a, series)
                    .isGreaterThanOrEqualTo(a.position());
            if (a.host() != b.host()) switches++;
        }
        assertThat(switches).as("one switch from source to target: %s", series).isEqualTo(1);
        List<Sample> onTarget = all.stream().filter(s -> s.host() == to).toList();
        assertThat(onTarget.get(onTarget.size() - 1).position()).as("the guest moves on after the switch-over: %s", series)
                .isGreaterThan(onTarget.get(0).position());
    }

    private void run() {
        List<HostSession> sessions = new ArrayList<>();
        try {
            for (int h : hosts) sessions.add(ItLab.open(h));
            while (!stop) {
                for (int i = 0; i < hosts.length; i++) {
                    sample(hosts[i], sessions.get(i).host().name(), sessions.get(i));
                }
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            sessions.forEach(HostSession::close);
        }
    }

    /** Reads the position where the VM runs; a paused copy (incoming, or the source after the switch) is not read. */
    private void sample(int host, String name, HostSession s) {
        try {
            if (s.findVm(vm).map(v -> v.state() == VmState.RUNNING).orElse(false)) {
                LabVm.Position p = LabVm.position(s, vm);
                // read again: the VM may have been paused (and its last pages sent) between the state and the read
                if (s.findVm(vm).map(v -> v.state() == VmState.RUNNING).orElse(false)) {
                    synchronized (samples) {
                        samples.add(new Sample(host, name, p));
                    }
                }
            }
        } catch (RuntimeException e) {
            // the domain went away or changed state between the calls: no sample this round
        }
    }

    @Override
    public void close() {
        stop = true;
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
