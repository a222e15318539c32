package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.lab.LabVm;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The continuity check on recorded series of loop positions: it passes a guest that ran on, and fails each way one did not. */
class LoopSamplerTest {

    private static List<LoopSampler.Sample> series(Object... hostPassPage) {
        List<LoopSampler.Sample> out = new ArrayList<>();
        for (int i = 0; i < hostPassPage.length; i += 3) {
            int host = (Integer) hostPassPage[i];
            out.add(new LoopSampler.Sample(host, "it" + (host + 1), new LabVm.Position((Integer) hostPassPage[i + 1], (Integer) hostPassPage[i + 2])));
        }
        return out;
    }

    @Test
    void assertContinuous_ranOnAcrossTheSwitch_passes() {
        assertThatCode(() -> LoopSampler.assertContinuous(series(0, 2, 100, 0, 2, 900, 0, 3, 50, 1, 3, 60, 1, 4, 10), 0, 1))
                .doesNotThrowAnyException();
    }

    @Test
    void assertContinuous_targetStartedFromAnOlderState_fails() {
        // the target resumed at pass 2 although the source had reached pass 3: an older snapshot, or a reboot
        assertThatThrownBy(() -> LoopSampler.assertContinuous(series(0, 2, 100, 0, 2, 900, 0, 3, 50, 1, 2, 60, 1, 4, 10), 0, 1))
                .hasMessageContaining("never goes back");
    }

    @Test
    void assertContinuous_targetStandsStill_fails() {
        assertThatThrownBy(() -> LoopSampler.assertContinuous(series(0, 2, 100, 0, 2, 900, 0, 3, 50, 1, 3, 60, 1, 3, 60), 0, 1))
                .hasMessageContaining("moves on after the switch-over");
    }

    @Test
    void assertContinuous_runningOnBothHostsInTurn_fails() {
        assertThatThrownBy(() -> LoopSampler.assertContinuous(series(0, 2, 100, 0, 2, 900, 1, 3, 50, 0, 3, 60, 1, 4, 10), 0, 1))
                .hasMessageContaining("one switch");
    }

    @Test
    void assertContinuous_tooFewSamplesOnTheSource_fails() {
        assertThatThrownBy(() -> LoopSampler.assertContinuous(series(0, 2, 100, 1, 3, 60, 1, 4, 10), 0, 1))
                .hasMessageContaining("samples on the source");
    }
}
