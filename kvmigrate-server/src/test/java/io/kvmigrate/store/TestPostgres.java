package io.kvmigrate.store;

/** The store module's throwaway PostgreSQL server ({@link PostgresServer}), for this module's tests. */
public final class TestPostgres {
    private TestPostgres() {
    }

    /** A JDBC URL of a new, empty schema on the test server (started at first use, stopped when the JVM exits). */
    public static String newSchemaUrl() {
        return PostgresServer.shared().newSchemaUrl();
    }
}
