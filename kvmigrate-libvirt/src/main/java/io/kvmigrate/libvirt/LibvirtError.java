package io.kvmigrate.libvirt;

import com.sun.jna.Pointer;
import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;

/** libvirt's last error on this thread, and its mapping to {@link ErrorCode} by error number (never by message text). */
public record LibvirtError(int code, int domain, String message) {
    public static final int VIR_ERR_INTERNAL_ERROR = 1;
    public static final int VIR_ERR_NO_SUPPORT = 3;
    public static final int VIR_ERR_NO_CONNECT = 5;
    public static final int VIR_ERR_INVALID_ARG = 8;
    public static final int VIR_ERR_XML_ERROR = 27;
    public static final int VIR_ERR_DOM_EXIST = 28;
    public static final int VIR_ERR_XML_DETAIL = 35;
    public static final int VIR_ERR_SYSTEM_ERROR = 38;
    public static final int VIR_ERR_RPC = 39;
    public static final int VIR_ERR_NO_DOMAIN = 42;
    public static final int VIR_ERR_AUTH_FAILED = 45;
    public static final int VIR_ERR_NO_STORAGE_POOL = 49;
    public static final int VIR_ERR_NO_STORAGE_VOL = 50;
    public static final int VIR_ERR_OPERATION_INVALID = 55;
    public static final int VIR_ERR_CONFIG_UNSUPPORTED = 67;
    public static final int VIR_ERR_OPERATION_TIMEOUT = 68;
    public static final int VIR_ERR_OPERATION_ABORTED = 78;
    public static final int VIR_ERR_MIGRATE_UNSAFE = 81;
    public static final int VIR_ERR_CPU_INCOMPATIBLE = 91;
    public static final int VIR_ERR_AUTH_UNAVAILABLE = 94;

    private static final Libvirt.ErrorFunc QUIET = (userData, error) -> { };

    static {
        // Without a handler libvirt prints every error to stderr; we report them ourselves.
        Libvirt.INSTANCE.virSetErrorFunc(null, QUIET);
    }

    /** Makes sure the quiet error handler is installed. */
    static void init() {
    }

    /** The last error of the calling thread. */
    public static LibvirtError last() {
        Pointer p = Libvirt.INSTANCE.virGetLastError();
        if (p == null) return new LibvirtError(0, 0, "unknown libvirt error");
        int code = p.getInt(0);
        int domain = p.getInt(4);
        Pointer msg = p.getPointer(8);
        return new LibvirtError(code, domain, msg == null ? "libvirt error " + code : msg.getString(0));
    }

    public ErrorCode errorCode() {
        return switch (code) {
            case VIR_ERR_NO_CONNECT, VIR_ERR_RPC, VIR_ERR_AUTH_FAILED, VIR_ERR_AUTH_UNAVAILABLE -> ErrorCode.HOST_UNREACHABLE;
            case VIR_ERR_NO_DOMAIN -> ErrorCode.UNKNOWN_VM;
            case VIR_ERR_DOM_EXIST -> ErrorCode.TARGET_CONFLICT;
            case VIR_ERR_XML_ERROR, VIR_ERR_XML_DETAIL, VIR_ERR_INVALID_ARG -> ErrorCode.INVALID_INPUT;
            case VIR_ERR_MIGRATE_UNSAFE -> ErrorCode.STORAGE_NOT_SHARED;
            case VIR_ERR_CPU_INCOMPATIBLE -> ErrorCode.PREFLIGHT_FAILED;
            case VIR_ERR_OPERATION_ABORTED -> ErrorCode.CANCELLED;
            case VIR_ERR_OPERATION_TIMEOUT -> ErrorCode.TIMEOUT;
            default -> ErrorCode.LIBVIRT_ERROR;
        };
    }

    /** "Tried to {tried} but failed because {message}", as an exception naming step, host and VM. */
    public KvmigrateException toException(String step, String host, String vm, String tried) {
        String hint = switch (errorCode()) {
            case HOST_UNREACHABLE -> "Check that libvirtd runs on the host and accepts connections on that URI (firewall, ssh keys, TLS certificates).";
            case UNKNOWN_VM -> "List VMs with 'kvmigrate vms --host " + host + "'.";
            case STORAGE_NOT_SHARED -> "Put the disks on storage both hosts share, or copy storage.";
            default -> "See the libvirt log of host '" + host + "' for details (libvirt error " + code + ").";
        };
        return new KvmigrateException(errorCode(), step, host, vm, "Tried to " + tried + " but failed because: " + message, hint);
    }
}
