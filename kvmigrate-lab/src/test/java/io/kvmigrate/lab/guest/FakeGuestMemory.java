package io.kvmigrate.lab.guest;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Guest RAM as a byte array from physical address 0, with helpers to lay out the test guest's pages. */
final class FakeGuestMemory implements GuestMemory {

    final ByteBuffer ram;
    final List<Integer> readLengths = new ArrayList<>();

    FakeGuestMemory(long size) {
        ram = ByteBuffer.wrap(new byte[Math.toIntExact(size)]).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** RAM big enough for the span of {@code p}. */
    static FakeGuestMemory forSpan(TestGuest.Params p) {
        return new FakeGuestMemory(p.spanStart() + p.spanBytes());
    }

    @Override
    public byte[] read(long physicalAddress, int length) {
        // Enforce the libvirt limit so a reader asking for more fails here, as it would against libvirtd.
        if (length <= 0 || length > MAX_READ) {
            throw new IllegalArgumentException("read of " + length + " bytes");
        }
        readLengths.add(length);
        int at = Math.toIntExact(physicalAddress);
        return Arrays.copyOfRange(ram.array(), at, at + length);
    }

    /** Writes the status block as the guest would. */
    FakeGuestMemory status(long pass, long page) {
        ram.putInt((int) TestGuest.STATUS_ADDRESS, TestGuest.STATUS_MAGIC);
        ram.putInt((int) TestGuest.PASS_ADDRESS, (int) pass);
        ram.putInt((int) TestGuest.PAGE_ADDRESS, (int) page);
        return this;
    }

    /** Lays out a consistent span, headers and bodies: pages [0,k) as pass {@code pass} wrote them, the rest as pass - 1 did. */
    FakeGuestMemory span(TestGuest.Params p, long pass, int k) {
        PageContent content = new PageContent(p);
        PageContent.Body current = content.body(pass, 0);
        for (int i = 0; i < k; i++) {
            page(p, i, pass, current);
        }
        if (k < p.spanPages()) {
            PageContent.Body previous = content.body(pass - 1, k);
            for (int i = k; i < p.spanPages(); i++) {
                page(p, i, pass - 1, previous);
            }
        }
        return this;
    }

    /** Writes page {@code page} as pass {@code pass} did: header, then the next body dwords from {@code body}. */
    FakeGuestMemory page(TestGuest.Params p, int page, long pass, PageContent.Body body) {
        header(p, page, pass, page ^ TestGuest.PAGE_TAG);
        body(p, page, 0, PageContent.BODY_DWORDS, body);
        return this;
    }

    /** Writes body dwords [from, to) of {@code page} from {@code body} (which must be positioned at dword {@code from}). */
    FakeGuestMemory body(TestGuest.Params p, int page, int from, int to, PageContent.Body body) {
        int at = Math.toIntExact(p.spanStart() + (long) page * TestGuest.PAGE_SIZE) + 8;
        for (int d = from; d < to; d++) {
            ram.putInt(at + 4 * d, body.next());
        }
        return this;
    }

    /** Flips the bits {@code mask} of the byte at {@code offset} of page {@code page}. */
    FakeGuestMemory flip(TestGuest.Params p, int page, int offset, int mask) {
        int at = Math.toIntExact(p.spanStart() + (long) page * TestGuest.PAGE_SIZE) + offset;
        ram.put(at, (byte) (ram.get(at) ^ mask));
        return this;
    }

    FakeGuestMemory header(TestGuest.Params p, int page, long dword0, int dword1) {
        int at = Math.toIntExact(p.spanStart() + (long) page * TestGuest.PAGE_SIZE);
        ram.putInt(at, (int) dword0);
        ram.putInt(at + 4, dword1);
        return this;
    }

    FakeGuestMemory dword0(TestGuest.Params p, int page, long value) {
        ram.putInt(Math.toIntExact(p.spanStart() + (long) page * TestGuest.PAGE_SIZE), (int) value);
        return this;
    }
}
