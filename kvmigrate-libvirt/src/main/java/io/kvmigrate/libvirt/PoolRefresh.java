package io.kvmigrate.libvirt;

import com.sun.jna.Pointer;

/**
 * Rescans a storage pool, so files written behind libvirt's back (by the other host of a shared directory) are seen.
 * libvirt refuses a refresh while a volume is being created in the pool ("has asynchronous jobs running"): with jobs
 * running side by side on one host, one job's sharing probe or new disk would fail another's refresh. That refusal
 * passes within milliseconds, so a refresh refused by an internal error is tried again for a while.
 */
final class PoolRefresh {
    private static final Libvirt LV = Libvirt.INSTANCE;
    /** How long a volume creation by a concurrent job may hold the pool: a qcow2 or probe file takes milliseconds. */
    private static final long PATIENCE_MS = 30_000;
    private static final long FIRST_PAUSE_MS = 20;
    private static final long MAX_PAUSE_MS = 500;

    private PoolRefresh() {
    }

    /** Refreshes {@code pool} of host {@code c}, or throws what libvirt said, naming {@code what} was refreshed. */
    static void refreshOrThrow(LibvirtConnection c, Pointer pool, String what) {
        LibvirtError err = refresh(pool);
        if (err != null) throw err.toException(null, c.host.name(), null, "refresh " + what);
    }

    /** Refreshes {@code pool}; null when done, else libvirt's error (taken before anything can reset it). */
    static LibvirtError refresh(Pointer pool) {
        long deadline = System.nanoTime() + PATIENCE_MS * 1_000_000;
        long pause = FIRST_PAUSE_MS;
        while (true) {
            if (LV.virStoragePoolRefresh(pool, 0) == 0) return null;
            LibvirtError err = LibvirtError.last();
            if (err.code() != LibvirtError.VIR_ERR_INTERNAL_ERROR || System.nanoTime() + pause * 1_000_000 > deadline
                    || LV.virStoragePoolIsActive(pool) != 1) {
                return err;
            }
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return err;
            }
            pause = Math.min(MAX_PAUSE_MS, pause * 2);
        }
    }
}
