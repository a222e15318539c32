package io.kvmigrate.core.preflight;

import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.spi.HostSession;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a host's QEMU looks for the certificates of a TLS migration stream, and which of the files an incoming stream
 * needs are missing there. Read through libvirt's storage API (the same directory reads as the sharing probe: a pool on
 * the directory, existing or transient): the daemon's {@code /etc/libvirt/qemu.conf} for
 * {@code migrate_tls_x509_cert_dir}, else {@code default_tls_x509_cert_dir}, else QEMU's default {@code /etc/pki/qemu};
 * then the sizes of {@code ca-cert.pem}, {@code server-cert.pem} and {@code server-key.pem} there. A session daemon
 * (qemu:///session) keeps its qemu.conf elsewhere; this reads the system daemon's.
 *
 * @param dir the certificate directory
 * @param from where {@code dir} came from: a qemu.conf key, or "QEMU's default"
 * @param missing the files an incoming TLS stream needs that are not in {@code dir}
 * @param unknown why the directory could not be read (then {@code missing} is empty), or null
 */
public record MigrationTlsFacts(String dir, String from, List<String> missing, String unknown) {
    static final String QEMU_CONF_DIR = "/etc/libvirt";
    static final String QEMU_CONF = "qemu.conf";
    static final String DEFAULT_DIR = "/etc/pki/qemu";
    /** What QEMU's TLS credentials need on the side that accepts the stream (libvirt's qemu.conf documentation). */
    static final List<String> SERVER_FILES = List.of("ca-cert.pem", "server-cert.pem", "server-key.pem");
    private static final int MAX_CONF_BYTES = 1 << 20;

    public MigrationTlsFacts {
        missing = List.copyOf(missing);
    }

    /** Reads the facts of {@code host} (the target of a move). Never throws for what it cannot read: that is {@code unknown}. */
    public static MigrationTlsFacts read(HostSession host) {
        String dir = DEFAULT_DIR;
        String from = "QEMU's default";
        try {
            Optional<byte[]> conf = host.readProbe(QEMU_CONF_DIR, QEMU_CONF, MAX_CONF_BYTES);
            if (conf.isPresent()) {
                String text = new String(conf.get(), StandardCharsets.UTF_8);
                Optional<String> migrate = setting(text, "migrate_tls_x509_cert_dir");
                Optional<String> fallback = setting(text, "default_tls_x509_cert_dir");
                if (migrate.isPresent()) {
                    dir = migrate.get();
                    from = "migrate_tls_x509_cert_dir in " + QEMU_CONF_DIR + "/" + QEMU_CONF;
                } else if (fallback.isPresent()) {
                    dir = fallback.get();
                    from = "default_tls_x509_cert_dir in " + QEMU_CONF_DIR + "/" + QEMU_CONF;
                }
            }
            List<String> missing = new ArrayList<>();
            for (String f : SERVER_FILES) {
                if (host.fileSize(dir, f).isEmpty()) missing.add(f);
            }
            return new MigrationTlsFacts(dir, from, missing, null);
        } catch (KvmigrateException e) {
            return new MigrationTlsFacts(dir, from, List.of(), e.getMessage());
        }
    }

    /** Whether the host can accept a TLS migration stream, as far as the files go. */
    public boolean complete() {
        return unknown == null && missing.isEmpty();
    }

    /** The value of an uncommented {@code key = "value"} line of a qemu.conf (libvirt's config syntax), the last one winning. */
    static Optional<String> setting(String conf, String key) {
        Matcher m = Pattern.compile("^[ \\t]*" + Pattern.quote(key) + "[ \\t]*=[ \\t]*\"([^\"\\n]*)\"", Pattern.MULTILINE).matcher(conf);
        String value = null;
        while (m.find()) value = m.group(1);
        return Optional.ofNullable(value).filter(v -> !v.isBlank());
    }
}
