package io.kvmigrate.cli;

import io.kvmigrate.core.api.JobHandle;
import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.api.MoveRequest;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.evacuate.DrainLimits;
import io.kvmigrate.core.evacuate.DrainSchedule;
import io.kvmigrate.core.evacuate.Evacuation;
import io.kvmigrate.core.evacuate.EvacuationPlan;
import io.kvmigrate.core.evacuate.EvacuationRequest;
import io.kvmigrate.core.evacuate.EvacuationResult;
import io.kvmigrate.core.evacuate.PlannedMove;
import io.kvmigrate.core.evacuate.VmOutcome;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.plan.PolicyKind;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.Lab;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.Poll;
import io.kvmigrate.lab.guest.TestGuest;
import io.kvmigrate.libvirt.DomainXmlRewriter;
import io.kvmigrate.libvirt.LibvirtConnector;
import io.kvmigrate.store.JobStores;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;

/**
 * {@code bench evacuate --lab}: drains lab host 1 of a few small test guests (half of them busy) onto hosts 2 and 3 under
 * a total bandwidth, once per schedule: kvmigrate's (its plan: placement, order, concurrency, the work-conserving split of
 * the total) and the naive ones on the same placement in VMID order, each move capped at the total divided by the moves
 * the schedule runs at once (one at a time; all at once; a fixed N), as a naive tool keeps under a total. Every move is a
 * job through the facade (same checks, plan and policy); the guests are booted afresh before each schedule. Prints the
 * makespan (first move started to last ended) against the bound: the guests' non-zero memory over the total.
 */
final class LabDrain {
    static final String PREFIX = "bench-evac-";
    private final Lab lab;
    private final PrintWriter out;
    private final long totalMiBps;
    private final int guests;
    private final int fixed;
    private final Kvmigrate k;
    private final LibvirtConnector connector = new LibvirtConnector();

    LabDrain(Path root, int firstOctet, String prefix, long totalMiBps, int guests, int fixed, PrintWriter out) {
        System.setProperty("kvmigrate.config.dir", root.resolve("config").toString());
        this.lab = new Lab(new Lab.Config(root, firstOctet, 3, prefix), connector, HostRegistry.fromEnvironment());
        this.out = out;
        this.totalMiBps = totalMiBps;
        this.guests = guests;
        this.fixed = fixed;
        String db = "jdbc:sqlite:" + root.resolve("bench-evacuate-jobs.db");
        this.k = Kvmigrate.configure().connector(connector).rewriter(new DomainXmlRewriter()).store(() -> JobStores.open(db)).load();
    }

    /** One schedule's drain. */
    record Row(String schedule, long makespanMs, int moved, int leftBehind, long sentBytes, String note) {
    }

    /** Half the guests rewrite their span slowly, half fast (about 6 MB/s each, the demo guest's rate). */
    private TestGuest.Params guest(int i) {
        return TestGuest.Params.defaults().withSpanMiB(48).withDelay(i % 2 == 0 ? 1_000_000 : 40_000_000);
    }

    String run() {
        lab.up(line -> out.println("lab: " + line));
        out.flush();
        List<Row> rows = new ArrayList<>();
        long boundMs = 0;
        String fleet = "";
        try {
            boot();
            Evacuation e = k.evacuation(request());
            long t0 = System.nanoTime();
            EvacuationPlan plan = e.plan();
            long planMs = (System.nanoTime() - t0) / 1_000_000;
            long nonZero = plan.placement().moves().stream().mapToLong(m -> m.estimate().nonZeroBytes()).sum();
            boundMs = Math.round(nonZero * 1000.0 / (totalMiBps << 20));
            DrainSchedule s = plan.schedule();
            fleet = String.format(Locale.ROOT, "Lab: %d test guests on %s (48 MiB span each, %d busy), drained to %s and %s; %s of non-zero memory "
                    + "(sampled), total %d MiB/s: bound %s. kvmigrate planned in %s (guests measured: --measure), predicted %s at %d at once.",
                    guests, host(0), (guests + 1) / 2, host(1), host(2), Output.mib(nonZero), totalMiBps, Output.seconds(boundMs), Output.seconds(planMs),
                    Output.seconds(s.makespanMs()), s.concurrency());
            out.println(fleet);
            out.flush();
            EvacuationResult r = e.run(plan, null);
            rows.add(new Row("kvmigrate (" + s.concurrency() + " at once, work-conserving split)", r.elapsedMs(), (int) r.moved(), r.leftBehind().size(),
                    sent(r.outcomes().stream().map(VmOutcome::jobId).toList()), ""));
            report(rows.get(rows.size() - 1), boundMs);
            List<PlannedMove> vmid = new ArrayList<>(plan.placement().moves());
            vmid.sort(Comparator.comparingInt(PlannedMove::vmId));
            for (int n : new int[] {1, guests, fixed}) {
                if (n == fixed && (fixed == 1 || fixed == guests)) continue;
                boot();
                String name = n == 1 ? "one at a time" : n == guests ? "all at once (" + n + ")" : "fixed " + n;
                rows.add(naive(name + ", VMID order, " + totalMiBps / n + " MiB/s each", vmid, n));
                report(rows.get(rows.size() - 1), boundMs);
            }
        } finally {
            for (int i = 1; i <= guests; i++) remove(PREFIX + i);
            k.close();
            lab.down(line -> out.println("lab: " + line));
        }
        StringBuilder md = new StringBuilder(fleet).append("\n\n| schedule | makespan | makespan / bound | sent | moved | left behind |\n"
                + "| --- | --- | --- | --- | --- | --- |\n");
        for (Row r : rows) {
            md.append(String.format(Locale.ROOT, "| %s | %s | %.1f | %s | %d | %d |%n", r.schedule(), Output.seconds(r.makespanMs()),
                    (double) r.makespanMs() / Math.max(1, boundMs), Output.mib(r.sentBytes()), r.moved(), r.leftBehind()));
        }
        return md.toString();
    }

