package io.kvmigrate.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.InMemoryJobStore;
import java.io.FileInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --tls-cert/--tls-key}: HTTPS only, with a certificate and key made by openssl for the test. */
@org.junit.jupiter.api.Timeout(60)
class TlsTest {
    @TempDir Path dir;

    @Test
    void serve_withPemCertificateAndKey_answersHttpsOnlyAndTheTokenStillCounts() throws Exception {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(), "-out", cert.toString(),
                "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1").redirectErrorStream(true).start();
        assertThat(p.waitFor()).as(new String(p.getInputStream().readAllBytes())).isZero();
        FakeHypervisor hv = new FakeHypervisor();
        Kvmigrate k = Kvmigrate.configure().connector(hv).rewriter((xml, disks, nets) -> xml).store(new InMemoryJobStore()).load();
        ApiToken token = ApiToken.loadOrCreate(dir);
        try (KvmigrateServer server = new KvmigrateServer(k, hv, new HostRegistry(dir), token,
                new KvmigrateServer.Config("127.0.0.1", 0, cert, key, null, null)).start()) {
            assertThat(server.baseUrl()).startsWith("https://127.0.0.1:");
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            try (FileInputStream in = new FileInputStream(cert.toFile())) {
                trust.setCertificateEntry("server", CertificateFactory.getInstance("X.509").generateCertificate(in));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(null, tmf.getTrustManagers(), null);
            HttpClient https = HttpClient.newBuilder().sslContext(ssl).connectTimeout(Duration.ofSeconds(5)).build();
            HttpResponse<String> r = https.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/api/v1/jobs"))
                    .header("Authorization", "Bearer " + token.value()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(https.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/api/v1/jobs")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
            // plain HTTP on the same port is not served
            String plain = server.baseUrl().replace("https://", "http://");
            assertThatThrownBy(() -> {
                HttpResponse<String> x = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(plain + "/metrics")).timeout(Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (x.statusCode() == 200) throw new AssertionError("plain HTTP answered 200");
                throw new java.io.IOException("refused: " + x.statusCode());
            }).isInstanceOf(java.io.IOException.class);
            // only one connector: the TLS one
            assertThat(server.connectors()).isEqualTo(1);
        } finally {
            k.close();
        }
        // a key that is not PKCS#8 is refused up front, naming the option
        Files.writeString(key, "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n");
        assertThatThrownBy(() -> Pem.keyStore(cert, key)).isInstanceOf(KvmigrateException.class).hasMessageContaining("--tls-key");
    }
}
