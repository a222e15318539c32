package io.kvmigrate.core.evacuate;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.engine.ExecutorScheduler;
import io.kvmigrate.core.engine.Placement;
import io.kvmigrate.core.model.HostFacts;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.plan.Calibration;
import io.kvmigrate.core.plan.GuestProbe;
import io.kvmigrate.core.plan.GuestProfile;
import io.kvmigrate.core.plan.Planning;
import io.kvmigrate.core.preflight.Finding;
import io.kvmigrate.core.preflight.Mode;
import io.kvmigrate.core.preflight.Preflight;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.HypervisorConnector;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One drain, as the facade hands it out ({@link Kvmigrate#evacuation}): {@link #plan()} gathers the drained hosts' VMs
 * and the targets' room, checks and places every VM and orders the moves, changing nothing (a dry run is just this);
 * {@link #run} runs a plan's moves as jobs; {@link #cancel} stops it cleanly from any thread.
 */
public final class Evacuation {
    private final Kvmigrate k;
    private final HypervisorConnector connector;
    private final Clock clock;
    private final EvacuationRequest request;
    private final Set<String> maintenance;
    private final io.kvmigrate.core.job.JobStore store;
    private final String owner;
    private final Calibration calibration = Calibration.lab();
    private volatile DrainRunner runner;
    private volatile String cancelledEarly;

    /**
     * Made by the facade; {@code maintenance} names the hosts (names or URIs) that are never targets; {@code store} and
     * {@code owner} record the drain as a job of its own (null: not recorded).
     */
    public Evacuation(Kvmigrate k, HypervisorConnector connector, Clock clock, EvacuationRequest request, Set<String> maintenance,
            io.kvmigrate.core.job.JobStore store, String owner) {
        this.store = store;
        this.owner = owner;
        this.k = k;
        this.connector = connector;
        this.clock = clock;
        this.request = request.validate();
        this.maintenance = Set.copyOf(maintenance);
    }

    public EvacuationRequest request() {
        return request;
    }

    /** Places every VM of the drained hosts and orders the moves; nothing changes on any host. */
    public EvacuationPlan plan() {
        Map<String, String> excluded = new LinkedHashMap<>();
        Map<String, HostSession> sessions = new LinkedHashMap<>();
        try (ExecutorScheduler scheduler = new ExecutorScheduler()) {
            List<Placer.Candidate> candidates = new ArrayList<>();
            for (HostRef s : request.sources()) {
                HostSession session = connector.open(s);
                sessions.put(s.name(), session);
                List<VmInfo> vms = session.listVms();
                for (int i = 0; i < vms.size(); i++) {
                    VmInfo v = vms.get(i);
                    candidates.add(new Placer.Candidate(i + 1, v, s, estimate(session, v, scheduler)));
                }
            }
            List<TargetCapacity> targets = new ArrayList<>();
            for (HostRef t : request.targets()) {
                if (maintenance.contains(t.name()) || maintenance.contains(t.uri())) {
                    excluded.put(t.name(), "in maintenance");
                    continue;
                }
                try {
                    HostSession session = connector.open(t);
                    sessions.put(t.name(), session);
                    HostFacts f = session.facts();
                    int used = session.listVms().stream().filter(v -> v.state().isActive()).mapToInt(v -> v.spec().vcpus()).sum();
                    targets.add(new TargetCapacity(t, f.cpus(), f.memoryKiB(), f.freeMemoryKiB(), used));
                } catch (KvmigrateException e) {
                    excluded.put(t.name(), "unreachable: " + e.getMessage());
                }
            }
            if (targets.isEmpty()) {
                throw new KvmigrateException(ErrorCode.INVALID_INPUT, "place", request.sources().get(0).name(), null,
                        "No target host is available" + (excluded.isEmpty() ? "." : ": " + excluded + "."),
                        "Name reachable targets that are not in maintenance in {to}.");
            }
            Placer placer = new Placer((c, target) -> blocking(c, sessions.get(c.source().name()), sessions.get(target.name())), request.vcpuRatio());
            PlacementPlan placement = placer.place(candidates, targets);
            boolean capped = request.bandwidthMiBps() > 0;
            long link = (capped ? request.bandwidthMiBps() : Planning.ASSUMED_LINK_MIBPS) << 20;
            DrainSchedule schedule = DrainScheduler.schedule(placement.moves(), request.limits(), link, capped);
            return new EvacuationPlan(request, excluded, placement, schedule);
        } finally {
            for (HostSession s : sessions.values()) {
                try {
                    s.close();
                } catch (RuntimeException e) {
                    // closing a connection that failed: nothing left to release
                }
            }
        }
    }

    /** Runs the plan's moves (see {@link DrainRunner}); returns when every job has ended. */
    public EvacuationResult run(EvacuationPlan plan, EvacuationEvent.Listener listener) {
        DrainJob job = store == null ? null : DrainJob.begin(store, owner, clock, plan);
        DrainRunner r = new DrainRunner(DrainMoves.of(k), clock, listener, this::whereRunning, job);
        runner = r;
        if (cancelledEarly != null) r.cancel(cancelledEarly);
        return r.run(plan);
    }

    /** Stops the drain: queued moves never start, running ones are aborted cleanly. */
    public void cancel(String reason) {
        DrainRunner r = runner;
        if (r == null) cancelledEarly = reason == null ? "cancelled" : reason;
        else r.cancel(reason);
    }

    /** Where a VM runs (or, shut off, is defined) now, as its source and target say; empty when neither could be asked. */
    private List<String> whereRunning(PlannedMove m) {
        try (HostSession s = connector.open(m.source()); HostSession t = connector.open(m.target())) {
            Placement p = Placement.of(m.vm(), List.of(s, t));
            return m.live() ? p.runningOn() : p.persistentOn();
        } catch (KvmigrateException e) {
            return List.of();
        }
    }

    private MoveEstimate estimate(HostSession source, VmInfo v, ExecutorScheduler scheduler) {
        if (!v.state().isActive()) return MoveEstimate.offline(calibration);
        GuestProfile g;
        try {
            GuestProfile.Rate decision = request.measure() ? GuestProfile.Rate.MEASURED : GuestProfile.Rate.SKIPPED_SHORT;
            g = new GuestProbe(clock, scheduler, 64, Planning.DIRTY_RATE_SECONDS).measure(source, v.name(), nz -> decision).join();
        } catch (RuntimeException e) {
            // no sample (the guest stopped, the adapter cannot read memory): count all its memory, the safe side
            long bytes = v.spec().memoryKiB() * 1024;
            g = new GuestProfile(bytes, bytes, 0, false, 0, GuestProfile.Rate.SKIPPED_SHORT);
        }
        return new MoveEstimate(g, Planning.initialDowntime(request.maxDowntimeMs()), calibration);
    }

    /** The VM's preflight against one target, as {@code check} runs it (offline checks for a shut-off VM). */
    private List<Finding> blocking(Placer.Candidate c, HostSession source, HostSession target) {
        try {
            Preflight p = c.live() ? Preflight.standard() : Preflight.forOfflineMove();
            return p.run(source, target, c.vm(), c.live() ? Mode.LIVE : Mode.OFFLINE).blocking(request.accepted());
        } catch (KvmigrateException e) {
            return List.of(Finding.fail("CHECK_FAILED", "PREFLIGHT", null, target.host().name(), "Tried to check the VM against this target "
                    + "but failed because: " + e.getMessage(), e.hint()));
        }
    }
}
