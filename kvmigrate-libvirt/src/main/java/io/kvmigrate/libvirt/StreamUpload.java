package io.kvmigrate.libvirt;

import com.sun.jna.Memory;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import io.kvmigrate.core.spi.VolumeUpload;

/** An upload stream into a volume; holds the pool (maybe transient) open until closed. */
final class StreamUpload implements VolumeUpload {
    private static final Libvirt LV = Libvirt.INSTANCE;
    private static final int STREAM_CHUNK = LibvirtVolumes.STREAM_CHUNK;
    private final LibvirtConnection c;
    private final String path;
    private final DirPool pool;
    private final Pointer vol;
    private final Pointer st;
    private final boolean sparse;
    private final Memory buffer = new Memory(STREAM_CHUNK);
    private boolean finished;
    private boolean closed;

    StreamUpload(LibvirtConnection c, String path, DirPool pool, Pointer vol, Pointer st, boolean sparse) {
        this.c = c;
        this.path = path;
        this.pool = pool;
        this.vol = vol;
        this.st = st;
        this.sparse = sparse;
    }

    @Override
    public void data(byte[] data, int length) {
        int off = 0;
        while (off < length) {
            int n = Math.min(STREAM_CHUNK, length - off);
            buffer.write(0, data, off, n);
            int sent = LV.virStreamSend(st, buffer, new NativeLong(n));
            if (sent < 0) throw c.error("write to " + path, null);
            // libvirt may take less than offered: continue from the first unsent byte.
            off += sent;
        }
    }

    @Override
    public void hole(long length) {
        if (sparse) {
            c.check(LV.virStreamSendHole(st, length, 0), "skip a hole of " + length + " bytes in " + path, null);
            return;
        }
        byte[] zeros = new byte[(int) Math.min(STREAM_CHUNK, length)];
        for (long left = length; left > 0; left -= zeros.length) data(zeros, (int) Math.min(zeros.length, left));
    }

    @Override
    public void finish() {
        c.check(LV.virStreamFinish(st), "finish writing " + path, null);
        finished = true;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (!finished) LV.virStreamAbort(st);
        LV.virStreamFree(st);
        LV.virStorageVolFree(vol);
        pool.close();
    }
}
