package io.kvmigrate.store;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.job.HostMaintenance;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.core.job.JobFilter;
import io.kvmigrate.core.job.JobState;
import io.kvmigrate.core.job.JobStore;
import io.kvmigrate.core.job.JobUpdate;
import io.kvmigrate.core.job.VmLock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.jdbi.v3.core.statement.Query;

/**
 * {@link JobStore} on a SQL database through JDBI: SQLite (one file, shared by the processes of one machine) or
 * PostgreSQL (shared by machines). Open it with {@link JobStores#open}. Thread-safe; each call takes a pooled
 * connection for its duration.
 *
 * <p>Every change to a job is read, decided and written in one transaction that holds the job's row (PostgreSQL: {@code
 * SELECT ... FOR UPDATE}; SQLite: its IMMEDIATE transactions let one writer in at a time), and the decision is made by
 * the same methods of {@link Job} and {@link JobUpdate} the in-memory store uses, so the rules live in one place and the
 * SQL only has to be atomic. Values reach SQL as bound parameters only.
 */
public final class JdbcJobStore implements JobStore {
    private static final String LIVE = "state IN ('QUEUED', 'RUNNING')";
    private final Jdbi jdbi;
    private final Vendor vendor;
    private final String location;
    private final AutoCloseable pool;

    JdbcJobStore(Jdbi jdbi, Vendor vendor, String location, AutoCloseable pool) {
        this.jdbi = jdbi;
        this.vendor = vendor;
        this.location = location;
        this.pool = pool;
    }

    /** Where the jobs are kept: the SQLite file, or the JDBC URL without its password. */
    public String location() {
        return location;
    }

    @Override
    public void create(Job job) {
        int n = tx("create job " + job.id(), h -> JobRows.bind(h.createUpdate(JobRows.INSERT_JOB), job).execute());
        if (n == 0) throw new IllegalArgumentException("A job with id " + job.id() + " exists");
    }

    @Override
    public Optional<Job> job(String id) {
        return read("read job " + id, h -> h.createQuery(JobRows.SELECT_JOB + " WHERE id = :id").bind("id", id)
                .map((rs, ctx) -> JobRows.job(rs)).findOne());
    }

    @Override
    public List<Job> jobs(JobFilter filter) {
        StringBuilder sql = new StringBuilder(JobRows.SELECT_JOB).append(" WHERE 1 = 1");
        // Only these fixed fragments are added; the filter's values are bound.
        if (filter.vm() != null) sql.append(" AND (vm_name = :vm OR vm_uuid = :vm)");
        if (filter.host() != null) sql.append(" AND (source_host = :host OR target_host = :host)");
        if (filter.state() != null) sql.append(" AND state = :state");
        sql.append(" ORDER BY created_at DESC, id DESC");
        if (filter.limit() > 0) sql.append(" LIMIT :limit");
        return read("list jobs", h -> {
            Query q = h.createQuery(sql.toString());
            if (filter.vm() != null) q.bind("vm", filter.vm());
            if (filter.host() != null) q.bind("host", filter.host());
            if (filter.state() != null) q.bind("state", filter.state().name());
            if (filter.limit() > 0) q.bind("limit", filter.limit());
            return q.map((rs, ctx) -> JobRows.job(rs)).list();
        });
    }

    @Override
    public boolean update(String jobId, String owner, JobUpdate change) {
        return mutate("update job " + jobId, jobId, j -> j.ownedBy(owner) ? Optional.of(change.applyTo(j)) : Optional.empty()).isPresent();
    }

