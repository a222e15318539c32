package io.kvmigrate.server;

import io.kvmigrate.core.api.KvmigrateException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A TLS key store made in memory from PEM files: a certificate chain and an unencrypted PKCS#8 private key. */
final class Pem {
    static final String PASSWORD = "kvmigrate";
    private static final Pattern KEY = Pattern.compile("-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

    private Pem() {
    }

    static KeyStore keyStore(Path certFile, Path keyFile) {
        try {
            Certificate[] chain = CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(Files.readAllBytes(certFile)))
                    .toArray(new Certificate[0]);
            if (chain.length == 0) throw bad("--tls-cert " + certFile + " holds no certificate.", "Give a PEM certificate (chain).");
            String pem = Files.readString(keyFile, StandardCharsets.US_ASCII);
            Matcher m = KEY.matcher(pem);
            if (!m.find()) {
                throw bad("--tls-key " + keyFile + " holds no unencrypted PKCS#8 key ('BEGIN PRIVATE KEY').",
                        "Convert it: openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8");
            }
            byte[] der = Base64.getMimeDecoder().decode(m.group(1));
            PrivateKey key = null;
            for (String alg : new String[] {"RSA", "EC", "Ed25519"}) {
                try {
                    key = KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
                    break;
                } catch (GeneralSecurityException ignored) {
                    // the next algorithm
                }
            }
            if (key == null) throw bad("--tls-key " + keyFile + ": not an RSA, EC or Ed25519 key.", null);
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("kvmigrate", key, PASSWORD.toCharArray(), chain);
            return ks;
        } catch (IOException | GeneralSecurityException e) {
            throw bad("Cannot read the TLS certificate or key (" + certFile + ", " + keyFile + "): " + e.getMessage(), "Give PEM files.");
        }
    }

    private static KvmigrateException bad(String message, String hint) {
        return KvmigrateException.invalidInput(message, hint);
    }
}
