package io.kvmigrate.core.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class PreCopyModelTest {
    private static final long MIB = 1 << 20;
    /** No fixed costs, a perfect link: the arithmetic shows plainly. */
    private static final Calibration IDEAL = new Calibration(0, Long.MAX_VALUE, 1.0, 0);

    @Test
    void simulate_idleGuest_onePassAtTheFloor() {
        GuestProfile g = new GuestProfile(1024 * MIB, 100 * MIB, 0, false, 2048);
        PreCopyModel.Outcome o = PreCopyModel.simulate(g, 100 * MIB, 300, IDEAL);
        assertThat(o.converges()).isTrue();
        assertThat(o.passes()).isEqualTo(1);
        assertThat(o.transferMs()).isEqualTo(1000);
        assertThat(o.bytesSent()).isEqualTo(100 * MIB);
        assertThat(PreCopyModel.floorMs(g, 100 * MIB)).isEqualTo(1000);
    }

    @Test
    void simulate_halfRate_convergesGeometrically() {
        // 256 MiB at 64 MiB/s = 4 s; then 128, 64, 32, 16 MiB (250 ms < 300 ms): stop after the 32 MiB pass
        GuestProfile g = new GuestProfile(1024 * MIB, 256 * MIB, 32 * MIB, false, 2048);
        PreCopyModel.Outcome o = PreCopyModel.simulate(g, 64 * MIB, 300, IDEAL);
        assertThat(o.converges()).isTrue();
        assertThat(o.passes()).isEqualTo(4);
        assertThat(o.transferMs()).isEqualTo(4000 + 2000 + 1000 + 500 + 250);
        assertThat(o.downtimeMs()).isEqualTo(250 + PreCopyModel.SWITCHOVER_MS);
        assertThat(o.bytesSent()).isEqualTo((256 + 128 + 64 + 32 + 16) * MIB);
    }

    @Test
    void simulate_rateAboveBandwidth_doesNotConvergeAndNamesNeededDowntime() {
        GuestProfile g = new GuestProfile(1024 * MIB, 256 * MIB, 96 * MIB, false, 2048);
        PreCopyModel.Outcome o = PreCopyModel.simulate(g, 64 * MIB, 300, IDEAL);
        assertThat(o.converges()).isFalse();
        assertThat(o.stallRemainingBytes()).isEqualTo(256 * MIB);
        assertThat(o.neededDowntimeMs()).isEqualTo(4000 + PreCopyModel.SWITCHOVER_MS);
    }

    @Test
    void simulate_saturatedMeasurement_assumesTheWholeWorkingSetEveryPass() {
        GuestProfile g = new GuestProfile(128 * MIB, 16 * MIB, 16 * MIB, true, 2048);
        assertThat(PreCopyModel.simulate(g, 64 * MIB, 300, IDEAL).converges()).isTrue(); // 16 MiB fit in 250 ms
        assertThat(PreCopyModel.simulate(g, 32 * MIB, 300, IDEAL).converges()).isFalse(); // 500 ms needed
    }

    @Test
    void simulate_calibration_addsStartupAndZeroScan() {
        Calibration c = new Calibration(2000, 1024 * MIB, 1.0, 0);
        GuestProfile g = new GuestProfile(1024 * MIB, 0, 0, false, 2048);
        PreCopyModel.Outcome o = PreCopyModel.simulate(g, 100 * MIB, 300, c);
        assertThat(o.transferMs()).isEqualTo(1000);
        assertThat(o.totalMs()).isEqualTo(3000);
    }

    @Test
    void simulate_sameInputs_sameOutcome() {
        GuestProfile g = new GuestProfile(1024 * MIB, 300 * MIB, 40 * MIB, false, 2048);
        assertThat(PreCopyModel.simulate(g, 64 * MIB, 300, Calibration.lab()))
                .isEqualTo(PreCopyModel.simulate(g, 64 * MIB, 300, Calibration.lab()));
        assertThat(PreCopyModel.simulate(g, 64 * MIB, 300, Calibration.lab()).totalMs() / 1000.0).isCloseTo(16.0, within(1.0));
    }
}
