package io.kvmigrate.lab.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class TestGuestTest {

    private static final TestGuest.Params DEFAULTS = TestGuest.Params.defaults();

    @Test
    void defaults_matchParameterBlockAssembledIntoBootSector() {
        ByteBuffer block = le(TestGuest.bootSector());

        assertThat(block.getInt(0x1E0)).isEqualTo(0x474D564B); // "KVMG"
        assertThat(block.getInt(0x1E4)).isEqualTo(0x100000).isEqualTo((int) DEFAULTS.spanStart());
        assertThat(block.getInt(0x1E8)).isEqualTo(8192).isEqualTo(DEFAULTS.spanPages());
        assertThat(block.getInt(0x1EC)).isZero().isEqualTo(DEFAULTS.delay());
        assertThat(block.getInt(0x1F0)).isZero();
        assertThat(DEFAULTS.content()).isEqualTo(TestGuest.Content.REPEATING);
        assertThat(block.getInt(0x1F4)).isEqualTo(0x2545F491).isEqualTo(DEFAULTS.seed());
    }

    @Test
    void bootSector_is512BytesWithSignature_andEachCallReturnsACopy() {
        byte[] first = TestGuest.bootSector();
        first[0] = (byte) ~first[0];
        byte[] second = TestGuest.bootSector();

        assertThat(second).hasSize(512);
        assertThat(second[510]).isEqualTo((byte) 0x55);
        assertThat(second[511]).isEqualTo((byte) 0xAA);
        assertThat(second[0]).isNotEqualTo(first[0]);
    }

    @Test
    void diskImage_patchesFieldsAt0x1E0LittleEndian_andKeeps55AA() {
        TestGuest.Params p = new TestGuest.Params(0x0230_0000L, 0x0001_2345, 0x0102_0304,
                TestGuest.Content.RANDOM, 0xDEADBEEF);

        byte[] image = TestGuest.diskImage(p);

        assertThat(Arrays.copyOfRange(image, 0x1E0, 0x1F8)).containsExactly(
                'K', 'V', 'M', 'G',
                0x00, 0x00, 0x30, 0x02,
                0x45, 0x23, 0x01, 0x00,
                0x04, 0x03, 0x02, 0x01,
                0x01, 0x00, 0x00, 0x00,
                0xEF, 0xBE, 0xAD, 0xDE);
        assertThat(image[510]).isEqualTo((byte) 0x55);
        assertThat(image[511]).isEqualTo((byte) 0xAA);
    }

    @Test
    void diskImage_isOneMiB_codeUnchanged_restZero() {
        byte[] sector = TestGuest.bootSector();

        byte[] image = TestGuest.diskImage(DEFAULTS.withSpanMiB(64).withDelay(2000));

        assertThat(image).hasSize(1 << 20);
        assertThat(Arrays.copyOfRange(image, 0, 0x1E0)).isEqualTo(Arrays.copyOfRange(sector, 0, 0x1E0));
        assertThat(Arrays.copyOfRange(image, 512, image.length)).containsOnly(0);
        assertThat(le(image).getInt(0x1F0)).as("mode for REPEATING").isZero();
    }

    @Test
    void diskImage_withDefaults_equalsShippedSector() {
        assertThat(Arrays.copyOf(TestGuest.diskImage(DEFAULTS), 512)).isEqualTo(TestGuest.bootSector());
    }

    @Test
    void params_withers_changeOneField() {
        TestGuest.Params p = DEFAULTS.withSpanMiB(64).withDelay(200).withContent(TestGuest.Content.RANDOM);

        assertThat(p).isEqualTo(new TestGuest.Params(0x100000, 16384, 200, TestGuest.Content.RANDOM, 0x2545F491));
        assertThat(p.spanBytes()).isEqualTo(64L << 20);
        assertThat(DEFAULTS.spanBytes()).isEqualTo(32L << 20);
    }

    @Test
    void params_invalid_throwNamingTheField() {
        assertThatThrownBy(() -> new TestGuest.Params(0x8000, 1, 0, TestGuest.Content.REPEATING, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("spanStart");
        assertThatThrownBy(() -> new TestGuest.Params(0x100800, 1, 0, TestGuest.Content.REPEATING, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("spanStart").hasMessageContaining("aligned");
        assertThatThrownBy(() -> new TestGuest.Params(0x100000, 0, 0, TestGuest.Content.REPEATING, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("spanPages");
        assertThatThrownBy(() -> new TestGuest.Params(0xFFF0_0000L, 257, 0, TestGuest.Content.REPEATING, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("spanPages").hasMessageContaining("4 GiB");
        assertThatThrownBy(() -> DEFAULTS.withDelay(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("delay");
        assertThatThrownBy(() -> new TestGuest.Params(0x100000, 1, 0, TestGuest.Content.REPEATING, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("seed");
        assertThatThrownBy(() -> DEFAULTS.withSpanMiB(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("spanMiB");
        assertThatThrownBy(() -> DEFAULTS.withContent(null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("content");
    }

    @Test
    void params_spanEndingExactlyAt4GiB_isAccepted() {
        TestGuest.Params p = new TestGuest.Params(0xFFF0_0000L, 256, 0, TestGuest.Content.REPEATING, 1);

        assertThat(p.spanStart() + p.spanBytes()).isEqualTo(1L << 32);
    }

    @Test
    void minimumMemoryMiB_isSpanEndRoundedUpPlus16() {
        assertThat(TestGuest.minimumMemoryMiB(DEFAULTS)).isEqualTo(1 + 32 + 16);
        assertThat(TestGuest.minimumMemoryMiB(new TestGuest.Params(0x100000, 257, 0, TestGuest.Content.REPEATING, 1)))
                .isEqualTo(1 + 2 + 16);
    }

    @Test
    void passCounter_withoutMagic_isEmpty() {
        FakeGuestMemory mem = new FakeGuestMemory(1 << 16);

        assertThat(TestGuest.passCounter(mem)).isEmpty();
    }

    @Test
    void passCounter_withMagic_returnsUnsignedPass() {
        FakeGuestMemory mem = new FakeGuestMemory(1 << 16).status(0xFFFF_FFFEL, 3);

        assertThat(TestGuest.passCounter(mem)).hasValue(0xFFFF_FFFEL);
    }

    private static ByteBuffer le(byte[] bytes) {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }
}
