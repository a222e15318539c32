package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kvmigrate serve}'s options that do not start a server: the token and bad input. */
class ServeCommandTest {
    @TempDir Path config;
    private String previous;

    private String[] run(String... args) {
        previous = System.getProperty("kvmigrate.config.dir");
        System.setProperty("kvmigrate.config.dir", config.toString());
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new String[] {Integer.toString(exit), out.toString(), err.toString()};
    }

    @AfterEach
    void restore() {
        if (previous == null) System.clearProperty("kvmigrate.config.dir");
        else System.setProperty("kvmigrate.config.dir", previous);
    }

    @Test
    void printToken_makesTheTokenOnceOwnerOnlyAndPrintsIt() throws Exception {
        String[] first = run("serve", "--print-token");
        assertThat(first[0]).isEqualTo("0");
        String token = first[1].trim();
        assertThat(token).matches("[0-9a-f]{64}");
        Path file = config.resolve("server.token");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(run("serve", "--print-token")[1].trim()).isEqualTo(token);
    }

    @Test
    void badListenHalfATlsPairOrWorkers_exit2NamingTheOption() {
        String[] bad = run("serve", "--listen", "localhost");
        assertThat(bad[0]).isEqualTo("2");
        assertThat(bad[2]).contains("--listen");
        String[] half = run("serve", "--listen", "127.0.0.1:0", "--tls-cert", config.resolve("c.pem").toString());
        assertThat(half[0]).isEqualTo("2");
        assertThat(half[2]).contains("--tls-key");
        String[] workers = run("serve", "--listen", "127.0.0.1:0", "--workers", "-1");
        assertThat(workers[0]).isEqualTo("2");
        assertThat(workers[2]).contains("--workers must be 0..64");
        assertThat(config.resolve("server.token")).doesNotExist(); // nothing made for a refused command line
    }
}
