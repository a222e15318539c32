package io.kvmigrate.core.preflight;

import java.util.List;

/**
 * A TLS migration stream needs QEMU's certificates on the target (the side that accepts it); without them the
 * hypervisor refuses only at the start of the transfer, naming one missing file. Says so before anything starts, with
 * the directory the target's QEMU reads and every file missing there. Only for moves that ask for TLS.
 */
public final class MigrationTlsCheck implements Check {
    @Override
    public String name() {
        return "MIGRATION_TLS";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        MigrationTlsFacts t = ctx.targetTls();
        if (t == null) return List.of(); // no TLS asked for
        String target = ctx.targetName();
        if (t.unknown() != null) {
            return List.of(Finding.warn("TLS_CERTIFICATES_UNKNOWN", name(), null, t.dir(), "Could not read whether '" + target
                    + "' has QEMU's TLS certificates in " + t.dir() + " (" + t.from() + "): " + t.unknown(),
                    "Check that " + t.dir() + " on '" + target + "' holds " + String.join(", ", MigrationTlsFacts.SERVER_FILES) + "."));
        }
        if (!t.missing().isEmpty()) {
            return List.of(Finding.failOverridable("TLS_CERTIFICATES_MISSING", name(), "TLS asked for", "missing " + String.join(", ",
                    t.missing()), "The migration stream is to be encrypted, but '" + target + "' lacks " + String.join(", ", t.missing())
                    + " in " + t.dir() + " (" + t.from() + "), so its QEMU cannot accept a TLS stream.",
                    "Install the CA certificate (ca-cert.pem) and the target's own certificate and key (server-cert.pem, server-key.pem,"
                            + " signed by that CA) in " + t.dir() + " on '" + target + "', and the same CA with a client certificate"
                            + " on the source; or move without {tls} over a trusted network."));
        }
        return List.of(Finding.pass(name(), "TLS asked for", t.dir(), "'" + target + "' has QEMU's TLS certificates in " + t.dir() + "."));
    }
}
