package io.kvmigrate.core.engine;

/** The named steps of a migration, in order. */
public enum Phase {
    RESOLVE("resolve"), CHECK("check"), VERIFY_STORAGE("verify-storage"), MIGRATE("migrate"), VERIFY("verify"),
    ROLLBACK_CHECK("rollback-check"),
    // cold migration and storage copy
    PLAN_STORAGE("plan-storage"), SHUTDOWN("shutdown"), COPY_STORAGE("copy-storage"), VERIFY_COPY("verify-copy"), DEFINE("define"), CLEANUP("cleanup"),
    START("start");

    private final String label;

    Phase(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
