package io.kvmigrate.core.evacuate;

import io.kvmigrate.core.api.JobHandle;
import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.api.MoveRequest;
import io.kvmigrate.core.engine.MigrationEvent;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobKind;
import io.kvmigrate.core.job.JobState;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Runs a drain's schedule: each move is a job submitted through the facade ({@link Kvmigrate#submit}), started in the
 * schedule's order as soon as {@link DrainSlots} lets it (so the limits hold at every instant: a slot is freed only once
 * its job's end is in the store). A total bandwidth is divided among the live moves running and re-divided as they
 * start and end ({@link Kvmigrate#setBandwidth}): the others are lowered before a move starts and raised after one ended,
 * so the caps never add up to more than the total, and each move gets at least the share the schedule planned it at. A
 * move that fails does not stop the others. {@link #cancel} stops the drain cleanly: queued moves never start, running
 * ones are aborted through the facade's cancel, and the runner waits for their jobs to end (each leaves its VM on exactly
 * one host). A move cancelled from elsewhere ({@code jobs cancel} of its job, from any process) cancels the drain too.
 *
 * <p>One thread (the caller's) dispatches; the jobs run on their own threads and report their end through a queue.
 */
public final class DrainRunner {
    private final Kvmigrate k;
    private final Clock clock;
    private final EvacuationEvent.Listener listener;
    private final BlockingQueue<PlannedMove> ended = new LinkedBlockingQueue<>();
    private final Map<PlannedMove, Running> running = java.util.Collections.synchronizedMap(new IdentityHashMap<>());
    private final java.util.function.Function<PlannedMove, List<String>> whereRunning;
    private volatile String cancelReason;

    /** A move in flight: its job, the memory it has left to send (as its last statistics said), its bandwidth cap now. */
    private static final class Running {
        final String jobId;
        volatile long bytesLeft;
        volatile long capMiBps;

        Running(String jobId, long bytesLeft) {
            this.jobId = jobId;
            this.bytesLeft = bytesLeft;
        }
    }

    /**
     * @param whereRunning reads where a VM runs now, for a job that ended without recording it (a move refused before the
     *        engine looked)
     */
    public DrainRunner(Kvmigrate k, Clock clock, EvacuationEvent.Listener listener, java.util.function.Function<PlannedMove, List<String>> whereRunning) {
        this.k = k;
        this.whereRunning = whereRunning;
        this.clock = clock;
        this.listener = listener == null ? EvacuationEvent.Listener.NONE : listener;
    }

    /** Asks the drain to stop; safe from any thread (a signal handler, another command's cancel). */
    public void cancel(String reason) {
        if (cancelReason != null) return;
        cancelReason = reason == null ? "cancelled" : reason;
        listener.on(new EvacuationEvent.Cancelling(clock.instant(), cancelReason));
        List<Running> now;
        synchronized (running) {
            now = new ArrayList<>(running.values());
        }
        for (Running r : now) {
            try {
                k.cancel(r.jobId);
            } catch (KvmigrateException e) {
                // the job may have ended meanwhile; its end is read from the store either way
            }
        }
    }

    public boolean cancelled() {
        return cancelReason != null;
    }

    /** Runs every placed move of {@code plan}; returns each VM's outcome (the unplaced ones included), in plan order. */
    public EvacuationResult run(EvacuationPlan plan) {
        Instant begun = clock.instant();
        DrainSchedule schedule = plan.schedule();
        EvacuationRequest r = plan.request();
        DrainSlots slots = new DrainSlots(r.limits(), schedule.concurrency());
        List<PlannedMove> queue = new ArrayList<>();
        for (DrainSchedule.Slot s : schedule.moves()) queue.add(s.move());
        Map<PlannedMove, VmOutcome> outcomes = new LinkedHashMap<>();
        long totalMiBps = schedule.shareBps() > 0 ? r.bandwidthMiBps() : 0;
        int total = queue.size();
        while (!queue.isEmpty() || !running.isEmpty()) {
            if (cancelReason != null) {
                for (PlannedMove m : queue) {
                    outcomes.put(m, new VmOutcome(m.vm(), m.source().name(), m.target().name(), VmOutcome.Status.CANCELLED, null,
                            List.of(m.source().name()), "CANCELLED", "The drain was cancelled before this move started: " + cancelReason + "."));
                }
                queue.clear();
            }
            boolean changed = false;
            for (var it = queue.iterator(); it.hasNext() && cancelReason == null; ) {
                PlannedMove m = it.next();
                if (!slots.canStart(m.source().name(), m.target().name())) continue;
                it.remove();
                changed = true;
                // the total divided among the moves running once this one runs: the others are lowered first, so the caps
                // never add up to more than the total
                long share = m.live() && totalMiBps > 0 ? divide(totalMiBps, liveRunning() + 1, true) : 0;
                String jobId = start(m, r, share, outcomes);
                if (jobId == null) {
                    if (share > 0) divide(totalMiBps, liveRunning(), false);
                    continue;
                }
                slots.start(m.source().name(), m.target().name());
            }
            if (changed) total(outcomes.size(), total, queue, schedule, begun);
            if (running.isEmpty()) continue;
            PlannedMove done;
            try {
                done = ended.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                cancel("interrupted");
                continue;
            }
            if (done == null) continue;
            Running was = running.remove(done);
            slots.finish(done.source().name(), done.target().name());
            if (totalMiBps > 0 && done.live()) divide(totalMiBps, liveRunning(), false);
            VmOutcome o = outcomeOf(done, was.jobId);
            outcomes.put(done, o);
            listener.on(new EvacuationEvent.MoveEnded(clock.instant(), done, o));
            // a move cancelled from elsewhere (jobs cancel, another front end) cancels the drain: someone stepped in
            if (o.status() == VmOutcome.Status.CANCELLED && cancelReason == null) {
                cancel("job " + was.jobId + " (" + done.vm() + ") was cancelled");
            }
            total(outcomes.size(), total, queue, schedule, begun);
        }
        List<VmOutcome> all = new ArrayList<>();
        for (DrainSchedule.Slot s : schedule.moves()) all.add(outcomes.get(s.move()));
        for (PlacementPlan.Unplaced u : plan.placement().unplaced()) {
            all.add(new VmOutcome(u.vm(), u.source().name(), null, VmOutcome.Status.NOT_PLACED, null, List.of(u.source().name()),
                    "NO_TARGET", "No target can take it: " + String.join(", ", u.codes()) + "."));
        }
        return new EvacuationResult(plan, all, cancelReason != null, Duration.between(begun, clock.instant()).toMillis());
    }

    /** Submits one move; returns its job id, or null when the facade refused it (recorded as a failed outcome). */
    private String start(PlannedMove m, EvacuationRequest r, long shareMiBps, Map<PlannedMove, VmOutcome> outcomes) {
        MoveRequest req = MoveRequest.live(m.vm(), m.source(), m.target()).withKind(m.live() ? JobKind.LIVE : JobKind.OFFLINE)
                .withPolicy(r.policy()).withLimits(m.live() ? shareMiBps : 0, m.live() ? r.maxDowntimeMs() : 0, r.timeout());
        req = new MoveRequest(req.vm(), req.from(), req.to(), req.kind(), req.policy(), req.bandwidthMiBps(), req.maxDowntimeMs(),
                req.timeout(), 0, false, null, null, r.accepted(), false, null, false, false, false, m.live() && r.measure(), false);
        Running slot = new Running(null, m.estimate().nonZeroBytes());
        String[] id = new String[1];
        JobHandle h;
        try {
            h = k.submit(req, e -> onEvent(m, id[0], slot, e));
        } catch (KvmigrateException e) {
            VmOutcome o = new VmOutcome(m.vm(), m.source().name(), m.target().name(), VmOutcome.Status.FAILED, null,
                    whereRunning.apply(m), e.code().name(), e.getMessage());
            outcomes.put(m, o);
            listener.on(new EvacuationEvent.MoveEnded(clock.instant(), m, o));
            return null;
        }
        id[0] = h.id();
        Running run = new Running(h.id(), slot.bytesLeft);
        run.capMiBps = m.live() ? shareMiBps : 0;
        running.put(m, run);
        listener.on(new EvacuationEvent.MoveStarted(clock.instant(), m, h.id(), shareMiBps));
        // cancelled between the check and the submit: this job is aborted like the others
        if (cancelReason != null) k.cancel(h.id());
        h.outcome().whenComplete((ok, err) -> ended.add(m));
        return h.id();
    }

    private int liveRunning() {
        synchronized (running) {
            return (int) running.keySet().stream().filter(PlannedMove::live).count();
        }
    }

    /**
     * Sets every running live move's cap to {@code total / n}: only those above it when {@code lowering} (before a move
     * starts), only those below it otherwise (after one ended). Returns the share.
     */
    private long divide(long total, int n, boolean lowering) {
        if (n <= 0) return total;
        long share = Math.max(1, total / n);
        Map<String, Long> caps = new LinkedHashMap<>();
        List<Map.Entry<PlannedMove, Running>> now;
        synchronized (running) {
            now = new ArrayList<>(running.entrySet());
        }
        for (Map.Entry<PlannedMove, Running> e : now) {
            if (!e.getKey().live()) continue;
            Running run = e.getValue();
            if (lowering ? run.capMiBps > share : run.capMiBps < share) {
                k.setBandwidth(run.jobId, share);
                run.capMiBps = share;
            }
            caps.put(e.getKey().vm(), run.capMiBps);
        }
        if (!lowering || !caps.isEmpty()) listener.on(new EvacuationEvent.Shares(clock.instant(), total, caps));
        return share;
    }

    private void onEvent(PlannedMove m, String jobId, Running early, MigrationEvent e) {
        Running r = running.get(m);
        if (e instanceof MigrationEvent.Progress p && p.stats().memoryTotal() > 0) {
            long left = Math.min(m.estimate().nonZeroBytes(), p.stats().memoryRemaining());
            (r != null ? r : early).bytesLeft = left;
        }
        listener.on(new EvacuationEvent.MoveEvent(e instanceof MigrationEvent.Progress p ? p.at() : clock.instant(), m,
                r != null ? r.jobId : jobId, e));
    }

    private VmOutcome outcomeOf(PlannedMove m, String jobId) {
        Job j = k.job(jobId).orElse(null);
        if (j == null) {
            return new VmOutcome(m.vm(), m.source().name(), m.target().name(), VmOutcome.Status.FAILED, jobId, List.of(), "INTERNAL",
                    "The job is not in the store.");
        }
        List<String> on = j.placement() == null || !j.placement().isKnown() ? whereRunning.apply(m) : j.placement().runningOn();
        if (!m.live() && j.placement() != null && on.isEmpty()) on = j.placement().definedOn();
        VmOutcome.Status s = j.state() == JobState.SUCCEEDED ? VmOutcome.Status.MOVED
                : j.state() == JobState.CANCELLED ? VmOutcome.Status.CANCELLED : VmOutcome.Status.FAILED;
        return new VmOutcome(m.vm(), m.source().name(), m.target().name(), s, jobId, on, j.error() == null ? null : j.error().code(),
                j.error() == null ? null : j.error().message());
    }

    private void total(int endedCount, int total, List<PlannedMove> queue, DrainSchedule schedule, Instant begun) {
        long left = 0;
        for (PlannedMove m : queue) left += m.estimate().nonZeroBytes();
        long longestRunning = 0;
        synchronized (running) {
            for (Map.Entry<PlannedMove, Running> e : running.entrySet()) {
                left += e.getValue().bytesLeft;
                longestRunning = Math.max(longestRunning, e.getKey().estimate().predictMs(Math.max(1, schedule.linkBps() / schedule.concurrency())));
            }
        }
        long eta = queue.isEmpty() ? longestRunning : longestRunning + DrainScheduler.simulate(queue, new DrainLimits(schedule.concurrency(),
                Integer.MAX_VALUE / 2, Integer.MAX_VALUE / 2), schedule.concurrency(), Math.max(1, schedule.linkBps() / schedule.concurrency()),
                schedule.linkBps(), schedule.shareBps() > 0).makespanMs();
        listener.on(new EvacuationEvent.Total(clock.instant(), endedCount, total, running.size(), left, eta));
    }
}
