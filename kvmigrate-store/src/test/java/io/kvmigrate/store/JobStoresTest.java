package io.kvmigrate.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobStoresTest {
    @TempDir
    Path dir;

    @Test
    void dataDir_propertyThenEnvThenXdgThenHome() {
        assertThat(JobStores.dataDir("/p", Map.of("KVMIGRATE_DATA_DIR", "/e", "XDG_DATA_HOME", "/x"), "/h")).isEqualTo(Path.of("/p"));
        assertThat(JobStores.dataDir(" ", Map.of("KVMIGRATE_DATA_DIR", "/e", "XDG_DATA_HOME", "/x"), "/h")).isEqualTo(Path.of("/e"));
        assertThat(JobStores.dataDir(null, Map.of("XDG_DATA_HOME", "/x"), "/h")).isEqualTo(Path.of("/x/kvmigrate"));
        assertThat(JobStores.dataDir(null, Map.of(), "/h")).isEqualTo(Path.of("/h/.local/share/kvmigrate"));
    }

    @Test
    void open_null_createsTheDefaultFileUnderTheDataDirectory() {
        String before = System.getProperty("kvmigrate.data.dir");
        System.setProperty("kvmigrate.data.dir", dir.resolve("data").toString());
        try (JdbcJobStore s = JobStores.open(null)) {
            assertThat(s.location()).isEqualTo(dir.resolve("data/jobs.db").toString());
            assertThat(dir.resolve("data/jobs.db")).exists();
        } finally {
            if (before == null) System.clearProperty("kvmigrate.data.dir");
            else System.setProperty("kvmigrate.data.dir", before);
        }
    }

    @Test
    void open_unwritableLocation_throwsStoreFailedNamingTheFile() throws IOException {
        Path notADir = Files.writeString(dir.resolve("plain-file"), "x");
        assertThatThrownBy(() -> JobStores.open("jdbc:sqlite:" + notADir.resolve("jobs.db"))).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.STORE_FAILED);
            assertThat(e.code().exitCode()).isEqualTo(18);
            assertThat(e.getMessage()).startsWith("Tried to open the job store " + notADir.resolve("jobs.db")).contains("because");
            assertThat(e.hint()).contains("writable").contains("kvmigrate.data.dir");
        });
    }

    @Test
    void open_fileThatIsNotADatabase_throwsStoreFailed() throws IOException {
        Path junk = Files.writeString(dir.resolve("jobs.db"), "this is not an SQLite file, it is text ".repeat(200));
        assertThatThrownBy(() -> JobStores.open("jdbc:sqlite:" + junk)).isInstanceOfSatisfying(KvmigrateException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.STORE_FAILED));
    }

    @Test
    void open_unsupportedOrInMemoryUrl_isInvalidInput() {
        assertThatThrownBy(() -> JobStores.open("jdbc:mysql://db/x?password=secret")).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_INPUT);
            assertThat(e.getMessage()).doesNotContain("secret").contains("password=***");
        });
        assertThatThrownBy(() -> JobStores.open("jdbc:sqlite::memory:")).isInstanceOfSatisfying(KvmigrateException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_INPUT));
    }

    @Test
    void open_postgresWithWrongPassword_throwsStoreFailedWithoutThePassword() {
        String url = PostgresServer.shared().wrongPasswordUrl();
        String password = url.substring(url.indexOf("password=") + 9);
        assertThatThrownBy(() -> JobStores.open(url)).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.STORE_FAILED);
            assertThat(e.getMessage()).doesNotContain(password).contains("password=***").contains("authentication failed");
            assertThat(e.hint()).contains("user and password");
        });
    }

    @Test
    void open_postgresNobodyListening_throwsStoreFailedQuickly() throws IOException {
        int port;
        try (var s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        long t0 = System.nanoTime();
        String url = "jdbc:postgresql://127.0.0.1:" + port + "/x";
        assertThatThrownBy(() -> JobStores.open(url)).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.STORE_FAILED);
            assertThat(e.getMessage()).contains(url).contains("refused");
        });
        assertThat((System.nanoTime() - t0) / 1_000_000).as("ms").isLessThan(5_000);
    }

    @Test
    void redact_masksPasswordsInQueryAndUserInfo() {
        assertThat(JobStores.redact("jdbc:postgresql://h/db?user=u&password=s3cr&ssl=true")).isEqualTo("jdbc:postgresql://h/db?user=u&password=***&ssl=true");
        assertThat(JobStores.redact("jdbc:postgresql://u:s3cr@h/db")).isEqualTo("jdbc:postgresql://u:***@h/db");
        assertThat(JobStores.redact("jdbc:sqlite:/x/jobs.db")).isEqualTo("jdbc:sqlite:/x/jobs.db");
    }

    @Test
    void open_twoStoresOnANewFileAtOnce_bothMigrateAndWork() throws Exception {
        // A race: one try passed often before the open was locked (CI failed on SQLITE_BUSY once), so try many new files.
        var pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            for (int i = 0; i < 40; i++) {
                String url = "jdbc:sqlite:" + dir.resolve("race-" + i + "/jobs.db");
                var start = new java.util.concurrent.CountDownLatch(1);
                var a = pool.submit(() -> {
                    start.await();
                    return JobStores.open(url);
                });
                var b = pool.submit(() -> {
                    start.await();
                    return JobStores.open(url);
                });
                start.countDown();
                try (JdbcJobStore sa = a.get(); JdbcJobStore sb = b.get()) {
                    sa.create(JobStoreContract.queued("j-1", "web01", null, JobStoreContract.T0));
                    assertThat(sb.job("j-1")).isPresent();
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void open_twoProcessesOnNewFilesAtOnce_bothMigrateAndWork() throws Exception {
        String javaBin = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        int files = 60;
        long start = System.currentTimeMillis() + 3_000; // both JVMs are up by then
        List<Process> openers = new java.util.ArrayList<>();
        try {
            for (String who : List.of("a", "b")) {
                openers.add(new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"), StoreOpenerMain.class.getName(),
                        dir.toString(), who, String.valueOf(files), String.valueOf(start)).redirectErrorStream(true)
                        .redirectOutput(dir.resolve("opener-" + who + ".log").toFile()).start());
            }
            for (int i = 0; i < openers.size(); i++) {
                Process p = openers.get(i);
                assertThat(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
                assertThat(p.exitValue()).as("opener %d; its output: %s", i, Files.readString(dir.resolve("opener-" + "ab".charAt(i) + ".log")))
                        .isZero();
            }
        } finally {
            for (Process p : openers) p.destroyForcibly();
        }
        for (int i = 0; i < files; i++) {
            try (JdbcJobStore store = JobStores.open("jdbc:sqlite:" + dir.resolve("race-" + i + "/jobs.db"))) {
                assertThat(store.job("j-a")).isPresent();
                assertThat(store.job("j-b")).isPresent();
            }
        }
    }

    @Test
    void schemaVersion_isTheNewestMigration() throws Exception {
        Path migrations = Path.of(JobStoresTest.class.getResource("/db/migration").toURI());
        try (Stream<Path> files = Files.list(migrations)) {
            List<String> names = files.map(p -> p.getFileName().toString()).toList();
            assertThat(names).allMatch(n -> n.matches("V\\d+__[a-z0-9_]+\\.sql"));
            int newest = names.stream().mapToInt(n -> Integer.parseInt(n.substring(1, n.indexOf("__")))).max().orElseThrow();
            assertThat(JobStores.SCHEMA_VERSION).isEqualTo(String.valueOf(newest));
        }
    }

    @Test
    void schemaCurrent_onlyOnceMigrated() throws Exception {
        org.sqlite.SQLiteDataSource ds = new org.sqlite.SQLiteDataSource();
        ds.setUrl("jdbc:sqlite:" + dir.resolve("jobs.db"));
        assertThat(JobStores.schemaCurrent(ds)).isFalse();
        JobStores.open("jdbc:sqlite:" + dir.resolve("jobs.db")).close();
        assertThat(JobStores.schemaCurrent(ds)).isTrue();
    }

    @Test
    void open_postgresSchemaAlreadyMigrated_opensWithoutFlywayAndWorks() {
        String url = PostgresServer.shared().newSchemaUrl();
        JobStores.open(url).close();
        try (JdbcJobStore s = JobStores.open(url)) {
            s.create(JobStoreContract.queued("j-1", "web01", null, JobStoreContract.T0));
            assertThat(s.jobs(io.kvmigrate.core.job.JobFilter.all())).hasSize(1);
        }
    }
}
