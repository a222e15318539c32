package io.kvmigrate.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * Opens job stores: {@code open(null)} is the embedded SQLite file under the user's data directory ({@link
 * #defaultDatabaseFile}); {@code jdbc:sqlite:/path/jobs.db} another SQLite file; {@code jdbc:postgresql://host/db} a
 * PostgreSQL database, its user and password in the URL ({@code ?user=...&password=...}) or the properties. Opening
 * migrates the schema to this version (Flyway), so the first command on a new machine creates the file.
 *
 * <p>Why SQLite for the embedded store: the CLI is many short processes that share one file at once (a second
 * terminal's {@code jobs cancel} while {@code migrate} writes; two {@code migrate}s racing for one VM's lock). SQLite
 * coordinates processes through file locks, needs no server, and in WAL mode readers never wait for the writer.
 * Pitfall: WAL needs a local file system; on NFS home directories point {@code kvmigrate.data.dir} at a local disk or
 * use PostgreSQL.
 */
public final class JobStores {
    /**
     * The newest migration under {@code db/migration} (a test keeps the two equal). A database that has it is not
     * handed to Flyway, whose start-up (class loading, classpath scan) would otherwise be paid by every CLI command.
     */
    static final String SCHEMA_VERSION = "3";
    /** Longest a write waits for another process's write to finish before failing. */
    static final int BUSY_TIMEOUT_MS = 10_000;
    private static final Pattern PASSWORD_PARAM = Pattern.compile("(?i)(password=)[^&;]*");
    private static final Pattern USER_INFO = Pattern.compile("//([^/@:]*):[^/@]*@");
    // One open (WAL switch, Flyway, which does not lock an SQLite schema) at a time per file, in this JVM (map) and across
    // processes (file lock).
    private static final Map<Path, Object> OPENING = new ConcurrentHashMap<>();

    private JobStores() {
    }

    /** The store at {@code urlOrNull}, or the default embedded one if it is null or blank. */
    public static JdbcJobStore open(String urlOrNull) {
        return open(urlOrNull, new Properties());
    }

    /** As {@link #open(String)}; {@code driverProperties} (e.g. user, password, ssl) go to the JDBC driver. */
    public static JdbcJobStore open(String urlOrNull, Properties driverProperties) {
        String url = urlOrNull == null || urlOrNull.isBlank() ? "jdbc:sqlite:" + defaultDatabaseFile() : urlOrNull.trim();
        if (url.startsWith("jdbc:sqlite:")) return openSqlite(url);
        if (url.startsWith("jdbc:postgresql:")) return openPostgres(url, driverProperties);
        throw KvmigrateException.invalidInput("The job store URL '" + redact(url) + "' is neither SQLite nor PostgreSQL.",
                "Give jdbc:sqlite:/path/to/jobs.db or jdbc:postgresql://host:port/database, or nothing for the default file "
                        + defaultDatabaseFile() + ".");
    }

    /**
     * {@code jobs.db} in the data directory: the system property {@code kvmigrate.data.dir}, else {@code
     * $KVMIGRATE_DATA_DIR}, else {@code $XDG_DATA_HOME/kvmigrate}, else {@code ~/.local/share/kvmigrate}.
     */
    public static Path defaultDatabaseFile() {
        return dataDir(System.getProperty("kvmigrate.data.dir"), System.getenv(), System.getProperty("user.home")).resolve("jobs.db");
    }

    static Path dataDir(String property, Map<String, String> env, String home) {
        if (property != null && !property.isBlank()) return Path.of(property);
        String dir = env.get("KVMIGRATE_DATA_DIR");
        if (dir != null && !dir.isBlank()) return Path.of(dir);
        String xdg = env.get("XDG_DATA_HOME");
        if (xdg != null && !xdg.isBlank()) return Path.of(xdg, "kvmigrate");
        return Path.of(home, ".local", "share", "kvmigrate");
    }

    /** {@code url} with any password masked, fit for messages and logs. */
    public static String redact(String url) {
        return USER_INFO.matcher(PASSWORD_PARAM.matcher(url).replaceAll("$1***")).replaceAll("//$1:***@");
    }

    private static JdbcJobStore openSqlite(String url) {
        String spec = url.substring("jdbc:sqlite:".length());
        int q = spec.indexOf('?');
        String pathText = (q >= 0 ? spec.substring(0, q) : spec).replaceFirst("^file:", "");
        if (pathText.isBlank() || pathText.contains(":memory:") || spec.contains("mode=memory")) {
            // Each pooled connection would get its own empty database, and no other process could see it.
            throw KvmigrateException.invalidInput("The job store must be a file, not '" + url + "'.",
                    "Give jdbc:sqlite:/path/to/jobs.db; for tests without a file use the testkit's InMemoryJobStore.");
        }
        Path file = Path.of(pathText).toAbsolutePath().normalize();
        String location = file.toString();
        HikariDataSource pool = null;
        try {
            Files.createDirectories(file.getParent());
            SQLiteConfig config = new SQLiteConfig();
            config.setJournalMode(SQLiteConfig.JournalMode.WAL);
            // FULL: a commit is on disk when it returns, power loss included (NORMAL in WAL mode survives only a crash).
            config.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
            config.setBusyTimeout(BUSY_TIMEOUT_MS);
            config.enforceForeignKeys(true);
            // IMMEDIATE: a transaction takes the write lock when it begins, so two read-then-write transactions queue
            // (busy timeout) instead of one failing at once when it tries to upgrade its read lock.
            config.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
            SQLiteDataSource ds = new SQLiteDataSource(config);
            ds.setUrl("jdbc:sqlite:" + file + (q >= 0 ? spec.substring(q) : ""));
            HikariConfig hc = poolConfig("kvmigrate-store-sqlite");
            hc.setDataSource(ds);
            pool = openLocked(file, hc);
            return new JdbcJobStore(Jdbi.create(pool), Vendor.SQLITE, location, pool);
        } catch (IOException | RuntimeException e) {
            if (pool != null) pool.close();
            throw openFailed(Vendor.SQLITE, location, e);
        }
    }

