package io.kvmigrate.core.spi;

import io.kvmigrate.core.api.KvmigrateException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What a storage pool is, as kvmigrate compares and defines it: its name, libvirt type ({@code dir}, {@code netfs}, or
 * whatever an existing pool has), target directory and, for network pools, where its storage comes from.
 *
 * @param path the target directory, without a trailing slash
 * @param sourceHost the NFS server of a {@code netfs} pool, else null
 * @param sourceDir the exported directory on that server, else null
 * @param sourceFormat {@code nfs}, {@code auto}, ... for {@code netfs}, else null
 * @param protocolVersion the NFS protocol version ({@code 4.2}) of a {@code netfs} pool; null when the pool leaves it to
 *        mount (which may fall back to NFSv3)
 */
public record PoolSpec(String name, String type, String path, String sourceHost, String sourceDir, String sourceFormat,
        String protocolVersion) {
    public static final String DIR = "dir";
    public static final String NETFS = "netfs";

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}");
    private static final Pattern PATH_COMPONENT = Pattern.compile("[A-Za-z0-9_.+@,=-]+");
    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");
    private static final Pattern NFS_VERSION = Pattern.compile("3|4|4\\.[0-2]");

    public PoolSpec {
        path = trimSlash(path);
        sourceDir = trimSlash(sourceDir);
    }

    /** A directory pool over {@code path} (a directory the admin has mounted, or a local one). */
    public static PoolSpec dir(String name, String path) {
        return new PoolSpec(name, DIR, path, null, null, null, null);
    }

    /** An NFS pool: libvirt mounts {@code server:export} at {@code path} with that protocol version, format stated. */
    public static PoolSpec nfs(String name, String path, String server, String export, String version) {
        return new PoolSpec(name, NETFS, path, server, export, "nfs", version);
    }

    public boolean isNfs() {
        return NETFS.equals(type);
    }

    /** Where the storage comes from, for people: "server:/export (nfs, version 4.2)", or null for a pool without a source. */
    public String source() {
        if (sourceHost == null && sourceDir == null) return null;
        StringBuilder sb = new StringBuilder();
        if (sourceHost != null) sb.append(sourceHost).append(':');
        sb.append(sourceDir == null ? "" : sourceDir);
        sb.append(" (").append(sourceFormat == null ? "format unset" : sourceFormat).append(", ")
                .append(protocolVersion == null ? "version unset" : "version " + protocolVersion).append(')');
        return sb.toString();
    }

    /**
     * How this pool differs from {@code other} in what decides where its files are: type, target directory and source;
     * empty when they are the same pool. Each entry reads "path /a (LABEL: /b)", LABEL naming the other ("wanted", a host).
     */
    public List<String> differencesFrom(PoolSpec other, String otherLabel) {
        List<String> out = new ArrayList<>();
        diff(out, "type", type, other.type, otherLabel);
        diff(out, "path", path, other.path, otherLabel);
        diff(out, "NFS server", sourceHost, other.sourceHost, otherLabel);
        diff(out, "export", sourceDir, other.sourceDir, otherLabel);
        diff(out, "format", sourceFormat, other.sourceFormat, otherLabel);
        diff(out, "NFS version", protocolVersion, other.protocolVersion, otherLabel);
        return out;
    }

    private static void diff(List<String> out, String what, String have, String other, String label) {
        if (!Objects.equals(have, other)) {
            out.add(what + " " + (have == null ? "unset" : have) + " (" + label + ": " + (other == null ? "unset" : other) + ")");
        }
    }

    /**
     * This spec, checked before anything is changed on any host: a plain pool name, absolute clean paths, a host name or
     * IPv4 address for the server, a known NFS version. Throws INVALID_INPUT naming the bad field.
     */
    public PoolSpec validated() {
        if (name == null || !NAME.matcher(name).matches()) {
            throw KvmigrateException.invalidInput("Pool name '" + printable(name) + "' is not allowed: use 1-64 letters, digits, '_', '.', '+' or '-', "
                    + "starting with a letter, digit or '_'.", "Pick a plain pool name such as 'vmstore'.");
        }
        if (!DIR.equals(type) && !NETFS.equals(type)) {
            throw KvmigrateException.invalidInput("Pool type '" + printable(type) + "' is not supported here: only dir and netfs pools are defined.",
                    "Define other pool types with libvirt's own tools.");
        }
        checkPath("pool path", path, false);
        if (isNfs()) {
            if (sourceHost == null || sourceHost.length() > 253 || !HOST.matcher(sourceHost).matches()) {
                throw KvmigrateException.invalidInput("NFS server '" + printable(sourceHost) + "' is not a host name or IPv4 address.",
                        "Give the server as a host name (nfs1.example.com) or an IPv4 address (192.168.20.4).");
            }
            checkPath("NFS export", sourceDir, true);
            if (!"nfs".equals(sourceFormat)) {
                throw KvmigrateException.invalidInput("NFS pool format '" + printable(sourceFormat) + "' is not nfs.", "Use format nfs.");
            }
            if (protocolVersion == null || !NFS_VERSION.matcher(protocolVersion).matches()) {
                throw KvmigrateException.invalidInput("NFS version '" + printable(protocolVersion) + "' is not one of 3, 4, 4.0, 4.1, 4.2.",
                        "Give the version the server exports (4.2 for current Linux servers).");
            }
        } else if (sourceHost != null || sourceDir != null || sourceFormat != null || protocolVersion != null) {
            throw KvmigrateException.invalidInput("A dir pool has no source; an NFS server or export was given.", "Define an NFS pool instead, or drop the source.");
        }
        return this;
    }

    private static void checkPath(String what, String p, boolean rootAllowed) {
        String hint = "Give an absolute path of plain components (letters, digits, '_', '.', '+', '@', ',', '=', '-'), such as /kvm/disk.";
        if (p == null || p.isEmpty() || p.charAt(0) != '/' || p.length() > 1024) {
            throw KvmigrateException.invalidInput("The " + what + " '" + printable(p) + "' is not an absolute path.", hint);
        }
        if (p.equals("/")) {
            if (rootAllowed) return;
            throw KvmigrateException.invalidInput("The " + what + " cannot be the root directory.", hint);
        }
        for (String c : p.substring(1).split("/", -1)) {
            if (c.isEmpty() || c.equals(".") || c.equals("..") || !PATH_COMPONENT.matcher(c).matches()) {
                throw KvmigrateException.invalidInput("The " + what + " '" + printable(p) + "' has an empty, '.', '..' or unusual component ('"
                        + printable(c) + "').", hint);
            }
        }
    }

    private static String trimSlash(String p) {
        if (p == null) return null;
        String s = p;
        while (s.length() > 1 && s.endsWith("/")) s = s.substring(0, s.length() - 1);
        return s;
    }

    private static String printable(String s) {
        if (s == null) return "";
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) sb.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
        return sb.toString();
    }
}
