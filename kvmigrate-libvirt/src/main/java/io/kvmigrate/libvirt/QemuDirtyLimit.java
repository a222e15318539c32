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

    /** How long a monitor command may take before the caller goes on without it. */
    static final long ANSWER_MS = 10_000;

    /** Holds every vCPU of the VM to {@code mibPerSecond} of dirtied memory. */
    static void set(LibvirtConnection c, String vm, long mibPerSecond) {
        if (mibPerSecond < 1) throw new IllegalArgumentException("dirty limit must be >= 1 MiB/s");
        onOwnConnection(c, vm, "{\"execute\":\"set-vcpu-dirty-limit\",\"arguments\":{\"dirty-rate\":" + mibPerSecond + "}}",
                "set the per-vCPU dirty limit to " + mibPerSecond + " MiB/s");
    }

    /**
     * Lifts the limit of the VM on this host (QEMU accepts it with no limit set; nothing to do when the VM left); logs
     * instead of throwing: it runs where a migration has just ended with the VM still here.
     */
    static void lift(LibvirtConnection c, String vm) {
        try {
            if (onOwnConnection(c, vm, "{\"execute\":\"cancel-vcpu-dirty-limit\"}", "lift the per-vCPU dirty limit") != null) {
                LOG.info("lifted the per-vCPU dirty limit of '{}' on '{}': its migration ended with it still there", vm, c.host.name());
            }
        } catch (RuntimeException e) {
            LOG.warn("could not lift the per-vCPU dirty limit of '{}' on '{}': {}", vm, c.host.name(), e.getMessage());
        }
    }

    /**
     * Runs a monitor command on a connection of its own, on a thread of its own, and waits at most {@link #ANSWER_MS}: sent on
     * the connection that carries the blocking migrate call, {@code set-vcpu-dirty-limit} was seen to wait for minutes
     * (libvirt 9.0, right after the migration began), and with it the policy's poller. A command that answers later
     * still takes effect; the migration's end lifts it then. Null when the VM is not on this host.
     */
    private static String onOwnConnection(LibvirtConnection c, String vm, String cmd, String tried) {
        java.util.concurrent.CompletableFuture<String> answer = new java.util.concurrent.CompletableFuture<>();
        Thread t = new Thread(() -> {
            Pointer own = Libvirt.INSTANCE.virConnectOpenAuth(c.host.uri(), LibvirtConnector.defaultAuth(), 0);
            try {
                if (own == null) throw c.error("connect to " + c.host.uri() + " to " + tried, vm);
                Pointer d = Libvirt.INSTANCE.virDomainLookupByName(own, vm);
                if (d == null) {
                    Libvirt.INSTANCE.virResetLastError();
                    answer.complete(null);
                    return;
                }
                try {
                    answer.complete(command(c, d, vm, cmd, tried));
                } finally {
                    Libvirt.INSTANCE.virDomainFree(d);
                }
            } catch (RuntimeException e) {
                answer.completeExceptionally(e);
            } finally {
                if (own != null) Libvirt.INSTANCE.virConnectClose(own);
            }
        }, "kvmigrate-qmp-" + vm);
        t.setDaemon(true);
        t.start();
        try {
            return answer.get(ANSWER_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new KvmigrateException(ErrorCode.MIGRATION_FAILED, "migrate", c.host.name(), vm, "Tried to " + tried + " but the hypervisor"
                    + " did not answer within " + ANSWER_MS / 1000 + " s.", null);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KvmigrateException(ErrorCode.CANCELLED, "migrate", c.host.name(), vm, "Interrupted while trying to " + tried + ".", null);
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
