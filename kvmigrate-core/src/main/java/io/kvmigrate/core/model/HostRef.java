package io.kvmigrate.core.model;

import io.kvmigrate.core.api.KvmigrateException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Set;

/** A libvirt host: a display name and its connection URI. */
public record HostRef(String name, String uri) {
    private static final Set<String> SCHEMES = Set.of("qemu", "qemu+ssh", "qemu+tls", "qemu+tcp", "qemu+unix",
            "qemu+libssh", "qemu+libssh2", "qemu+ext", "test", "test+tcp");

    public HostRef {
        validateUri(uri);
        if (name == null || name.isBlank()) name = uri;
    }

    /** Checks that a string is a libvirt URI kvmigrate can use; throws INVALID_INPUT naming the problem. */
    public static void validateUri(String uri) {
        if (uri == null || uri.isBlank()) {
            throw KvmigrateException.invalidInput("Host URI is empty.", "Give a libvirt URI such as qemu+ssh://root@kvm2/system.");
        }
        URI parsed;
        try {
            parsed = new URI(uri);
        } catch (URISyntaxException e) {
            throw KvmigrateException.invalidInput("'" + uri + "' is not a valid URI: " + e.getReason() + ".",
                    "Give a libvirt URI such as qemu+ssh://root@kvm2/system.");
        }
        if (parsed.getScheme() == null || !SCHEMES.contains(parsed.getScheme())) {
            throw KvmigrateException.invalidInput("'" + uri + "' is not a libvirt QEMU URI (scheme '" + parsed.getScheme() + "').",
                    "Use one of qemu:///system, qemu+ssh://user@host/system, qemu+tls://host/system, qemu+tcp://host/system.");
        }
        String path = parsed.getPath();
        if (parsed.getScheme().startsWith("qemu") && (path == null || !(path.equals("/system") || path.equals("/session")))) {
            throw KvmigrateException.invalidInput("'" + uri + "' has path '" + path + "', expected /system or /session.",
                    "Append /system, e.g. qemu+tcp://host/system.");
        }
    }

    /** True when the URI names this machine's local daemon rather than a remote host. */
    public boolean isLocal() {
        return URI.create(uri).getHost() == null;
    }

    @Override
    public String toString() {
        return name.equals(uri) ? uri : name + " (" + uri + ")";
    }
}
