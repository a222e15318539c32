package io.kvmigrate.cli;

import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.api.MoveRequest;
import io.kvmigrate.core.api.Reconciler;
import io.kvmigrate.libvirt.DomainXmlRewriter;
import io.kvmigrate.libvirt.LibvirtConnector;
import io.kvmigrate.store.JobStores;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Option;

/**
 * The CLI's way into the core: opens the job store ({@code --db}, else {@code KVMIGRATE_DB}, else the embedded
 * database under the user's data directory), builds the facade, and reconciles what dead controllers left: every
 * command that opens the store finds such jobs first.
 */
final class Facade {
    /** The {@code --db} option, for commands that use the job store. */
    static final class DbOption {
        @Option(names = "--db", paramLabel = "URL", description = "Job store: a JDBC URL (jdbc:postgresql://... for several controllers);"
                + " default $KVMIGRATE_DB, else an embedded database under ~/.local/share/kvmigrate.") String db;

        String url() {
            return db != null ? db : System.getenv("KVMIGRATE_DB");
        }
    }

    private Facade() {
    }

    /** The facade on libvirt and the job store at {@code dbUrl} (null: the default; opened at first use), without reconciling. */
    static Kvmigrate create(String dbUrl) {
        return Kvmigrate.configure().connector(new LibvirtConnector()).rewriter(new DomainXmlRewriter()).store(() -> JobStores.open(dbUrl))
                .noProgressTimeout(noProgressTimeout(System.getenv("KVMIGRATE_NO_PROGRESS_TIMEOUT"))).load();
    }

    /** {@code KVMIGRATE_NO_PROGRESS_TIMEOUT}: seconds a live pre-copy may move no data before it is aborted as a cut link. */
    static java.time.Duration noProgressTimeout(String seconds) {
        if (seconds == null || seconds.isBlank()) return io.kvmigrate.core.engine.LiveMigration.DEFAULT_NO_PROGRESS_TIMEOUT;
        try {
            long s = Long.parseLong(seconds.trim());
            if (s > 0) return java.time.Duration.ofSeconds(s);
        } catch (NumberFormatException e) {
            // the error below
        }
        throw io.kvmigrate.core.api.KvmigrateException.invalidInput("KVMIGRATE_NO_PROGRESS_TIMEOUT must be a positive number of seconds, got '"
                + seconds + "'.", "Unset it for the default of 30 s, or give e.g. 60.");
    }

    /** The facade on the store; reports on {@code err} the jobs it took over from dead controllers. */
    static Kvmigrate open(DbOption db, PrintWriter err) {
        Kvmigrate k = create(db == null ? null : db.url());
        List<Reconciler.Outcome> found = k.reconcile();
        for (Reconciler.Outcome o : found) {
            err.println("kvmigrate: job " + o.jobId() + " (VM " + o.vm() + ") of a controller that stopped: " + o.action() + ", " + o.detail());
        }
        err.flush();
        return k;
    }

    /** A core message's {@code {field}} tokens as this front end's option names: {@code maxDowntime -> --max-downtime}. */
    static String words(String text) {
        return MoveRequest.wordFields(text, Facade::flag);
    }

    static String flag(String field) {
        StringBuilder b = new StringBuilder("--");
        for (char c : field.toCharArray()) {
            if (Character.isUpperCase(c)) b.append('-').append(Character.toLowerCase(c));
            else b.append(c);
        }
        return b.toString().toLowerCase(Locale.ROOT);
    }
}