    private static JdbcJobStore openPostgres(String url, Properties driverProperties) {
        String location = redact(url);
        HikariDataSource pool = null;
        try {
            HikariConfig hc = poolConfig("kvmigrate-store-postgresql");
            hc.setDriverClassName("org.postgresql.Driver");
            hc.setJdbcUrl(url);
            hc.setDataSourceProperties(driverProperties);
            pool = new HikariDataSource(hc);
            if (!schemaCurrent(pool)) migrate(pool); // Flyway serialises concurrent migrations of one PostgreSQL schema with an advisory lock
            return new JdbcJobStore(Jdbi.create(pool), Vendor.POSTGRESQL, location, pool);
        } catch (RuntimeException e) {
            if (pool != null) pool.close();
            throw openFailed(Vendor.POSTGRESQL, location, e);
        }
    }

    private static HikariConfig poolConfig(String name) {
        HikariConfig hc = new HikariConfig();
        hc.setPoolName(name);
        // Small: SQLite has one writer anyway, and a CLI process does one thing at a time.
        hc.setMaximumPoolSize(4);
        hc.setMinimumIdle(1);
        hc.setConnectionTimeout(BUSY_TIMEOUT_MS);
        // Fail the open at the first refused connection, with the driver's reason, instead of retrying for seconds.
        hc.setInitializationFailTimeout(1);
        return hc;
    }

    /**
     * Creates the pool and migrates the schema holding the file's open lock (this JVM's monitor and a file lock across
     * processes): the first connection to a new file switches it to WAL, which needs the file to itself and fails at
     * once with SQLITE_BUSY, busy timeout or not, if another opener is doing the same (seen once in 34 tries).
     */
    private static HikariDataSource openLocked(Path file, HikariConfig hc) throws IOException {
        synchronized (OPENING.computeIfAbsent(file, k -> new Object())) {
            Path lockFile = file.resolveSibling(file.getFileName() + ".open-lock");
            try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                    FileLock lock = ch.lock()) {
                HikariDataSource pool = new HikariDataSource(hc);
                try {
                    if (!schemaCurrent(pool)) migrate(pool);
                    return pool;
                } catch (RuntimeException e) {
                    pool.close();
                    throw e;
                }
            }
        }
    }

    /** True if the schema is at {@link #SCHEMA_VERSION} (or newer: a later kvmigrate's migrations only add). */
    static boolean schemaCurrent(DataSource ds) {
        try (Connection c = ds.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM flyway_schema_history WHERE version = ? AND success = ?")) {
            ps.setString(1, SCHEMA_VERSION);
            ps.setBoolean(2, true);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getLong(1) > 0;
            }
        } catch (SQLException e) {
            return false; // no history table yet, typically: Flyway will say what is wrong, if anything
        }
    }

    private static void migrate(DataSource ds) {
        // Portable SQL only, so one location; a vendor-specific step would go in db/<vendor> added here for that vendor.
        Flyway.configure().dataSource(ds).locations("classpath:db/migration").load().migrate();
    }

    private static KvmigrateException openFailed(Vendor vendor, String location, Exception e) {
        if (e instanceof KvmigrateException k) return k;
        return new KvmigrateException(ErrorCode.STORE_FAILED, "store", null, null,
                "Tried to open the job store " + location + " but failed because " + rootMessage(e), hint(vendor, location), e);
    }

    static String hint(Vendor vendor, String location) {
        if (vendor == Vendor.SQLITE) {
            return "Check that " + Path.of(location).getParent() + " is writable and its disk not full (another kvmigrate holding "
                    + "the file for more than " + BUSY_TIMEOUT_MS / 1000 + " s also causes this); the data directory is set by "
                    + "kvmigrate.data.dir or KVMIGRATE_DATA_DIR.";
        }
        return "Check that the PostgreSQL server in " + location + " runs and is reachable from here, the database exists, and the "
                + "user and password (in the URL as ?user=...&password=..., or as properties) may create and write tables in it.";
    }

    /** The deepest cause's message: the driver's words ("Connection refused", "disk I/O error") say most. */
    static String rootMessage(Throwable e) {
        String msg = null;
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) msg = t.getMessage().strip();
            else if (msg == null) msg = t.getClass().getSimpleName();
        }
        return redact(msg); // a driver may quote the URL
    }
}
