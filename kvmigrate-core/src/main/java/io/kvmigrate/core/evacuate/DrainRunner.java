package io.kvmigrate.core.evacuate;

import io.kvmigrate.core.api.JobHandle;
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
 * Runs a drain's schedule: each move is a job submitted through the facade ({@link DrainMoves}), started in the
 * schedule's order as soon as {@link DrainSlots} lets it (so the limits hold at every instant: a slot is freed only once
 * its job's end is in the store). A total bandwidth is divided among the live moves running, work-conserving
 * ({@link LinkShares}, {@link BandwidthSplit}): a move that cannot use its part (its job still checks, its migration starts
 * or walks zero pages, its transfer ended) leaves it to the others, and the total is re-divided whenever a move starts,
 * ends or changes phase, lowered caps applied before raised ones so they never add up to more than the total. A move
 * starts at the share the schedule planned it at (its plan and policy see that) and is lowered to what it uses at once. A
 * move that fails does not stop the others. {@link #cancel} stops the drain cleanly: queued moves never start, running ones
 * are aborted through the facade's cancel, and the runner waits for their jobs to end (each leaves its VM on exactly one
 * host). A move cancelled from elsewhere ({@code jobs cancel} of its job, from any process) cancels the drain too.
 *
 * <p>One thread (the caller's) dispatches and alone sets caps; the jobs run on their own threads and report their events
 * and end through a queue.
 */
public final class DrainRunner {
    /** Wakes the dispatcher to re-divide the total. */
    private static final Object RESPLIT = new Object();
    private final DrainMoves k;
    private final Clock clock;
    private final EvacuationEvent.Listener listener;
    private final BlockingQueue<Object> signals = new LinkedBlockingQueue<>();
    private final Map<PlannedMove, Running> running = java.util.Collections.synchronizedMap(new IdentityHashMap<>());
    private final java.util.function.Function<PlannedMove, List<String>> whereRunning;
    private final DrainJob job;
    /** Moves started in this round of the dispatcher, for the drain's record. */
    private record Started(PlannedMove move, String jobId) {
    }

    private final List<Started> startedHere = new ArrayList<>();
    private volatile LinkShares link;
    private volatile String cancelReason;

    /** A move in flight: its job and the memory it has left to send (as its last statistics said). */
    private static final class Running {
        final String jobId;
        volatile long bytesLeft;

        Running(String jobId, long bytesLeft) {
            this.jobId = jobId;
            this.bytesLeft = bytesLeft;
        }
    }

    /**
     * @param whereRunning reads where a VM runs now, for a job that ended without recording it (a move refused before the
     *        engine looked)
     */
    public DrainRunner(DrainMoves k, Clock clock, EvacuationEvent.Listener listener, java.util.function.Function<PlannedMove, List<String>> whereRunning) {
        this(k, clock, listener, whereRunning, null);
    }

    /** @param job the drain's own job in the store, or null: its moves become its children, its cancel cancels the drain */
    DrainRunner(DrainMoves k, Clock clock, EvacuationEvent.Listener listener, java.util.function.Function<PlannedMove, List<String>> whereRunning,
            DrainJob job) {
        this.job = job;
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
        signals.add(RESPLIT);
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
        long plannedShare = Math.max(BandwidthSplit.FLOOR_MIBPS, Math.min(totalMiBps, schedule.shareBps() >> 20));
        link = totalMiBps > 0 ? new LinkShares(totalMiBps) : null;
        int total = queue.size();
        boolean resplit = false;
        if (job != null) listener.on(new EvacuationEvent.DrainRecorded(begun, job.id()));
        Instant beat = begun;
        while (!queue.isEmpty() || !running.isEmpty()) {
            if (job != null && !clock.instant().isBefore(beat.plusSeconds(1))) {
                beat = clock.instant();
                // a cancel of the drain's job from anywhere (jobs cancel, the API) stops it like Ctrl-C
                boolean asked;
                try {
                    asked = job.heartbeatAndCancelAsked();
                } catch (KvmigrateException e) {
                    asked = false; // the store did not answer this time: tried again in a second; the moves keep their own jobs
                }
                if (asked && cancelReason == null) cancel("job " + job.id() + " (the drain) was cancelled");
            }
            if (cancelReason != null) {
                for (PlannedMove m : queue) {
                    VmOutcome o = new VmOutcome(m.vm(), m.source().name(), m.target().name(), VmOutcome.Status.CANCELLED, null,
                            List.of(m.source().name()), "CANCELLED", "The drain was cancelled before this move started: " + cancelReason + ".");
                    outcomes.put(m, o);
                    if (job != null) job.ended(o);
                }
                queue.clear();
            }
            boolean changed = false;
            for (var it = queue.iterator(); it.hasNext() && cancelReason == null; ) {
                PlannedMove m = it.next();
                if (!slots.canStart(m.source().name(), m.target().name())) continue;
                it.remove();
                changed = true;
                long share = m.live() && link != null ? plannedShare : 0;
                // the others are lowered first so the new move's planned share fits beside them
                if (share > 0) link.reserve(share, this::setCap);
                if (start(m, r, share, outcomes) != null) slots.start(m.source().name(), m.target().name());
                resplit |= share > 0;
            }
            // the drain's record of the moves just started, once they all are (a store write each)
            if (job != null) {
                for (Started s : startedHere) job.started(s.move(), s.jobId());
                startedHere.clear();
            }
            if (changed) total(outcomes.size(), total, queue, schedule, begun);
            if (link != null && link.expire(clock.instant())) resplit = true;
            if (resplit && link != null) {
                if (link.resplit(this::setCap)) listener.on(new EvacuationEvent.Shares(clock.instant(), totalMiBps, link.caps()));
                resplit = false;
            }
            if (running.isEmpty()) continue;
            Object signal;
            try {
                signal = signals.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                cancel("interrupted");
                continue;
            }
            if (signal == RESPLIT) {
                resplit = true;
                continue;
            }
            if (!(signal instanceof PlannedMove done)) continue;
            Running was = running.remove(done);
            slots.finish(done.source().name(), done.target().name());
            if (link != null && done.live()) {
                link.ended(was.jobId);
                resplit = true;
            }
            VmOutcome o = outcomeOf(done, was.jobId);
            outcomes.put(done, o);
            if (job != null) job.ended(o);
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
        EvacuationResult result = new EvacuationResult(plan, all, cancelReason != null, Duration.between(begun, clock.instant()).toMillis(),
                job == null ? null : job.id());
        if (job != null) job.finish(result);
        return result;
    }

    private void setCap(String jobId, long mibPerSecond) {
        try {
            k.setBandwidth(jobId, mibPerSecond);
        } catch (KvmigrateException e) {
            // the job ended meanwhile: it sends nothing any more
        }
    }

    /** Submits one move; returns its job id, or null when the facade refused it (recorded as a failed outcome). */
    private String start(PlannedMove m, EvacuationRequest r, long shareMiBps, Map<PlannedMove, VmOutcome> outcomes) {
        // the drain's plan measured the guests already (when asked): a move does not measure again, which would cost it
        // a second of its slot
        MoveRequest req = MoveRequest.live(m.vm(), m.source(), m.target()).withKind(m.live() ? JobKind.LIVE : JobKind.OFFLINE)
                .withPolicy(r.policy()).withLimits(m.live() ? shareMiBps : 0, m.live() ? r.maxDowntimeMs() : 0, r.timeout());
        req = new MoveRequest(req.vm(), req.from(), req.to(), req.kind(), req.policy(), req.bandwidthMiBps(), req.maxDowntimeMs(),
                req.timeout(), 0, false, null, null, r.accepted(), false, null, false, false, false, false, false);
        Running slot = new Running(null, m.estimate().nonZeroBytes());
        String[] id = new String[1];
        java.util.List<MigrationEvent> early = java.util.Collections.synchronizedList(new ArrayList<>());
        JobHandle h;
        try {
            h = k.submit(req, e -> onEvent(m, id, slot, early, e));
        } catch (KvmigrateException e) {
            VmOutcome o = new VmOutcome(m.vm(), m.source().name(), m.target().name(), VmOutcome.Status.FAILED, null,
                    whereRunning.apply(m), e.code().name(), e.getMessage());
            outcomes.put(m, o);
            if (job != null) job.ended(o);
            listener.on(new EvacuationEvent.MoveEnded(clock.instant(), m, o));
            return null;
        }
        if (job != null) startedHere.add(new Started(m, h.id()));
        Running run = new Running(h.id(), slot.bytesLeft);
        running.put(m, run);
        if (shareMiBps > 0) link.started(h.id(), m.vm(), m.estimate().dirtyBps(), shareMiBps);
        synchronized (early) {
            id[0] = h.id();
            // what the job reported before its id was known here counts for its share too
            for (MigrationEvent e : early) if (link != null) link.observe(h.id(), e);
        }
        listener.on(new EvacuationEvent.MoveStarted(clock.instant(), m, h.id(), shareMiBps));
        // cancelled between the check and the submit: this job is aborted like the others
        if (cancelReason != null) k.cancel(h.id());
        h.outcome().whenComplete((ok, err) -> signals.add(m));
        return h.id();
    }

    private void onEvent(PlannedMove m, String[] id, Running early, List<MigrationEvent> before, MigrationEvent e) {
        Running r = running.get(m);
        if (e instanceof MigrationEvent.Progress p && p.stats().memoryTotal() > 0) {
            long left = Math.min(m.estimate().nonZeroBytes(), p.stats().memoryRemaining());
            (r != null ? r : early).bytesLeft = left;
        }
        String jobId;
        synchronized (before) {
            jobId = id[0];
            if (jobId == null) before.add(e);
        }
        LinkShares l = link;
        if (jobId != null && l != null && l.observe(jobId, e)) signals.add(RESPLIT);
        listener.on(new EvacuationEvent.MoveEvent(e instanceof MigrationEvent.Progress p ? p.at() : clock.instant(), m, jobId, e));
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
