package io.kvmigrate.store;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A throwaway PostgreSQL server for the store tests: initdb and pg_ctl of Debian's postgresql package, in a temporary
 * directory, on 127.0.0.1 and a free port, started once per test JVM and stopped (and deleted) when it exits. Each
 * test gets a schema of its own. As root (initdb refuses to run as root) the server runs as the postgres user.
 * No server binaries: the tests fail, naming what to install, rather than skip.
 */
final class PostgresServer {
    private static final String USER = "kvmigrate";
    private static PostgresServer shared;
    private final AtomicInteger schemas = new AtomicInteger();
    private final Path dir;
    private final Path bin;
    private final int port;
    private final String password = "pw-" + Long.toHexString(System.nanoTime());

    private PostgresServer(Path bin) throws IOException {
        this.bin = bin;
        this.dir = Files.createTempDirectory("kvmigrate-pg-");
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            this.port = s.getLocalPort();
        }
    }

    /** The server of this JVM, started on first use. */
    static synchronized PostgresServer shared() {
        if (shared == null) {
            PostgresServer server;
            try {
                server = new PostgresServer(findBin());
            } catch (IOException e) {
                throw new IllegalStateException("Cannot make a directory for the test PostgreSQL server", e);
            }
            Runtime.getRuntime().addShutdownHook(new Thread(server::stop, "stop test PostgreSQL"));
            server.start();
            shared = server;
        }
        return shared;
    }

    /** A JDBC URL (password included) of a new, empty schema. */
    String newSchemaUrl() {
        String schema = "t" + schemas.incrementAndGet();
        try (Connection c = DriverManager.getConnection(url("kvmigrate", null), props()); Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA " + schema); // a name made above, not input
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot create schema " + schema + " on the test PostgreSQL server: " + e.getMessage(), e);
        }
        return url("kvmigrate", schema) + "&user=" + USER + "&password=" + password;
    }

    /** A URL of this server whose password is wrong. */
    String wrongPasswordUrl() {
        return url("kvmigrate", null) + "?user=" + USER + "&password=not-" + password;
    }

    int port() {
        return port;
    }

    private String url(String db, String schema) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + db + (schema == null ? "" : "?currentSchema=" + schema);
    }

    private Properties props() {
        Properties p = new Properties();
        p.setProperty("user", USER);
        p.setProperty("password", password);
        return p;
    }

    private void start() {
        try {
            Path pwFile = dir.resolve("pw");
            Files.writeString(pwFile, password + "\n");
            if (root()) {
                UserPrincipal postgres = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
                Files.setOwner(dir, postgres);
                Files.setOwner(pwFile, postgres);
            }
            run(bin.resolve("initdb").toString(), "-D", dir.resolve("data").toString(), "-U", USER, "--pwfile=" + pwFile,
                    "--auth=scram-sha-256", "-E", "UTF8", "--no-sync");
            // fsync off: these tests kill clients, not the server, and the machine is shared.
            run(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-l", dir.resolve("server.log").toString(),
                    "-w", "-t", "60", "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off", "start");
            try (Connection c = DriverManager.getConnection(url("postgres", null), props()); Statement st = c.createStatement()) {
                st.execute("CREATE DATABASE kvmigrate");
            }
        } catch (IOException | SQLException | RuntimeException e) {
            String log = tail(dir.resolve("server.log")) + tail(dir.resolve("cmd.log"));
            stop();
            throw new IllegalStateException("Could not start the test PostgreSQL server (" + bin + ", port " + port + "): "
                    + e.getMessage() + "\n" + log, e);
        }
    }

    private synchronized void stop() {
        if (Files.exists(dir.resolve("data/postmaster.pid"))) {
            try {
                run(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "immediate", "-w", "stop");
            } catch (RuntimeException e) {
                System.err.println("Could not stop the test PostgreSQL server in " + dir + ": " + e.getMessage());
                return; // keep the directory: the server may still use it
            }
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            System.err.println("Could not delete " + dir + ": " + e.getMessage());
        }
    }

    private void run(String... command) {
        List<String> cmd = new ArrayList<>();
        if (root()) cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
        cmd.addAll(List.of(command));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("cmd.log").toFile())).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", cmd) + " did not finish within 120 s");
            }
            if (p.exitValue() != 0) throw new IllegalStateException(String.join(" ", cmd) + " exited with " + p.exitValue());
        } catch (IOException e) {
            throw new IllegalStateException("Cannot run " + String.join(" ", cmd) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while running " + cmd.get(0), e);
        }
    }

    private static boolean root() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** {@code -Dkvmigrate.it.pgBin=...}, else the newest /usr/lib/postgresql/N/bin with initdb. */
    private static Path findBin() {
        String given = System.getProperty("kvmigrate.it.pgBin");
        if (given != null && !given.isBlank()) return Path.of(given);
        Path base = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(base)) {
            try (Stream<Path> versions = Files.list(base)) {
                var found = versions.map(v -> v.resolve("bin")).filter(b -> Files.isExecutable(b.resolve("initdb")))
                        .max(Comparator.comparingInt(b -> versionOf(b.getParent())));
                if (found.isPresent()) return found.get();
            } catch (IOException e) {
                // fall through to the message below
            }
        }
        throw new IllegalStateException("The PostgreSQL store tests need a PostgreSQL server's programs (initdb, pg_ctl) and found "
                + "none under /usr/lib/postgresql/*/bin. Install them (Debian: apt-get install postgresql; ./run-tests does) or "
                + "point -Dkvmigrate.it.pgBin at their directory.");
    }

    private static int versionOf(Path dir) {
        try {
            return Integer.parseInt(dir.getFileName().toString().replaceAll("\\D.*", ""));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static String tail(Path file) {
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size())) + "\n";
        } catch (IOException e) {
            return "";
        }
    }
}
