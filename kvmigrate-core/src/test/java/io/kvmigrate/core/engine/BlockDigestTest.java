package io.kvmigrate.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class BlockDigestTest {
    private static final int MIB = 1 << 20;

    /** 5.5 MiB: random data, a zero run across a block boundary, random again. */
    private static byte[] content() {
        byte[] b = new byte[5 * MIB + MIB / 2];
        new Random(7).nextBytes(b);
        java.util.Arrays.fill(b, MIB / 2, 3 * MIB, (byte) 0);
        return b;
    }

    private static VolumeCopier.Digest fed(byte[] b, int chunk) {
        BlockDigest d = new BlockDigest();
        for (int off = 0; off < b.length; off += chunk) d.data(java.util.Arrays.copyOfRange(b, off, Math.min(b.length, off + chunk)),
                Math.min(chunk, b.length - off));
        return d.finish();
    }

    @Test
    void sameContent_anyChunking_sameDigest() {
        byte[] b = content();
        assertThat(fed(b, 4096)).isEqualTo(fed(b, MIB)).isEqualTo(fed(b, 777_777)).isEqualTo(fed(b, b.length));
        assertThat(fed(b, 4096).length()).isEqualTo(b.length);
    }

    @Test
    void holes_equalTheZerosTheyReadAs_whereverTheyStartAndEnd() {
        byte[] b = content();
        BlockDigest d = new BlockDigest();
        d.data(b, MIB / 2);
        d.hole(3 * MIB - MIB / 2); // the zero run, as a hole crossing two block boundaries
        d.data(java.util.Arrays.copyOfRange(b, 3 * MIB, b.length), b.length - 3 * MIB);
        assertThat(d.finish()).isEqualTo(fed(b, 65536));
    }

    @Test
    void oneChangedByte_orAnotherLength_changesTheDigest() {
        byte[] b = content();
        byte[] c = b.clone();
        c[4 * MIB + 12345] ^= 1;
        assertThat(fed(c, 65536)).isNotEqualTo(fed(b, 65536));
        byte[] zeroAtHoleEnd = b.clone();
        zeroAtHoleEnd[2 * MIB] = 1; // inside the zero run
        assertThat(fed(zeroAtHoleEnd, 65536)).isNotEqualTo(fed(b, 65536));
        BlockDigest shorter = new BlockDigest();
        shorter.hole(4 * MIB);
        BlockDigest longer = new BlockDigest();
        longer.hole(5 * MIB);
        assertThat(shorter.finish()).isNotEqualTo(longer.finish());
    }

    @Test
    void aHugeHole_costsMarksNotBytes() {
        BlockDigest d = new BlockDigest();
        long t0 = System.nanoTime();
        d.hole(500L << 30); // 500 GiB
        VolumeCopier.Digest digest = d.finish();
        assertThat(digest.length()).isEqualTo(500L << 30);
        // not a timing assertion: the point is that this test finishes at all (500 GiB of zeros through SHA-256 takes minutes)
        System.out.println("500 GiB hole digested in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
    }
}