    @Override
    public JobEvent append(JobEvent event) {
        return tx("append an event to job " + event.jobId(), h -> {
            // The increment takes the job row's write lock, so concurrent appenders get consecutive seqs, never one twice.
            int n = h.createUpdate("UPDATE jobs SET last_seq = last_seq + 1 WHERE id = :id").bind("id", event.jobId()).execute();
            if (n == 0) throw new IllegalArgumentException("No job " + event.jobId() + " to append an event to");
            long seq = h.createQuery("SELECT last_seq FROM jobs WHERE id = :id").bind("id", event.jobId()).mapTo(Long.class).one();
            JobEvent stored = event.withSeq(seq);
            h.createUpdate("INSERT INTO job_events (job_id, seq, at, type, step, message, data_json)"
                    + " VALUES (:job_id, :seq, :at, :type, :step, :message, :data_json)")
                    .bind("job_id", stored.jobId()).bind("seq", seq).bind("at", JobRows.millis(stored.at())).bind("type", stored.type())
                    .bind("step", stored.step()).bind("message", stored.message())
                    .bind("data_json", stored.data().isEmpty() ? null : JobRows.json(stored.data())).execute();
            return stored;
        });
    }

    @Override
    public List<JobEvent> events(String jobId, long afterSeq) {
        return read("read the events of job " + jobId, h -> h.createQuery(
                "SELECT job_id, seq, at, type, step, message, data_json FROM job_events WHERE job_id = :id AND seq > :after ORDER BY seq")
                .bind("id", jobId).bind("after", afterSeq).map((rs, ctx) -> JobRows.event(rs)).list());
    }

    @Override
    public Optional<Job> requestCancel(String jobId, Instant at) {
        return tx("request the cancellation of job " + jobId, h -> {
            Optional<Job> job = lockedJob(h, jobId);
            if (job.isEmpty() || job.get().state().isTerminal()) return job;
            Job after = job.get().cancelRequestedAt(at);
            write(h, after);
            return Optional.of(after);
        });
    }

    @Override
    public boolean cancelRequested(String jobId) {
        return read("read the cancel flag of job " + jobId, h -> h.createQuery("SELECT cancel_requested FROM jobs WHERE id = :id")
                .bind("id", jobId).mapTo(Boolean.class).findOne().orElse(false));
    }

    @Override
    public boolean heartbeat(String jobId, String owner, Instant at) {
        return mutate("record a heartbeat of job " + jobId, jobId,
                j -> j.ownedBy(owner) ? Optional.of(j.withOwner(owner, at)) : Optional.empty()).isPresent();
    }

    @Override
    public List<Job> orphans(Instant now, Duration lease) {
        return read("list orphaned jobs", h -> h.createQuery(JobRows.SELECT_JOB + " WHERE " + LIVE
                + " AND owner IS NOT NULL AND COALESCE(heartbeat_at, created_at) < :cutoff ORDER BY created_at, id")
                .bind("cutoff", JobRows.millis(now.minus(lease))).map((rs, ctx) -> JobRows.job(rs)).list());
    }

    @Override
    public boolean adopt(String jobId, String expectedOwner, String newOwner, Instant now, Duration lease) {
        // The job's VM locks name the job, not its owner: they pass to the new owner with it.
        return mutate("adopt job " + jobId, jobId, j -> j.ownedBy(expectedOwner) && j.silentBefore(now.minus(lease))
                ? Optional.of(j.withOwner(newOwner, now)) : Optional.empty()).isPresent();
    }

    @Override
    public boolean enqueue(Job job, String vmKey) {
        if (job.state() != JobState.QUEUED || job.owner() != null) throw new IllegalArgumentException("Job " + job.id() + " is not unowned and queued");
        try {
            return tx("queue job " + job.id() + " with the lock of VM " + vmKey, h -> {
                if (JobRows.bind(h.createUpdate(JobRows.INSERT_JOB), job).execute() == 0) {
                    throw new IllegalArgumentException("A job with id " + job.id() + " exists");
                }
                if (!takeLock(h, vmKey, job.id(), JobRows.millis(job.createdAt()))) throw new Busy();
                return true;
            });
        } catch (Busy b) {
            return false; // thrown out of the transaction so that it rolls back: the job is not recorded
        }
    }

