package io.kvmigrate.core.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.ManualScheduler;
import io.kvmigrate.testkit.MutableClock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class GuestProbeTest {
    private final FakeHypervisor hv = new FakeHypervisor();
    private final MutableClock clock = new MutableClock();
    private final ManualScheduler scheduler = new ManualScheduler(clock);
    private final FakeHypervisor.FakeHost host = hv.addHost("a");

    private static VmSpec vm() {
        return new VmSpec("web", "uuid-web", "kvm", "x86_64", "pc", null, 1 << 20, 1, null, List.of(), List.of(), List.of(), "<domain/>");
    }

    @Test
    void measure_runningVm_reportsDirtyRateAndZeroMemoryAfterAPoll() {
        host.put(vm(), VmState.RUNNING, true);
        host.scriptDirtyRate("web", 40);
        CompletableFuture<GuestProfile> f = new GuestProbe(clock, scheduler, 16, 1).measure(host, "web");
        scheduler.advance(Duration.ofMillis(900), Duration.ofMillis(25));
        assertThat(f).isNotDone(); // the 1 s period is not over: the hypervisor is not asked yet
        scheduler.advance(Duration.ofMillis(100), Duration.ofMillis(25));
        GuestProfile g = f.join();
        assertThat(g.rate()).isEqualTo(GuestProfile.Rate.MEASURED);
        assertThat(g.dirtyRateBps()).isEqualTo(40L << 20);
        assertThat(g.memoryBytes()).isEqualTo(1L << 30);
        assertThat(g.nonZeroBytes()).isZero(); // the fake's memory reads as zeros
        assertThat(g.sampledPages()).isEqualTo(16 * 16);
        assertThat(scheduler.activeTasks()).isZero();
    }

    @Test
    void measure_stoppedVm_throwsVmNotRunning() {
        host.put(vm(), VmState.SHUTOFF, true);
        assertThatThrownBy(() -> new GuestProbe(clock, scheduler, 16, 1).measure(host, "web"))
                .isInstanceOfSatisfying(KvmigrateException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.VM_NOT_RUNNING));
    }

    @Test
    void measure_rateIrrelevantForSampledMemory_completesAtOnceWithoutMeasuring() {
        host.put(vm(), VmState.RUNNING, true);
        host.scriptDirtyRate("web", 40);
        GuestProfile g = new GuestProbe(clock, scheduler, 16, 1).measure(host, "web",
                nonZero -> nonZero == 0 ? GuestProfile.Rate.IRRELEVANT : GuestProfile.Rate.MEASURED).join();
        assertThat(g.dirtyRateBps()).isZero();
        assertThat(g.dirtyRateSaturated()).isTrue();
        assertThat(g.rate()).isEqualTo(GuestProfile.Rate.IRRELEVANT);
        assertThat(host.lastDirtyRate("web")).isEmpty();
    }

    @Test
    void measure_migrationTooShortForAMeasurement_completesAtOnceWithRateUnknown() {
        host.put(vm(), VmState.RUNNING, true);
        host.scriptDirtyRate("web", 40);
        GuestProfile g = new GuestProbe(clock, scheduler, 16, 1).measure(host, "web", nonZero -> GuestProfile.Rate.SKIPPED_SHORT).join();
        assertThat(g.rate()).isEqualTo(GuestProfile.Rate.SKIPPED_SHORT);
        assertThat(g.dirtyRateBps()).isZero();
        assertThat(g.dirtyRateSaturated()).isFalse();
        assertThat(host.lastDirtyRate("web")).isEmpty();
        assertThat(scheduler.activeTasks()).isZero();
    }

    @Test
    void measure_eager_startsTheRateMeasurementBeforeSamplingAndMeasuresWhateverTheDecision() {
        host.put(vm(), VmState.RUNNING, true);
        host.scriptDirtyRate("web", 40);
        java.util.concurrent.atomic.AtomicReference<Boolean> measuringWhileSampling = new java.util.concurrent.atomic.AtomicReference<>();
        hv.faults().on("a", io.kvmigrate.testkit.FaultPlan.Op.PEEK_MEMORY).once()
                .run(() -> measuringWhileSampling.set(host.lastDirtyRate("web").isPresent()));
        CompletableFuture<GuestProfile> f = new GuestProbe(clock, scheduler, 16, 1).measure(host, "web",
                nonZero -> GuestProfile.Rate.SKIPPED_SHORT, true);
        assertThat(measuringWhileSampling.get()).isTrue();
        scheduler.advance(Duration.ofMillis(1000), Duration.ofMillis(25));
        GuestProfile g = f.join();
        assertThat(g.rate()).isEqualTo(GuestProfile.Rate.MEASURED);
        assertThat(g.dirtyRateBps()).isEqualTo(40L << 20);
        assertThat(scheduler.activeTasks()).isZero();
    }

    @Test
    void measure_hypervisorRefusesTheMeasurement_completesUnmeasuredInsteadOfFailing() {
        // Seen on the lab's software-emulated real guest: libvirt 9.0 refused the measurement ("domain is not running")
        // while the guest ran; the move must go on and judge from its live statistics.
        host.put(vm(), VmState.RUNNING, true);
        host.scriptDirtyRate("web", 40);
        hv.faults().on("a", io.kvmigrate.testkit.FaultPlan.Op.DIRTY_RATE_START).fail(ErrorCode.LIBVIRT_ERROR, "domain is not running");
        for (boolean eager : new boolean[] {true, false}) {
            GuestProfile g = new GuestProbe(clock, scheduler, 16, 1).measure(host, "web", nonZero -> GuestProfile.Rate.MEASURED, eager).join();
            assertThat(g.rate()).as("eager " + eager).isEqualTo(GuestProfile.Rate.UNAVAILABLE);
            assertThat(g.dirtyRateBps()).isZero();
            assertThat(g.memoryBytes()).isEqualTo(1L << 30);
            assertThat(scheduler.activeTasks()).isZero();
        }
        Plan p = new Planner(Calibration.lab()).plan(new GuestProfile(1L << 30, 1L << 28, 0, false, 256, GuestProfile.Rate.UNAVAILABLE),
                40L << 20, false, 300, 500, PolicyKind.FINISH, true, true, null);
        assertThat(p.lowerBoundOnly()).isTrue();
        assertThat(p.reasons()).anyMatch(r -> r.contains("the hypervisor refused the measurement"));
    }

    @Test
    void measure_softwareEmulatedGuestOnQemu72_neverAsksTheMeasurementThatCrashedSuchAGuest() {
        // The fake host reports QEMU 7.2; the lab's TCG real guest crashed when the measurement was started
        host.put(new VmSpec("tcg", "uuid-tcg", "qemu", "x86_64", "pc", null, 1 << 20, 1, null, List.of(), List.of(), List.of(), "<domain/>"),
                VmState.RUNNING, true);
        host.scriptDirtyRate("tcg", 40);
        for (boolean eager : new boolean[] {true, false}) {
            GuestProfile g = new GuestProbe(clock, scheduler, 16, 1).measure(host, "tcg", nonZero -> GuestProfile.Rate.MEASURED, eager).join();
            assertThat(g.rate()).isEqualTo(GuestProfile.Rate.UNAVAILABLE);
        }
        assertThat(host.lastDirtyRate("tcg")).as("no measurement was started").isEmpty();
        assertThat(KnownBugs.dirtyRateHazard("qemu", 9_000_000)).isNull();
        assertThat(KnownBugs.dirtyRateHazard("kvm", 7_002_000)).isNull();
    }
}