    private void report(Row r, long boundMs) {
        out.printf(Locale.ROOT, "%s: %s (%.1fx the bound), %d moved, %d left behind%n", r.schedule(), Output.seconds(r.makespanMs()),
                (double) r.makespanMs() / Math.max(1, boundMs), r.moved(), r.leftBehind());
        out.flush();
    }

    private EvacuationRequest request() {
        return new EvacuationRequest(List.of(lab.hosts().get(0).ref()), List.of(lab.hosts().get(1).ref(), lab.hosts().get(2).ref()),
                new DrainLimits(guests, guests, guests), totalMiBps, PolicyKind.SAFE, 0, Duration.ofSeconds(120), 4.0, null, true);
    }

    /** The moves in {@code order}, {@code n} at once, each capped at the total / n: how a naive drain keeps under a total. */
    private Row naive(String name, List<PlannedMove> order, int n) {
        List<PlannedMove> queue = new ArrayList<>(order);
        List<JobHandle> running = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        long t0 = System.nanoTime();
        while (!queue.isEmpty() || !running.isEmpty()) {
            while (running.size() < n && !queue.isEmpty()) {
                PlannedMove m = queue.remove(0);
                JobHandle h = k.submit(MoveRequest.live(m.vm(), m.source(), m.target()).withPolicy(PolicyKind.SAFE)
                        .withLimits(totalMiBps / n, 0, Duration.ofSeconds(120)), null);
                running.add(h);
                ids.add(h.id());
            }
            CompletableFuture.anyOf(running.stream().map(JobHandle::outcome).toArray(CompletableFuture[]::new)).handle((a, b) -> null).join();
            running.removeIf(h -> h.outcome().isDone());
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        int moved = 0;
        for (String id : ids) moved += k.job(id).map(j -> j.state() == io.kvmigrate.core.job.JobState.SUCCEEDED ? 1 : 0).orElse(0);
        return new Row(name, ms, moved, order.size() - moved, sent(ids), "");
    }

    private long sent(List<String> jobIds) {
        long sum = 0;
        for (String id : jobIds) {
            if (id == null) continue;
            Long b = k.job(id).map(Job::figures).map(f -> f.bytesSent()).orElse(null);
            if (b != null) sum += b;
        }
        return sum;
    }

    private String host(int i) {
        return lab.hosts().get(i).name();
    }

    /** Every guest removed from every host, then booted afresh on host 1; waits until each has written its span. */
    private void boot() {
        for (int i = 1; i <= guests; i++) remove(PREFIX + i);
        try (HostSession s = connector.open(lab.hosts().get(0).ref())) {
            for (int i = 1; i <= guests; i++) {
                String name = PREFIX + i;
                LabVm.create(s, LabVm.definition(name, lab.sharedDir(), guest(i), lab.kvmAvailable()));
                s.startVm(name);
            }
            // the counter reaches 1 once the span has been written whole: from then on its non-zero memory is the span (the
            // quiet guests' second pass takes minutes, so LabVm.awaitRunning's pass 2 is not waited for)
            for (int i = 1; i <= guests; i++) {
                String name = PREFIX + i;
                if (!Poll.until(Duration.ofSeconds(120), Duration.ofMillis(200), () -> LabVm.passCounter(s, name).orElse(0) >= 1)) {
                    throw new io.kvmigrate.core.api.KvmigrateException(io.kvmigrate.core.api.ErrorCode.LAB_FAILED, "lab", host(0), name,
                            "The test guest did not write its span within 120 s.", "Check its serial log in " + lab.sharedDir() + ".");
                }
            }
        }
    }

    private void remove(String name) {
        for (Lab.LabHost h : lab.hosts()) {
            try (HostSession s = connector.open(h.ref())) {
                if (s.jobInProgress(name)) {
                    s.activeMigration(name).ifPresent(io.kvmigrate.core.spi.MigrationHandle::abort);
                    Poll.until(Duration.ofSeconds(60), Duration.ofMillis(200), () -> !s.jobInProgress(name));
                }
                s.findVm(name).ifPresent(v -> {
                    if (v.state().isActive()) s.destroyVm(name);
                    if (s.findVm(name).map(VmInfo::persistent).orElse(false)) s.undefineVm(name);
                });
            }
        }
    }
}
