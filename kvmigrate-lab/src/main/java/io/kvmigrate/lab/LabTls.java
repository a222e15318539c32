package io.kvmigrate.lab;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * QEMU's TLS certificates for the lab's migration streams, made with openssl: one CA for the lab, and per host one
 * certificate for its loopback address (serverAuth and clientAuth: a host is the server of incoming streams and the
 * client of outgoing ones), installed where that host's qemu.conf points {@code migrate_tls_x509_cert_dir}
 * ({@link #HOST_DIR}, inside the host's private /etc/libvirt). Made once per lab root; no input reaches a command line
 * but the lab's own paths and addresses.
 */
final class LabTls {
    /** The directory, as the host sees it, that holds ca-cert.pem, server-cert.pem/-key.pem and client-cert.pem/-key.pem. */
    static final String HOST_DIR = "/etc/libvirt/pki/qemu";

    private LabTls() {
    }

    /** Whether the lab can make certificates here (openssl installed). */
    static boolean available() {
        return Files.isExecutable(Path.of("/usr/bin/openssl"));
    }

    /** Installs {@code address}'s certificates into {@code hostDir}/etc/libvirt/pki/qemu, making the CA first if needed. */
    static void install(Path labRoot, Path hostDir, String address) throws IOException {
        Path pki = labRoot.resolve("pki");
        Files.createDirectories(pki);
        Path caKey = pki.resolve("ca-key.pem");
        Path caCert = pki.resolve("ca-cert.pem");
        if (!Files.exists(caCert)) {
            openssl(List.of("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey.toString(), "-out", caCert.toString(),
                    "-days", "3650", "-subj", "/CN=kvmigrate lab CA", "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"), "make the lab's CA");
        }
        Path dir = hostDir.resolve(HOST_DIR.substring(1));
        Files.createDirectories(dir);
        Path key = dir.resolve("server-key.pem");
        Path cert = dir.resolve("server-cert.pem");
        if (!Files.exists(cert)) {
            Path csr = pki.resolve(address + ".csr");
            Path ext = pki.resolve(address + ".ext");
            Files.writeString(ext, "subjectAltName=IP:" + address + "\nextendedKeyUsage=serverAuth,clientAuth\n"
                    + "keyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n");
            openssl(List.of("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(), "-out", csr.toString(), "-subj",
                    "/CN=" + address), "make the key of " + address);
            openssl(List.of("x509", "-req", "-in", csr.toString(), "-CA", caCert.toString(), "-CAkey", caKey.toString(), "-CAcreateserial",
                    "-out", cert.toString(), "-days", "3650", "-extfile", ext.toString()), "sign the certificate of " + address);
        }
        Files.copy(caCert, dir.resolve("ca-cert.pem"), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(cert, dir.resolve("client-cert.pem"), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(key, dir.resolve("client-key.pem"), StandardCopyOption.REPLACE_EXISTING);
    }

    private static void openssl(List<String> args, String what) {
        List<String> cmd = new java.util.ArrayList<>(List.of("/usr/bin/openssl"));
        cmd.addAll(args);
        Processes.runChecked(cmd, 60, what);
    }
}
