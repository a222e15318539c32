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

    /** Lays out a consistent span: pages [0,k) at {@code pass}, the rest at {@code pass - 1}. */
    FakeGuestMemory span(TestGuest.Params p, long pass, int k) {
        for (int i = 0; i < p.spanPages(); i++) {
            header(p, i, i < k ? pass : pass - 1, i ^ TestGuest.PAGE_TAG);
        }
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
