package io.kvmigrate.libvirt;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * QEMU's per-vCPU dirty limit ({@code set-vcpu-dirty-limit}, QEMU 7.1+) through libvirt's QEMU monitor pass-through, the
 * only way libvirt 9.0 reaches it. The commands are fixed texts with one number in them: nothing a user typed goes into
 * a monitor command. libvirt marks a domain that received such a command as tainted ("custom-monitor"), a note in its
 * log and nothing more.
 */
final class QemuDirtyLimit {
    private static final Logger LOG = LoggerFactory.getLogger(QemuDirtyLimit.class);
    private static final Pattern DESC = Pattern.compile("\"desc\"\\s*:\\s*\"([^\"]*)\"");

    /** libvirt-qemu.so: loaded on first use, so a host without it only loses the dirty limit. */
    interface LibvirtQemu extends Library {
        int virDomainQemuMonitorCommand(Pointer dom, String cmd, PointerByReference result, int flags);
    }

    private static final class Holder {
        static final LibvirtQemu LQ = Native.load("virt-qemu", LibvirtQemu.class);
    }

    private QemuDirtyLimit() {
    }

    /** Holds every vCPU of the domain to {@code mibPerSecond} of dirtied memory. */
    static void set(LibvirtConnection c, Pointer dom, String vm, long mibPerSecond) {
        if (mibPerSecond < 1) throw new IllegalArgumentException("dirty limit must be >= 1 MiB/s");
        command(c, dom, vm, "{\"execute\":\"set-vcpu-dirty-limit\",\"arguments\":{\"dirty-rate\":" + mibPerSecond + "}}",
                "set the per-vCPU dirty limit to " + mibPerSecond + " MiB/s");
    }

    /** Lifts the limit from every vCPU (QEMU accepts it with no limit set). */
    static void cancel(LibvirtConnection c, Pointer dom, String vm) {
        command(c, dom, vm, "{\"execute\":\"cancel-vcpu-dirty-limit\"}", "lift the per-vCPU dirty limit");
    }

    /** QEMU's list of limited vCPUs, as it answers ({@code {"return": [...]}}): for tests and diagnosis. */
    static String query(LibvirtConnection c, Pointer dom, String vm) {
        return command(c, dom, vm, "{\"execute\":\"query-vcpu-dirty-limit\"}", "read the per-vCPU dirty limit");
    }

    /**
     * Lifts the limit of the VM named {@code vm} on this host, looked up anew (its migration's domain handle may be freed
     * already); logs instead of throwing: it runs where a migration has just ended with the VM still here.
     */
    static void lift(LibvirtConnection c, String vm) {
        Pointer d = Libvirt.INSTANCE.virDomainLookupByName(c.conn, vm);
        if (d == null) {
            Libvirt.INSTANCE.virResetLastError();
            return; // not here (moved after all): nothing to lift
        }
        try {
            cancel(c, d, vm);
            LOG.info("lifted the per-vCPU dirty limit of '{}' on '{}': its migration ended with it still there", vm, c.host.name());
        } catch (RuntimeException e) {
            LOG.warn("could not lift the per-vCPU dirty limit of '{}' on '{}': {}", vm, c.host.name(), e.getMessage());
        } finally {
            Libvirt.INSTANCE.virDomainFree(d);
        }
    }

    private static String command(LibvirtConnection c, Pointer dom, String vm, String cmd, String tried) {
        PointerByReference result = new PointerByReference();
        LibvirtQemu lq;
        try {
            lq = Holder.LQ;
        } catch (LinkageError e) {
            throw new KvmigrateException(ErrorCode.LIBVIRT_ERROR, null, c.host.name(), vm, "Tried to " + tried + " but failed because"
                    + " libvirt's QEMU library (libvirt-qemu.so.0) is not available: " + e.getMessage(), "Install libvirt's client libraries.");
        }
        if (lq.virDomainQemuMonitorCommand(dom, cmd, result, 0) < 0) throw c.error(tried, vm);
        String reply = c.takeString(result.getValue(), tried);
        // libvirt passes QEMU's reply on as it is: an error comes back as {"error": {"class": ..., "desc": ...}}
        if (!reply.contains("\"return\"")) {
            Matcher m = DESC.matcher(reply);
            throw new KvmigrateException(ErrorCode.MIGRATION_FAILED, "migrate", c.host.name(), vm, "Tried to " + tried + " but QEMU refused: "
                    + (m.find() ? m.group(1) : reply), "The dirty limit needs KVM and the guest's dirty ring (" + io.kvmigrate.core.plan.DirtyLimit.HOW
                    + ").");
        }
        return reply;
    }
}
