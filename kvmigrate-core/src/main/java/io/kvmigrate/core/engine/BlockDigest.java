package io.kvmigrate.core.engine;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * A volume's digest that costs what its data costs: the file is cut into 1 MiB blocks; a block that is all zeros (a
 * hole, or data that reads as zeros) is one fixed mark, any other block its SHA-256; the digest is the SHA-256 of those
 * block hashes in order, then the length. A hole of any size is so a few marks, never hashed byte by byte, while one
 * changed byte anywhere still changes the digest. Fed in any chunking of data and holes, it gives the same result for
 * the same content, so a stream read on one host and a file read on another compare equal exactly when they are equal.
 */
public final class BlockDigest {
    static final int BLOCK = 1 << 20;
    private static final byte[] ZERO_MARK = new byte[32]; // no SHA-256 of a non-zero block is all zeros in practice
    private final MessageDigest blocks = sha256();
    private final MessageDigest block = sha256();
    private final byte[] buffer = new byte[BLOCK];
    private int filled;
    private long length;

    /** Data read from the file, in order. */
    public void data(byte[] b, int len) {
        int off = 0;
        while (off < len) {
            int n = Math.min(len - off, BLOCK - filled);
            System.arraycopy(b, off, buffer, filled, n);
            filled += n;
            off += n;
            if (filled == BLOCK) endBlock();
        }
        length += len;
    }

    /** A hole of {@code len} bytes (reads as zeros): whole blocks cost one mark each. */
    public void hole(long len) {
        long left = len;
        if (filled > 0) {
            int n = (int) Math.min(left, BLOCK - filled);
            Arrays.fill(buffer, filled, filled + n, (byte) 0);
            filled += n;
            left -= n;
            if (filled == BLOCK) endBlock();
        }
        for (; left >= BLOCK; left -= BLOCK) blocks.update(ZERO_MARK);
        if (left > 0) {
            Arrays.fill(buffer, 0, (int) left, (byte) 0);
            filled = (int) left;
        }
        length += len;
    }

    /** The digest of everything fed so far, and its length; the digest cannot be fed after this. */
    public VolumeCopier.Digest finish() {
        if (filled > 0) endBlock();
        for (int i = 0; i < 8; i++) blocks.update((byte) (length >>> (56 - 8 * i)));
        return new VolumeCopier.Digest(HexFormat.of().formatHex(blocks.digest()), length);
    }

    private void endBlock() {
        if (allZero(buffer, filled)) {
            blocks.update(ZERO_MARK);
        } else {
            block.update(buffer, 0, filled);
            blocks.update(block.digest());
        }
        filled = 0;
    }

    private static boolean allZero(byte[] b, int len) {
        for (int i = 0; i < len; i++) if (b[i] != 0) return false;
        return true;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK always has SHA-256", e);
        }
    }
}
