package io.kvmigrate.lab.guest;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.OptionalLong;

/** The test guest: a boot sector (resource /guest/dirtier.bin) that keeps dirtying a span of RAM in a checkable pattern. */
public final class TestGuest {

    /** Physical address of the status block; its first dword is the magic "KVMC". */
    public static final long STATUS_ADDRESS = 0x600;
    /** Physical address of the number of the pass in progress (u32). */
    public static final long PASS_ADDRESS = 0x604;
    /** Physical address of the index of the page being written in this pass (u32). */
    public static final long PAGE_ADDRESS = 0x608;
    /** Line the guest prints on COM1 once the fill pass is done. */
    public static final String READY_MARKER = "KVMIGRATE-GUEST READY";

    static final int PAGE_SIZE = 4096;
    /** dword1 of page i is i XOR this ("GMVK" little-endian), so a page moved to the wrong place is caught. */
    static final int PAGE_TAG = 0x4B564D47;
    static final int STATUS_MAGIC = magic("KVMC");
    static final int PARAMS_MAGIC = magic("KVMG");
    /** Offset of the parameter block inside the boot sector, fixed by dirtier.asm. */
    static final int PARAMS_OFFSET = 0x1E0;
    static final int SECTOR_SIZE = 512;
    static final int DISK_IMAGE_SIZE = 1 << 20;

    private static final long MIB = 1L << 20;
    private static final long FOUR_GIB = 1L << 32;
    private static final String RESOURCE = "/guest/dirtier.bin";

    private static volatile byte[] cachedSector;

    private TestGuest() {
    }

    /** What the guest writes into the body of each page. */
    public enum Content {
        /**
         * One dword per page, {@code (page * 0x9E3779B9) ^ seed}, repeated over the body and written once in the fill;
         * after it only the page header changes (highly compressible). See {@link PageContent}.
         */
        REPEATING,
        /** Consecutive xorshift32 outputs, rewritten on every pass (incompressible). */
        RANDOM
    }

    /**
     * Parameters patched into the boot sector; delay = delay-loop turns per page.
     *
     * @param spanStart physical address of the span, 4 KiB aligned, at least 1 MiB
     * @param spanPages number of 4 KiB pages; the span must end at or below 4 GiB
     * @param delay {@code dec ecx / jnz} turns after each page in passes &gt;= 1, 0 = none
     * @param content what the page bodies hold
     * @param seed xorshift32 seed, nonzero
     */
    public record Params(long spanStart, int spanPages, int delay, Content content, int seed) {

        /** Validates the fields; the guest has no way to report bad parameters. */
        public Params {
            Objects.requireNonNull(content, "content");
            if (spanStart < MIB || spanStart >= FOUR_GIB) {
                throw new IllegalArgumentException("spanStart must be in [1 MiB, 4 GiB): 0x" + Long.toHexString(spanStart));
            }
            if (spanStart % PAGE_SIZE != 0) {
                throw new IllegalArgumentException("spanStart must be 4 KiB aligned: 0x" + Long.toHexString(spanStart));
            }
            if (spanPages <= 0) {
                throw new IllegalArgumentException("spanPages must be > 0: " + spanPages);
            }
            if (spanStart + (long) spanPages * PAGE_SIZE > FOUR_GIB) {
                throw new IllegalArgumentException("spanPages: span 0x" + Long.toHexString(spanStart) + " + "
                        + spanPages + " pages ends above 4 GiB (the guest runs without paging)");
            }
            if (delay < 0) {
                throw new IllegalArgumentException("delay must be >= 0: " + delay);
            }
            if (seed == 0) {
                throw new IllegalArgumentException("seed must be nonzero (xorshift32 stays at 0 forever)");
            }
        }

        /** The values assembled into dirtier.bin: 32 MiB at 1 MiB, no delay, repeating content. */
        public static Params defaults() {
            return new Params(MIB, 8192, 0, Content.REPEATING, 0x2545F491);
        }

