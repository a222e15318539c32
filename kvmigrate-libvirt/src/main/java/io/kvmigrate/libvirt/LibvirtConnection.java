package io.kvmigrate.libvirt;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.HostRef;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.ToIntFunction;

/**
 * The one libvirt connection that a session's role objects ({@link LibvirtDomains}, {@link LibvirtVolumes},
 * {@link LibvirtMigrations}, {@link LibvirtInventory}, {@link LibvirtGuestProbes}) share, with the helpers they all use:
 * errors read from libvirt on the calling thread and mapped by number, naming this host.
 */
final class LibvirtConnection {
    private static final Libvirt LV = Libvirt.INSTANCE;
    final HostRef host;
    final Pointer conn;
    private volatile boolean closed;

    LibvirtConnection(HostRef host, Pointer conn) {
        this.host = host;
        this.conn = conn;
    }

    void close() {
        if (!closed) {
            closed = true;
            LV.virConnectClose(conn);
        }
    }

    <T> Optional<T> withOptionalDomain(Pointer dom, String name, Function<Pointer, T> f) {
        if (dom == null) {
            LibvirtError e = LibvirtError.last();
            if (e.code() == LibvirtError.VIR_ERR_NO_DOMAIN) return Optional.empty();
            throw e.toException("lookup", host.name(), name, "look up VM");
        }
        try {
            return Optional.of(f.apply(dom));
        } finally {
            LV.virDomainFree(dom);
        }
    }

    void withDomain(String name, Consumer<Pointer> f) {
        Pointer dom = LV.virDomainLookupByName(conn, name);
        if (dom == null) throw error("look up VM", name);
        try {
            f.accept(dom);
        } finally {
            LV.virDomainFree(dom);
        }
    }

    /**
     * Calls a virConnectListAll* function and hands each object to {@code f} (which frees it). When the call fails:
     * throws if {@code tried} names the step, else returns false (driver missing: the caller reports "unknown").
     */
    boolean list(ToIntFunction<PointerByReference> call, String tried, Consumer<Pointer> f) {
        PointerByReference ref = new PointerByReference();
        int n = call.applyAsInt(ref);
        if (n < 0) {
            if (tried != null) throw error(tried, null);
            LV.virResetLastError();
            return false;
        }
        Pointer array = ref.getValue();
        try {
            for (int i = 0; i < n; i++) f.accept(array.getPointer((long) i * Native.POINTER_SIZE));
        } finally {
            if (array != null) Native.free(Pointer.nativeValue(array));
        }
        return true;
    }

    String takeString(Pointer p, String tried) {
        if (p == null) throw error(tried, null);
        try {
            return p.getString(0, "UTF-8");
        } finally {
            Native.free(Pointer.nativeValue(p));
        }
    }

    void check(int rc, String tried, String vm) {
        if (rc < 0) throw error(tried, vm);
    }

    KvmigrateException error(String tried, String vm) {
        return LibvirtError.last().toException(null, host.name(), vm, tried);
    }
}
