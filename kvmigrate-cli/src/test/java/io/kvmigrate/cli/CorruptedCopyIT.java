package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.api.MoveRequest;
import io.kvmigrate.core.engine.EventListener;
import io.kvmigrate.core.engine.MigrationEvent;
import io.kvmigrate.core.engine.Phase;
import io.kvmigrate.core.job.JobKind;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.VolumeSink;
import io.kvmigrate.core.spi.VolumeUpload;
import io.kvmigrate.lab.guest.TestGuest;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * An offline move whose target copy is changed by one byte after the upload and before it is read back (the engine
 * announces the read-back as a phase; the listener runs on the engine's thread, so the change lands first): the block
 * digest must catch it, fail the move as VERIFY_FAILED and leave the source as it was, the target clean.
 */
class CorruptedCopyIT {
    private static final long MIB = LabDisks.MIB;
    private static final TestGuest.Params GUEST = TestGuest.Params.defaults().withSpanMiB(4).withDelay(200);

    @Test
    void offlineMove_oneByteOfTheTargetCopyFlippedBeforeReadBack_verifyFailedSourceUntouchedTargetClean() throws Exception {
        String name = "cold-corrupt";
        String boot = LabDisks.DIR + "/" + name + ".img";
        String raw = LabDisks.DIR + "/" + name + "-c.raw";
        List<String> paths = List.of(boot, raw);
        LabDisks.removeEverywhere(name, paths);
        try (HostSession s = ItLab.open(0)) {
            LabDisks.sparseRaw(s, name + "-c.raw", 64 * MIB, 8, 7);
        }
        LabDisks.define(0, name, GUEST, LabDisks.diskXml("vdc", "raw", raw));
        String bootSha;
        String rawSha;
        try (HostSession s = ItLab.open(0)) {
            bootSha = LabDisks.sha(s, boot);
            rawSha = LabDisks.sha(s, raw);
        }
        AtomicReference<String> flipped = new AtomicReference<>();
        EventListener corrupt = e -> {
            if (e instanceof MigrationEvent.PhaseStarted p && p.phase() == Phase.VERIFY_COPY && p.detail().startsWith("disk vdc")) {
                try (HostSession t = ItLab.open(1)) {
                    flipped.set(flipOneDataByte(t, raw));
                }
            }
        };
        MoveRequest request = new MoveRequest(name, ItLab.host(0).ref(), ItLab.host(1).ref(), JobKind.OFFLINE, null, 0, 0, null, 0, false,
                Map.of(), Map.of(), Set.of(), false, Duration.ofSeconds(60), false, false, false, false, false);
        try {
            assertThatThrownBy(() -> {
                try (var k = ItLab.facade()) {
                    k.submit(request.validate(), corrupt).await();
                }
            }).isInstanceOfSatisfying(KvmigrateException.class, e -> {
                System.out.println("expected failure: " + e.describe());
                assertThat(e.code()).isEqualTo(ErrorCode.VERIFY_FAILED);
                assertThat(e.host()).isEqualTo(ItLab.host(1).name());
                assertThat(e.vm()).isEqualTo(name);
                assertThat(e.getMessage()).contains("does not match").contains("The source is untouched");
            });
            assertThat(flipped.get()).as("the listener changed the target copy").isNotNull();
            try (HostSession s = ItLab.open(0); HostSession t = ItLab.open(1)) {
                assertThat(s.findVm(name).orElseThrow().persistent()).isTrue();
                assertThat(LabDisks.sha(s, boot)).isEqualTo(bootSha);
                assertThat(LabDisks.sha(s, raw)).isEqualTo(rawSha);
                assertThat(t.findVm(name)).isEmpty();
                for (String p : paths) assertThat(t.volume(p)).as(p).isEmpty();
            }
        } finally {
            LabDisks.removeEverywhere(name, paths);
        }
    }

    /** Reads the volume through the host's storage stream, flips one bit of its first data byte, writes it back (holes kept). */
    private static String flipOneDataByte(HostSession t, String path) {
        List<Object> parts = new ArrayList<>(); // byte[] data or Long hole
        ByteArrayOutputStream[] run = {null};
        t.downloadVolume(path, true, new VolumeSink() {
            @Override
            public void data(byte[] buffer, int length) {
                if (run[0] == null) {
                    run[0] = new ByteArrayOutputStream();
                    parts.add(run[0]);
                }
                run[0].write(buffer, 0, length);
            }

            @Override
            public void hole(long length) {
                run[0] = null;
                parts.add(length);
            }
        });
        boolean done = false;
        long offset = 0;
        String where = null;
        try (VolumeUpload up = t.uploadVolume(path, true)) {
            for (Object part : parts) {
                if (part instanceof Long hole) {
                    up.hole(hole);
                    offset += hole;
                    continue;
                }
                byte[] data = ((ByteArrayOutputStream) part).toByteArray();
                if (!done && data.length > 0) {
                    data[data.length / 2] ^= 0x01;
                    where = path + " at byte " + (offset + data.length / 2);
                    done = true;
                }
                up.data(data, data.length);
                offset += data.length;
            }
            up.finish();
        }
        return where;
    }
}