    /** Leaves {@link #enqueue}'s transaction, which rolls it back. */
    private static final class Busy extends RuntimeException {
        Busy() {
            super(null, null, false, false);
        }
    }

    @Override
    public Optional<Job> claimQueued(String owner, Instant now, Duration lease) {
        return tx("claim a queued job", h -> {
            Optional<String> id = h.createQuery(vendor.claimCandidate()).bind("cutoff", JobRows.millis(now.minus(lease)))
                    .mapTo(String.class).findOne();
            if (id.isEmpty()) return Optional.<Job>empty();
            Job claimed = JobUpdate.state(JobState.RUNNING, now).applyTo(lockedJob(h, id.get()).orElseThrow()).withOwner(owner, now);
            write(h, claimed);
            return Optional.of(claimed);
        });
    }

    @Override
    public boolean lockVm(String vmKey, String jobId, String owner, Instant now) {
        return tx("lock VM " + vmKey + " for job " + jobId, h -> {
            // Holding the job's row keeps an adopter from taking the job between this check and the lock.
            if (!lockedJob(h, jobId).map(j -> j.ownedBy(owner)).orElse(false)) return false;
            return takeLock(h, vmKey, jobId, JobRows.millis(now));
        });
    }

    /** Locks the VM for the job inside the caller's transaction: free, the job's own, or held by a job that ended. */
    private static boolean takeLock(Handle h, String vmKey, String jobId, Long at) {
        int inserted = h.createUpdate("INSERT INTO vm_locks (vm_key, job_id, locked_at) VALUES (:key, :job, :at)"
                + " ON CONFLICT (vm_key) DO NOTHING").bind("key", vmKey).bind("job", jobId).bind("at", at).execute();
        if (inserted == 1) return true;
        Optional<String> holder = h.createQuery("SELECT job_id FROM vm_locks WHERE vm_key = :key").bind("key", vmKey)
                .mapTo(String.class).findOne();
        if (holder.isEmpty()) return false; // released in between: the caller may try again
        boolean free = holder.get().equals(jobId) || h.createQuery("SELECT state FROM jobs WHERE id = :id").bind("id", holder.get())
                .mapTo(String.class).findOne().map(s -> JobState.valueOf(s).isTerminal()).orElse(true);
        if (!free) return false;
        // Compare-and-set on the holder: of two jobs taking over a stale lock, the second finds the row changed.
        return h.createUpdate("UPDATE vm_locks SET job_id = :job, locked_at = :at WHERE vm_key = :key AND job_id = :holder")
                .bind("job", jobId).bind("at", at).bind("key", vmKey).bind("holder", holder.get()).execute() == 1;
    }

    @Override
    public boolean unlockVm(String vmKey, String jobId, String owner) {
        return tx("unlock VM " + vmKey + " for job " + jobId, h -> {
            if (!lockedJob(h, jobId).map(j -> owner.equals(j.owner())).orElse(false)) return false;
            return h.createUpdate("DELETE FROM vm_locks WHERE vm_key = :key AND job_id = :job").bind("key", vmKey).bind("job", jobId)
                    .execute() == 1;
        });
    }

    @Override
    public Optional<VmLock> vmLock(String vmKey) {
        return read("read the lock of VM " + vmKey, h -> h.createQuery(
                "SELECT l.vm_key, l.job_id, j.owner, l.locked_at FROM vm_locks l JOIN jobs j ON j.id = l.job_id"
                        + " WHERE l.vm_key = :key AND j." + LIVE)
                .bind("key", vmKey).map((rs, ctx) -> new VmLock(rs.getString("vm_key"), rs.getString("job_id"), rs.getString("owner"),
                        JobRows.instant(rs, "locked_at"))).findOne());
    }

