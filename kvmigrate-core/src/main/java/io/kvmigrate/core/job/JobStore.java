package io.kvmigrate.core.job;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The durable record of jobs, their events and VM locks; several processes (and, with a server database, several
 * machines) share one store. Every write is durable when its call returns, so whatever a front end showed after
 * writing it survives a crash of that front end.
 *
 * <p>Ownership: a job is run by its owner (a controller id). Changes to a running job name the owner and take effect
 * only while that controller still owns it; after another controller {@link #adopt adopted} it, the old owner's writes
 * return false and it must stop acting. The owner proves it is alive with {@link #heartbeat}; a job whose owner fell
 * silent longer than a lease is an {@link #orphans orphan}. Times are always passed in: a store never reads a clock.
 *
 * <p>Failures of the store itself (disk full, database unreachable) are thrown as
 * {@link io.kvmigrate.core.api.KvmigrateException} with {@link io.kvmigrate.core.api.ErrorCode#STORE_FAILED}; misuse
 * (an unknown job id where one must exist, a duplicate id) as {@link IllegalArgumentException}.
 */
public interface JobStore extends AutoCloseable {

    /** Records a new job. Throws IllegalArgumentException if a job with its id exists. */
    void create(Job job);

    Optional<Job> job(String id);

    /** The jobs that pass {@code filter}, newest first. */
    List<Job> jobs(JobFilter filter);

    /**
     * Applies {@code change} to a job {@code owner} owns; false (and nothing changed) if it is owned by another
     * controller, or has ended. Moving it to a terminal state also releases its VM locks, in the same write.
     */
    boolean update(String jobId, String owner, JobUpdate change);

    /**
     * Appends an event to its job's timeline and returns it with its seq: one more than the job's last, assigned
     * atomically however many threads and processes append at once (the event's own seq is ignored). Events are kept
     * for ended jobs too.
     */
    JobEvent append(JobEvent event);

    /** The job's events with seq greater than {@code afterSeq}, in order; {@code events(id, 0)} is the whole timeline. */
    List<JobEvent> events(String jobId, long afterSeq);

    /**
     * Asks a job to stop. A queued job is cancelled at once (nothing ran for it); a running one gets its cancel flag
     * set, which its owner reads and acts on; an ended one is left as it is. Returns the job as it is afterwards, empty
     * if there is no such job.
     */
    Optional<Job> requestCancel(String jobId, Instant at);

    /** True if someone asked the job to stop. */
    boolean cancelRequested(String jobId);

    /** The owner's sign of life; false if it no longer owns the job or the job has ended: then it must stop acting. */
    boolean heartbeat(String jobId, String owner, Instant at);

    /**
     * Jobs not ended whose owner's last heartbeat is older than {@code now - lease}: their controller died or hangs,
     * and someone should reconcile them. Queued jobs that nobody claimed are not orphans.
     */
    List<Job> orphans(Instant now, Duration lease);

    /**
     * Takes over an orphan: it becomes {@code newOwner}'s (heartbeat now), with its VM locks, if it is still owned by
     * {@code expectedOwner}, not ended, and that owner's heartbeat is still older than {@code now - lease}. False if
     * another adopter won, or the old owner came back to life. Atomic: of two racing adopters exactly one wins.
     */
    boolean adopt(String jobId, String expectedOwner, String newOwner, Instant now, Duration lease);

    /**
     * Records a new queued job that nobody owns yet (its owner null) together with its VM's lock ({@code vmKey}, taken at its
     * creation time), in one write, for a controller to {@link #claimQueued claim}; the lock passes with the job to its
     * claimer, and cancelling the queued job releases it. False, and nothing recorded, if a job that has not ended holds the
     * VM. Throws IllegalArgumentException if a job with its id exists, or it is not an unowned queued job.
     */
    boolean enqueue(Job job, String vmKey);

    /**
     * Claims the oldest queued job that nobody owns, or whose owner fell silent longer than {@code lease}, for
     * {@code owner}, and moves it to RUNNING. Never gives one job to two claimers, across processes and machines.
     */
    Optional<Job> claimQueued(String owner, Instant now, Duration lease);

    /**
     * Locks a VM for a job {@code owner} owns (see {@link VmLock#keyOf} for the key). True if the job now holds it:
     * it was free, or held by the same job (locking again is allowed), or held by a job that has ended. False if
     * another job that has not ended holds it, or {@code owner} does not own a running or queued {@code jobId}.
     */
    boolean lockVm(String vmKey, String jobId, String owner, Instant now);

    /** Releases {@code jobId}'s lock on a VM, if {@code owner} still owns that job; true if a lock was released. */
    boolean unlockVm(String vmKey, String jobId, String owner);

    /** Who holds a VM, if a job that has not ended does. */
    Optional<VmLock> vmLock(String vmKey);

    /**
     * Puts a host in maintenance ({@code on}: recorded with {@code at}, kept if it already is) or takes it out; keyed by the
     * host's name. True if anything changed.
     */
    boolean setMaintenance(String host, String uri, boolean on, Instant at);

    /** The hosts in maintenance, by name. */
    List<HostMaintenance> maintenance();

    /**
     * Records that {@code jobId} is one of {@code parentId}'s jobs (a drain's move: a job of jobs). False if either job is
     * unknown; a job has one parent, the last one set.
     */
    boolean setParent(String jobId, String parentId);

    /** The jobs whose parent is {@code parentId}, oldest first. */
    List<Job> children(String parentId);

    /** The parent of {@code jobId}, if it has one. */
    Optional<String> parentOf(String jobId);

    /** Releases connections; the data stays. */
    @Override
    void close();
}
