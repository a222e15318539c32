package io.kvmigrate.store;

/**
 * The databases the store runs on, and the little SQL that differs between them: the schema is portable, only the
 * row locks differ. SQLite has no row locks because it needs none: its transactions are begun IMMEDIATE (see
 * {@link JobStores}), so only one writer at a time, in any process, is inside one.
 */
enum Vendor {
    SQLITE(""),
    POSTGRESQL(" FOR UPDATE");

    /** Appended to a SELECT of a row the transaction then changes: locks it against other writers until commit. */
    final String forUpdate;

    Vendor(String forUpdate) {
        this.forUpdate = forUpdate;
    }

    /**
     * The oldest claimable queued job. On PostgreSQL {@code SKIP LOCKED} lets two controllers claim at once, each
     * passing over the row the other has locked, instead of both waiting for (and then both failing on) the same one.
     */
    String claimCandidate() {
        return "SELECT id FROM jobs WHERE state = 'QUEUED' AND (owner IS NULL OR COALESCE(heartbeat_at, created_at) < :cutoff)"
                + " ORDER BY created_at, id LIMIT 1" + (this == POSTGRESQL ? " FOR UPDATE SKIP LOCKED" : "");
    }
}