        /** Same parameters with a span of {@code mib} MiB. */
        public Params withSpanMiB(int mib) {
            if (mib <= 0 || mib > (int) (FOUR_GIB / MIB)) {
                throw new IllegalArgumentException("spanMiB must be in 1..4096: " + mib);
            }
            return new Params(spanStart, mib * (int) (MIB / PAGE_SIZE), delay, content, seed);
        }

        /** Same parameters with {@code d} delay-loop turns per page. */
        public Params withDelay(int d) {
            return new Params(spanStart, spanPages, d, content, seed);
        }

        /** Same parameters with content {@code c}. */
        public Params withContent(Content c) {
            return new Params(spanStart, spanPages, delay, c, seed);
        }

        /** Size of the span in bytes. */
        public long spanBytes() {
            return (long) spanPages * PAGE_SIZE;
        }
    }

    /** Returns a copy of the shipped boot sector (the defaults are assembled in). */
    public static byte[] bootSector() {
        byte[] sector = cachedSector;
        if (sector == null) {
            sector = loadSector();
            cachedSector = sector;
        }
        return sector.clone();
    }

    /** Returns a raw 1 MiB disk image: the boot sector with {@code p} patched into its parameter block, then zeros. */
    public static byte[] diskImage(Params p) {
        Objects.requireNonNull(p, "p");
        byte[] image = new byte[DISK_IMAGE_SIZE];
        byte[] sector = bootSector();
        System.arraycopy(sector, 0, image, 0, sector.length);
        ByteBuffer params = ByteBuffer.wrap(image, PARAMS_OFFSET, 24).order(ByteOrder.LITTLE_ENDIAN);
        params.putInt(PARAMS_MAGIC)
                .putInt((int) p.spanStart())
                .putInt(p.spanPages())
                .putInt(p.delay())
                .putInt(p.content() == Content.RANDOM ? 1 : 0)
                .putInt(p.seed());
        return image;
    }

    /** Guest RAM needed for {@code p}: span end rounded up to a MiB, plus 16 MiB for SeaBIOS's tables at the top of RAM. */
    public static int minimumMemoryMiB(Params p) {
        long end = p.spanStart() + p.spanBytes();
        return (int) ((end + MIB - 1) / MIB) + 16;
    }

    /** Reads the status block: empty if the magic "KVMC" is not there yet (guest still in BIOS). */
    public static OptionalLong passCounter(GuestMemory mem) {
        ByteBuffer status = readExactly(mem, STATUS_ADDRESS, 8);
        if (status.getInt(0) != STATUS_MAGIC) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(Integer.toUnsignedLong(status.getInt(4)));
    }

    /** Reads {@code length} bytes and insists the reader returned them all, little-endian view. */
    static ByteBuffer readExactly(GuestMemory mem, long address, int length) {
        byte[] bytes = mem.read(address, length);
        if (bytes == null || bytes.length != length) {
            throw new IllegalStateException("guest memory read at 0x" + Long.toHexString(address) + " returned "
                    + (bytes == null ? "null" : bytes.length + " bytes") + ", asked for " + length);
        }
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static int magic(String fourChars) {
        return ByteBuffer.wrap(fourChars.getBytes(StandardCharsets.US_ASCII)).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    private static byte[] loadSector() {
        try (InputStream in = TestGuest.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("classpath resource " + RESOURCE + " is missing");
            }
            byte[] sector = in.readAllBytes();
            ByteBuffer le = ByteBuffer.wrap(sector).order(ByteOrder.LITTLE_ENDIAN);
            // Catch a dirtier.bin whose layout no longer matches the offsets used here.
            if (sector.length != SECTOR_SIZE || (sector[510] & 0xFF) != 0x55 || (sector[511] & 0xFF) != 0xAA
                    || le.getInt(PARAMS_OFFSET) != PARAMS_MAGIC) {
                throw new IllegalStateException(RESOURCE + " is not a 512-byte boot sector with the parameter block at 0x"
                        + Integer.toHexString(PARAMS_OFFSET));
            }
            return sector;
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + RESOURCE, e);
        }
    }
}
