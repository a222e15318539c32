package io.kvmigrate.cli;

import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.core.job.JobFilter;
import io.kvmigrate.server.ApiClient;
import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * Where {@code jobs} and {@code migrate} reach the jobs: the job store through the facade (the default), or a running
 * {@code kvmigrate serve} through its REST API ({@code --server URL}), which runs the moves and owns the store.
 */
interface JobsAccess extends AutoCloseable {
    /** The {@code --server} option. */
    final class ServerOption {
        @Option(names = "--server", paramLabel = "URL", description = "Talk to a running 'kvmigrate serve' at URL instead of opening the"
                + " job store (token: $KVMIGRATE_TOKEN, else this user's server.token).") String url;

        ApiClient client(Facade.DbOption db) {
            if (db != null && db.db != null) {
                throw KvmigrateException.invalidInput("--server and --db exclude each other: the server has its own job store.", "Give one of them.");
            }
            return ApiClient.of(url, System.getenv("KVMIGRATE_TOKEN"), HostRegistry.defaultConfigDir());
        }
    }

    List<Job> jobs(JobFilter f);

    Optional<Job> job(String id);

    List<JobEvent> events(String id, long afterSeq);

    Optional<Job> cancel(String id);

    /** A drain's moves, oldest first. */
    List<Job> children(String id);

    /** The drain a move belongs to, if any (unknown through a server: the API's job view has no parent). */
    Optional<String> parentOf(String id);

    /** Waits for jobs this process took over from dead controllers (none through a server). */
    void awaitRunning();

    @Override
    void close();

    /** The server's jobs when {@code --server} is given, else the job store's (reconciled first, as every command does). */
    static JobsAccess open(ServerOption server, Facade.DbOption db, PrintWriter err) {
        if (server != null && server.url != null) return remote(server.client(db));
        Kvmigrate k = Facade.open(db, err);
        return new JobsAccess() {
            public List<Job> jobs(JobFilter f) {
                return k.jobs(f);
            }

            public Optional<Job> job(String id) {
                return k.job(id);
            }

            public List<JobEvent> events(String id, long afterSeq) {
                return k.events(id, afterSeq);
            }

            public Optional<Job> cancel(String id) {
                return k.cancel(id);
            }

            public List<Job> children(String id) {
                return k.children(id);
            }

            public Optional<String> parentOf(String id) {
                return k.parentOf(id);
            }

            public void awaitRunning() {
                k.awaitRunning();
            }

            public void close() {
                k.close();
            }
        };
    }

    static JobsAccess remote(ApiClient c) {
        return new JobsAccess() {
            public List<Job> jobs(JobFilter f) {
                return c.jobs(f);
            }

            public Optional<Job> job(String id) {
                return c.job(id);
            }

            public List<JobEvent> events(String id, long afterSeq) {
                return c.events(id, afterSeq);
            }

            public Optional<Job> cancel(String id) {
                return c.cancel(id);
            }

            public List<Job> children(String id) {
                return c.children(id);
            }

            public Optional<String> parentOf(String id) {
                return Optional.empty();
            }

            public void awaitRunning() {
                // the server runs them
            }

            public void close() {
                // nothing held
            }
        };
    }
}
