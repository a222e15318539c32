package io.kvmigrate.core.model;

import io.kvmigrate.core.api.KvmigrateException;
import java.util.regex.Pattern;

/**
 * Where the migration stream goes, when not to the address the target's hypervisor picks: a separate migration network.
 * The source's QEMU connects to {@code host:port}; the target's QEMU listens on {@code listen} (its hypervisor's own
 * choice when null) and {@code port} (one of its migration ports when 0).
 *
 * @param host a host name or an IP address (IPv6 without brackets)
 * @param port 0 = the target picks one of its migration ports
 * @param listen the address the target's QEMU listens on; null = the target's configured migration address
 */
public record MigrationAddress(String host, int port, String listen) {
    /** Host names (RFC 1123 labels) and IPv4 literals. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");

    public MigrationAddress {
        if (host == null || !validHost(host)) {
            throw KvmigrateException.invalidInput("{migrationAddress} must be HOST or HOST:PORT (a host name or an IP address; IPv6 in"
                    + " brackets with a port), got '" + printable(host) + "'.", "Give the target's address on the migration network, e.g."
                    + " 10.0.1.12 or 10.0.1.12:49152.");
        }
        if (port < 0 || port > 65535) {
            throw KvmigrateException.invalidInput("The port of {migrationAddress} must be 1..65535, got " + port + ".",
                    "Give HOST:PORT with a port the target may listen on, or HOST alone to let it pick one.");
        }
        if (listen != null && !validHost(listen)) {
            throw KvmigrateException.invalidInput("{migrationListen} must be an address of the target (a host name or an IP address),"
                    + " got '" + printable(listen) + "'.", "Give an address of the target on the migration network, e.g. 10.0.1.12 or 0.0.0.0.");
        }
    }

    /** Parses {@code HOST}, {@code HOST:PORT} or {@code [IPV6]:PORT}; {@code listen} may be null. Throws INVALID_INPUT. */
    public static MigrationAddress parse(String text, String listen) {
        if (text == null || text.isBlank()) return new MigrationAddress(text, 0, listen);
        String t = text.trim();
        if (t.contains("://")) {
            throw KvmigrateException.invalidInput("{migrationAddress} takes HOST or HOST:PORT, not a URI: got '" + printable(t) + "'.",
                    "Drop the scheme: e.g. 10.0.1.12:49152 (kvmigrate makes the tcp:// URI itself).");
        }
        String host = t;
        int port = 0;
        if (t.startsWith("[")) {
            int close = t.indexOf(']');
            if (close < 0) return new MigrationAddress(t, 0, listen);
            host = t.substring(1, close);
            String rest = t.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) return new MigrationAddress(t, 0, listen);
                port = port(rest.substring(1), t);
            }
        } else if (t.indexOf(':') >= 0 && t.indexOf(':') == t.lastIndexOf(':')) {
            host = t.substring(0, t.indexOf(':'));
            port = port(t.substring(t.indexOf(':') + 1), t);
        }
        if (host.isEmpty()) return new MigrationAddress(t, 0, listen);
        return new MigrationAddress(host, port, listen == null || listen.isBlank() ? null : listen.trim());
    }

    private static int port(String digits, String whole) {
        if (!digits.matches("[0-9]{1,5}") || Integer.parseInt(digits) == 0 || Integer.parseInt(digits) > 65535) {
            throw KvmigrateException.invalidInput("The port of {migrationAddress} must be 1..65535, got '" + printable(whole) + "'.",
                    "Give HOST:PORT with a port the target may listen on, or HOST alone to let it pick one.");
        }
        return Integer.parseInt(digits);
    }

    private static boolean validHost(String h) {
        if (h.isEmpty() || h.length() > 253) return false;
        return NAME.matcher(h).matches() || IPV6.matcher(h).matches() && h.chars().filter(c -> c == ':').count() >= 2;
    }

    /** The hypervisor's migration URI: {@code tcp://host[:port]}, IPv6 in brackets. */
    public String uri() {
        return "tcp://" + uriHost() + (port > 0 ? ":" + port : "");
    }

    /** The host as a URI spells it: IPv6 in brackets. */
    public String uriHost() {
        return host.indexOf(':') >= 0 ? "[" + host + "]" : host;
    }

    /** As the user writes it: {@code host[:port]}. */
    public String text() {
        String h = host.indexOf(':') >= 0 && port > 0 ? "[" + host + "]" : host;
        return h + (port > 0 ? ":" + port : "");
    }

    private static String printable(String s) {
        if (s == null) return "";
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) b.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
        return b.length() > 100 ? b.substring(0, 100) + "..." : b.toString();
    }
}