    @Override
    public boolean setMaintenance(String host, String uri, boolean on, Instant at) {
        return tx((on ? "put host " : "take host ") + host + (on ? " in" : " out of") + " maintenance", h -> {
            if (!on) return h.createUpdate("DELETE FROM host_maintenance WHERE host = :host").bind("host", host).execute() == 1;
            if (h.createQuery("SELECT COUNT(*) FROM host_maintenance WHERE host = :host").bind("host", host).mapTo(Long.class).one() > 0) {
                return false;
            }
            return h.createUpdate("INSERT INTO host_maintenance (host, uri, since) VALUES (:host, :uri, :since)").bind("host", host)
                    .bind("uri", uri).bind("since", at.toEpochMilli()).execute() == 1;
        });
    }

    @Override
    public List<HostMaintenance> maintenance() {
        return read("read the hosts in maintenance", h -> h.createQuery("SELECT host, uri, since FROM host_maintenance ORDER BY host")
                .map((rs, ctx) -> new HostMaintenance(rs.getString("host"), rs.getString("uri"), Instant.ofEpochMilli(rs.getLong("since"))))
                .list());
    }

    @Override
    public boolean setParent(String jobId, String parentId) {
        return tx("make job " + jobId + " one of job " + parentId + "'s", h -> h.createUpdate("UPDATE jobs SET parent_id = :parent WHERE id = :id"
                + " AND EXISTS (SELECT 1 FROM jobs p WHERE p.id = :parent)").bind("parent", parentId).bind("id", jobId).execute() == 1);
    }

    @Override
    public List<Job> children(String parentId) {
        return read("list the jobs of job " + parentId, h -> h.createQuery(JobRows.SELECT_JOB + " WHERE parent_id = :parent ORDER BY created_at, id")
                .bind("parent", parentId).map((rs, ctx) -> JobRows.job(rs)).list());
    }

    @Override
    public Optional<String> parentOf(String jobId) {
        return read("read the parent of job " + jobId, h -> h.createQuery("SELECT parent_id FROM jobs WHERE id = :id").bind("id", jobId)
                .mapTo(String.class).findOne()).filter(java.util.Objects::nonNull);
    }

    @Override
    public void close() {
        try {
            pool.close();
        } catch (Exception e) {
            // Closing a pool only fails on connections that are already broken; nothing is lost.
        }
    }

    /** Reads a job, lets {@code change} decide, writes what it returns; empty if there was no such job or no change. */
    private Optional<Job> mutate(String what, String jobId, Function<Job, Optional<Job>> change) {
        return tx(what, h -> {
            Optional<Job> after = lockedJob(h, jobId).flatMap(change);
            after.ifPresent(j -> write(h, j));
            return after;
        });
    }

    private Optional<Job> lockedJob(Handle h, String jobId) {
        return h.createQuery(JobRows.SELECT_JOB + " WHERE id = :id" + vendor.forUpdate).bind("id", jobId)
                .map((rs, ctx) -> JobRows.job(rs)).findOne();
    }

    private static void write(Handle h, Job job) {
        JobRows.bind(h.createUpdate(JobRows.UPDATE_JOB), job).execute();
        // An ended job holds nothing; releasing in the same transaction means no crash can leave its locks behind.
        if (job.state().isTerminal()) h.createUpdate("DELETE FROM vm_locks WHERE job_id = :id").bind("id", job.id()).execute();
    }

    private <T> T tx(String what, HandleCallback<T, RuntimeException> work) {
        try {
            return jdbi.inTransaction(work);
        } catch (JdbiException e) {
            throw failed(what, e);
        }
    }

    private <T> T read(String what, HandleCallback<T, RuntimeException> work) {
        try {
            return jdbi.withHandle(work);
        } catch (JdbiException e) {
            throw failed(what, e);
        }
    }

    private KvmigrateException failed(String what, Exception e) {
        return new KvmigrateException(ErrorCode.STORE_FAILED, "store", null, null,
                "Tried to " + what + " in the job store " + location + " but failed because " + JobStores.rootMessage(e),
                JobStores.hint(vendor, location), e);
    }
}
