package io.kvmigrate.libvirt;

import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.spi.GuestProbes;
import java.util.Optional;

/** {@link GuestProbes} over libvirt: guest physical memory peek and the hypervisor's dirty-rate measurement. */
final class LibvirtGuestProbes implements GuestProbes {
    private static final Libvirt LV = Libvirt.INSTANCE;
    private final LibvirtConnection c;

    LibvirtGuestProbes(LibvirtConnection c) {
        this.c = c;
    }

    @Override
    public HostRef host() {
        return c.host;
    }

    @Override
    public byte[] peekPhysicalMemory(String vm, long address, int length) {
        byte[] buf = new byte[length];
        c.withDomain(vm, d -> c.check(LV.virDomainMemoryPeek(d, address, new NativeLong(length), buf, Libvirt.VIR_MEMORY_PHYSICAL),
                "read guest memory at 0x" + Long.toHexString(address), vm));
        return buf;
    }

    // ---- dirty rate (issue 5) ----

    @Override
    public void startDirtyRateMeasurement(String vm, int seconds) {
        c.withDomain(vm, d -> {
            // Dirty-bitmap mode counts every written page (page sampling looks at 512 per GiB) and slows the guest as
            // a migration's dirty logging does; fall back to sampling where the hypervisor lacks it.
            if (LV.virDomainStartDirtyRateCalc(d, seconds, Libvirt.VIR_DOMAIN_DIRTYRATE_MODE_DIRTY_BITMAP) < 0) {
                LV.virResetLastError();
                c.check(LV.virDomainStartDirtyRateCalc(d, seconds, Libvirt.VIR_DOMAIN_DIRTYRATE_MODE_PAGE_SAMPLING),
                        "start the dirty-rate measurement", vm);
            }
        });
    }

    @Override
    public Optional<io.kvmigrate.core.model.DirtyRate> lastDirtyRate(String vm) {
        Pointer dom = LV.virDomainLookupByName(c.conn, vm);
        if (dom == null) throw c.error("look up VM", vm);
        com.sun.jna.Memory doms = new com.sun.jna.Memory(2L * Native.POINTER_SIZE);
        doms.setPointer(0, dom);
        doms.setPointer(Native.POINTER_SIZE, null);
        PointerByReference ret = new PointerByReference();
        try {
            if (LV.virDomainListGetStats(doms, Libvirt.VIR_DOMAIN_STATS_DIRTYRATE, ret, 0) < 0) throw c.error("read the dirty rate", vm);
            Pointer records = ret.getValue();
            try {
                Pointer rec = records == null ? null : records.getPointer(0);
                if (rec == null) return Optional.empty();
                Pointer params = rec.getPointer(Native.POINTER_SIZE);
                int n = rec.getInt(2L * Native.POINTER_SIZE);
                IntByReference i = new IntByReference();
                LongByReference l = new LongByReference();
                if (LV.virTypedParamsGetInt(params, n, "dirtyrate.calc_status", i) != 1 || i.getValue() != Libvirt.VIR_DOMAIN_DIRTYRATE_MEASURED) {
                    return Optional.empty();
                }
                long start = LV.virTypedParamsGetLLong(params, n, "dirtyrate.calc_start_time", l) == 1 ? l.getValue() : 0;
                long rate = LV.virTypedParamsGetLLong(params, n, "dirtyrate.megabytes_per_second", l) == 1 ? l.getValue() : 0;
                int period = LV.virTypedParamsGetInt(params, n, "dirtyrate.calc_period", i) == 1 ? i.getValue() : 1;
                PointerByReference mode = new PointerByReference();
                String m = LV.virTypedParamsGetString(params, n, "dirtyrate.calc_mode", mode) == 1 && mode.getValue() != null
                        ? mode.getValue().getString(0) : "page-sampling";
                return Optional.of(new io.kvmigrate.core.model.DirtyRate(rate, period, m, start));
            } finally {
                if (records != null) LV.virDomainStatsRecordListFree(records);
            }
        } finally {
            LV.virDomainFree(dom);
        }
    }
}
