package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.guest.GuestMemory;
import io.kvmigrate.lab.guest.IntegrityCheck;
import io.kvmigrate.lab.guest.PageContent;
import io.kvmigrate.lab.guest.TestGuest;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * Live moves of the dirtying test guest, plain and with each stream option, checked byte by byte: every byte of every
 * page of the span on the paused target ({@link IntegrityCheck}), and the guest's loop position sampled on the source
 * before and during the move and on the target after it ({@link LoopSampler}).
 */
class GuestIntegrityIT {

    /** 32 MiB rewritten every ~2 s or so: passes enough to move mid-pass, slow enough to converge uncapped. */
    private static final TestGuest.Params RANDOM = TestGuest.Params.defaults().withSpanMiB(32).withDelay(100_000)
            .withContent(TestGuest.Content.RANDOM);
    private static final TestGuest.Params REPEATING = TestGuest.Params.defaults().withSpanMiB(32).withDelay(100_000);

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
            "plain, RANDOM",
            "plain, REPEATING",
            "--parallel=4, RANDOM",
            "--compress, REPEATING",
            "--compress, RANDOM"})
    void migrate_live_everyByteOfEveryPageArrivesAndTheLoopRunsOn(String option, String content) throws Exception {
        TestGuest.Params params = content.equals("RANDOM") ? RANDOM : REPEATING;
        String name = "it-bytes-" + option.replaceAll("[^a-z0-9]", "") + "-" + content.toLowerCase(java.util.Locale.ROOT);
        LabVm.Definition d = ItLab.startGuest(name, params);
        List<String> args = new ArrayList<>(List.of("migrate", name, "--from", ItLab.host(0).name(), "--to", ItLab.host(1).name(),
                "--policy", "safe", "--json"));
        if (!option.equals("plain")) args.addAll(List.of(option.split("=")));
        try (LoopSampler loop = LoopSampler.start(name, 0, 1)) {
            ItLab.Run run = ItLab.cli(args.toArray(String[]::new));

            assertThat(run.exit()).as(run.out() + run.err()).isZero();
            JsonNode json = Output.json().readTree(run.out());
            assertThat(json.path("placement").path("runningOn").get(0).asText()).isEqualTo(ItLab.host(1).name());
            loop.assertContinuousAcross(0, 1, 5);
            System.out.println("loop positions of " + name + ": " + loop.samples());
            try (HostSession dst = ItLab.open(1)) {
                dst.suspendVm(name);
                try {
                    IntegrityCheck.Result check = IntegrityCheck.verify(LabVm.memory(dst, name), params);
                    assertThat(check.problems()).as("full-page integrity after a %s move", option).isEmpty();
                    assertThat(check.pagesChecked()).isEqualTo(params.spanPages());
                } finally {
                    dst.resumeVm(name);
                }
            }
        } finally {
            ItLab.removeEverywhereQuietly(name);
        }
    }

    @Test
    void verify_oneBytePokedIntoAPausedGuestsPage_isRedNamingPageAndByte_andGreenOnceRestored() throws Exception {
        // One byte in the body of page 777 written into the paused guest's RAM through QEMU's gdbstub: what the check
        // says of a body byte that a migration corrupted, read back from the real guest through libvirt.
        TestGuest.Params params = REPEATING;
        String name = "it-bytes-poke";
        LabVm.Definition d = ItLab.startGuest(name, params);
        long poked = params.spanStart() + 777L * 4096 + 2001;
        try (HostSession s = ItLab.open(0)) {
            s.suspendVm(name);
            GuestMemory mem = LabVm.memory(s, name);
            IntegrityCheck.Result clean = IntegrityCheck.verify(mem, params);
            IntegrityCheck.Result red;
            IntegrityCheck.Result restored;
            byte[] original;
            try (GdbPoke gdb = GdbPoke.open(ItLab.host(0).ref().uri(), name)) {
                original = gdb.read(poked, 1);
                gdb.write(poked, new byte[] {(byte) (original[0] ^ 0x04)});
                red = IntegrityCheck.verify(mem, params);
                gdb.write(poked, original);
                restored = IntegrityCheck.verify(mem, params);
            }
            s.resumeVm(name);

            assertThat(clean.problems()).as("the paused guest as it is").isEmpty();
            assertThat(original[0]).as("the byte as PageContent derives it").isEqualTo((byte) (PageContent.repeatingDword(params.seed(), 777) >>> 8));
            assertThat(red.ok()).isFalse();
            assertThat(red.problems()).singleElement().asString().startsWith("page 777: body differs from pass 0's content in 1 of 4088 bytes")
                    .contains("first at byte 2001");
            assertThat(restored.problems()).as("the byte written back").isEmpty();
            FaultInvariants.counting(0, name);
        } finally {
            ItLab.removeEverywhereQuietly(d.name());
        }
    }
}
