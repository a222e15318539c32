package io.kvmigrate.libvirt;

import static io.kvmigrate.libvirt.DomainXml.child;
import static io.kvmigrate.libvirt.DomainXml.escape;
import static io.kvmigrate.libvirt.DomainXml.text;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import io.kvmigrate.core.api.KvmigrateException;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import org.w3c.dom.Element;

/** A storage pool whose target is a directory: the host's own if it has one, else a transient one we destroy after use. */
final class DirPool implements AutoCloseable {
    private static final Libvirt LV = Libvirt.INSTANCE;
    /** The names of the transient pools kvmigrate makes to reach a directory; every pool listing leaves them out. */
    static final String PROBE_PREFIX = "kvmigrate-probe-";
    final Pointer pool;
    /** Ours: destroyed on close. */
    private final boolean owned;
    /** A kvmigrate probe pool (ours or a concurrent run's), not one of the host's. */
    private final boolean probe;

    private DirPool(Pointer pool, boolean owned, boolean probe) {
        this.pool = pool;
        this.owned = owned;
        this.probe = probe;
    }

    /**
     * The directory's pool: the host's own if it has one, else a transient pool of ours. libvirt allows one pool per
     * path, so when a concurrent run's transient pool already covers the directory, that one is borrowed (used, never
     * destroyed; if it vanishes before it can be found, creating our own is tried again). Returns null when the
     * directory does not exist on the host and {@code mustExist} is false.
     */
    static DirPool open(LibvirtConnection s, String directory, boolean mustExist) {
        String dir = directory.endsWith("/") && directory.length() > 1 ? directory.substring(0, directory.length() - 1) : directory;
        Pointer own = find(s, dir, false);
        if (own != null) return refreshed(s, own, dir, false, false);
        for (int attempt = 1; ; attempt++) {
            String name = PROBE_PREFIX + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
            String xml = "<pool type='dir'><name>" + name + "</name><target><path>" + escape(dir) + "</path></target></pool>";
            Pointer p = LV.virStoragePoolCreateXML(s.conn, xml, 0);
            if (p != null) return new DirPool(p, true, true);
            LibvirtError err = LibvirtError.last();
            Pointer borrowed = find(s, dir, true);
            if (borrowed != null) {
                // its owner may destroy it at any moment: a refresh that fails means it went, so try again
                if (PoolRefresh.refresh(borrowed) == null) return new DirPool(borrowed, false, true);
                LV.virResetLastError();
                LV.virStoragePoolFree(borrowed);
                if (attempt < 3) continue;
            }
            if (attempt == 3) {
                if (!mustExist) return null;
                throw err.toException("verify-storage", s.host.name(), null, "open directory " + dir + " as a transient storage pool");
            }
        }
    }

    /** The active pool on {@code dir}: a host's own, or ({@code probe}) a transient one of a kvmigrate run. */
    private static Pointer find(LibvirtConnection s, String dir, boolean probe) {
        PointerByReference ref = new PointerByReference();
        int n = LV.virConnectListAllStoragePools(s.conn, ref, 0);
        if (n < 0) throw s.error("list storage pools", null);
        Pointer array = ref.getValue();
        Pointer found = null;
        try {
            for (int i = 0; i < n; i++) {
                Pointer p = array.getPointer((long) i * Native.POINTER_SIZE);
                // Another run's transient probe pool is not the directory's pool: it goes away under us, and a disk
                // reported in it made preflight ask for that pool on the target (POOL_MISSING, ~1 check in 8).
                if (found == null && isProbe(LV.virStoragePoolGetName(p)) == probe && LV.virStoragePoolIsActive(p) == 1
                        && dir.equals(poolPath(s, p))) {
                    found = p;
                } else {
                    LV.virStoragePoolFree(p);
                }
            }
        } finally {
            if (array != null) Native.free(Pointer.nativeValue(array));
        }
        return found;
    }

    private static DirPool refreshed(LibvirtConnection s, Pointer p, String dir, boolean owned, boolean probe) {
        try {
            PoolRefresh.refreshOrThrow(s, p, "the storage pool of " + dir);
        } catch (KvmigrateException e) {
            // freed after the error was read: every libvirt call, the free too, resets it (seen in CI as "unknown libvirt error")
            LV.virStoragePoolFree(p);
            throw e;
        }
        return new DirPool(p, owned, probe);
    }

    /** The pool's name as a disk's pool, or null for a transient probe pool (ours or borrowed): the disk is in none. */
    String hostPoolName() {
        return probe ? null : LV.virStoragePoolGetName(pool);
    }

    /** A transient pool of kvmigrate's own (this run's or a concurrent one's), not one of the host's. */
    static boolean isProbe(String poolName) {
        return poolName != null && poolName.startsWith(PROBE_PREFIX);
    }

    private static String poolPath(LibvirtConnection s, Pointer p) {
        Pointer xml = LV.virStoragePoolGetXMLDesc(p, 0);
        if (xml == null) return null;
        Element root = DomainXml.parseDocument(s.takeString(xml, "read pool XML"), "pool XML").getDocumentElement();
        Element target = child(root, "target");
        String path = target == null ? null : text(child(target, "path"));
        return path != null && path.endsWith("/") && path.length() > 1 ? path.substring(0, path.length() - 1) : path;
    }

    @Override
    public void close() {
        if (owned) LV.virStoragePoolDestroy(pool);
        LV.virStoragePoolFree(pool);
    }
}
