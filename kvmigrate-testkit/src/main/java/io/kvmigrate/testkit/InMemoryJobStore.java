package io.kvmigrate.testkit;

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
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A {@link JobStore} in memory for unit tests: the same contract as the database stores (the store module runs one
 * contract test class against all of them), one lock around everything. Nothing survives the object.
 */
public final class InMemoryJobStore implements JobStore {
    private final Map<String, Job> jobs = new LinkedHashMap<>();
    private final Map<String, List<JobEvent>> events = new HashMap<>();
    private final Map<String, Lock> locks = new HashMap<>();
    private final Map<String, HostMaintenance> maintenance = new java.util.TreeMap<>();
    private final Map<String, String> parents = new HashMap<>();

    private record Lock(String jobId, Instant lockedAt) {
    }

    @Override
    public synchronized void create(Job job) {
        if (jobs.containsKey(job.id())) throw new IllegalArgumentException("A job with id " + job.id() + " exists");
        jobs.put(job.id(), job);
        events.put(job.id(), new ArrayList<>());
    }

    @Override
    public synchronized Optional<Job> job(String id) {
        return Optional.ofNullable(jobs.get(id));
    }

    @Override
    public synchronized List<Job> jobs(JobFilter filter) {
        List<Job> out = new ArrayList<>(jobs.values().stream().filter(filter::matches).toList());
        out.sort(Comparator.comparing(Job::createdAt).thenComparing(Job::id).reversed());
        return filter.limit() > 0 && out.size() > filter.limit() ? List.copyOf(out.subList(0, filter.limit())) : List.copyOf(out);
    }

    @Override
    public synchronized boolean update(String jobId, String owner, JobUpdate change) {
        Job job = jobs.get(jobId);
        if (job == null || !job.ownedBy(owner)) return false;
        Job changed = change.applyTo(job);
        jobs.put(jobId, changed);
        if (changed.state().isTerminal()) locks.values().removeIf(l -> l.jobId().equals(jobId));
        return true;
    }

    @Override
    public synchronized JobEvent append(JobEvent event) {
        List<JobEvent> list = events.get(event.jobId());
        if (list == null) throw new IllegalArgumentException("No job " + event.jobId() + " to append an event to");
        JobEvent stored = event.withSeq(list.size() + 1L);
        list.add(stored);
        return stored;
    }

    @Override
    public synchronized List<JobEvent> events(String jobId, long afterSeq) {
        return events.getOrDefault(jobId, List.of()).stream().filter(e -> e.seq() > afterSeq).toList();
    }

    @Override
    public synchronized Optional<Job> requestCancel(String jobId, Instant at) {
        Job job = jobs.get(jobId);
        if (job == null) return Optional.empty();
        Job after = job.cancelRequestedAt(at);
        jobs.put(jobId, after);
        if (after.state().isTerminal()) locks.values().removeIf(l -> l.jobId().equals(jobId));
        return Optional.of(after);
    }

    @Override
    public synchronized boolean cancelRequested(String jobId) {
        Job job = jobs.get(jobId);
        return job != null && job.cancelRequested();
    }

    @Override
    public synchronized boolean heartbeat(String jobId, String owner, Instant at) {
        Job job = jobs.get(jobId);
        if (job == null || !job.ownedBy(owner)) return false;
        jobs.put(jobId, job.withOwner(owner, at));
        return true;
    }

    @Override
    public synchronized List<Job> orphans(Instant now, Duration lease) {
        Instant cutoff = now.minus(lease);
        return jobs.values().stream().filter(j -> !j.state().isTerminal() && j.owner() != null && j.silentBefore(cutoff))
                .sorted(Comparator.comparing(Job::createdAt).thenComparing(Job::id)).toList();
    }

    @Override
    public synchronized boolean adopt(String jobId, String expectedOwner, String newOwner, Instant now, Duration lease) {
        Job job = jobs.get(jobId);
        if (job == null || !job.ownedBy(expectedOwner) || !job.silentBefore(now.minus(lease))) return false;
        jobs.put(jobId, job.withOwner(newOwner, now));
        return true;
    }

    @Override
    public synchronized boolean enqueue(Job job, String vmKey) {
        if (job.state() != JobState.QUEUED || job.owner() != null) throw new IllegalArgumentException("Job " + job.id() + " is not unowned and queued");
        if (jobs.containsKey(job.id())) throw new IllegalArgumentException("A job with id " + job.id() + " exists");
        Lock held = locks.get(vmKey);
        if (held != null && !jobs.get(held.jobId()).state().isTerminal()) return false;
        create(job);
        locks.put(vmKey, new Lock(job.id(), job.createdAt()));
        return true;
    }

    @Override
    public synchronized Optional<Job> claimQueued(String owner, Instant now, Duration lease) {
        Instant cutoff = now.minus(lease);
        Optional<Job> next = jobs.values().stream()
                .filter(j -> j.state() == JobState.QUEUED && (j.owner() == null || j.silentBefore(cutoff)))
                .min(Comparator.comparing(Job::createdAt).thenComparing(Job::id));
        next.ifPresent(j -> jobs.put(j.id(), JobUpdate.state(JobState.RUNNING, now).applyTo(j).withOwner(owner, now)));
        return next.map(j -> jobs.get(j.id()));
    }

    @Override
    public synchronized boolean lockVm(String vmKey, String jobId, String owner, Instant now) {
        Job job = jobs.get(jobId);
        if (job == null || !job.ownedBy(owner)) return false;
        Lock held = locks.get(vmKey);
        if (held != null && !held.jobId().equals(jobId) && !jobs.get(held.jobId()).state().isTerminal()) return false;
        locks.put(vmKey, new Lock(jobId, now));
        return true;
    }

    @Override
    public synchronized boolean unlockVm(String vmKey, String jobId, String owner) {
        Lock held = locks.get(vmKey);
        if (held == null || !held.jobId().equals(jobId) || !owner.equals(jobs.get(jobId).owner())) return false;
        locks.remove(vmKey);
        return true;
    }

    @Override
    public synchronized Optional<VmLock> vmLock(String vmKey) {
        Lock held = locks.get(vmKey);
        if (held == null) return Optional.empty();
        Job job = jobs.get(held.jobId());
        if (job.state().isTerminal()) return Optional.empty();
        return Optional.of(new VmLock(vmKey, held.jobId(), job.owner(), held.lockedAt()));
    }

    @Override
    public synchronized boolean setMaintenance(String host, String uri, boolean on, Instant at) {
        if (!on) return maintenance.remove(host) != null;
        if (maintenance.containsKey(host)) return false;
        maintenance.put(host, new HostMaintenance(host, uri, at));
        return true;
    }

    @Override
    public synchronized List<HostMaintenance> maintenance() {
        return List.copyOf(maintenance.values());
    }

    @Override
    public void close() {
        // nothing to release
    }

    @Override
    public synchronized boolean setParent(String jobId, String parentId) {
        if (!jobs.containsKey(jobId) || !jobs.containsKey(parentId)) return false;
        parents.put(jobId, parentId);
        return true;
    }

    @Override
    public synchronized List<Job> children(String parentId) {
        List<Job> out = new ArrayList<>();
        for (Job j : jobs.values()) if (parentId.equals(parents.get(j.id()))) out.add(j);
        out.sort(java.util.Comparator.comparing(Job::createdAt).thenComparing(Job::id));
        return out;
    }

    @Override
    public synchronized Optional<String> parentOf(String jobId) {
        return Optional.ofNullable(parents.get(jobId));
    }
}
