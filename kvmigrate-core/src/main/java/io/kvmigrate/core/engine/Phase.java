package io.kvmigrate.core.engine;

/** The named steps of a migration, in order. */
public enum Phase {
    RESOLVE("resolve"), CHECK("check"), VERIFY_STORAGE("verify-storage"), MIGRATE("migrate"), VERIFY("verify"),
    ROLLBACK_CHECK("rollback-check");

    private final String label;

    Phase(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
