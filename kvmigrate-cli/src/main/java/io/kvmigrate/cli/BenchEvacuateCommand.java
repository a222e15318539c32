package io.kvmigrate.cli;

import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.evacuate.DrainLimits;
import io.kvmigrate.core.evacuate.DrainSchedule;
import io.kvmigrate.core.evacuate.DrainScheduler;
import io.kvmigrate.core.evacuate.Evacuation;
import io.kvmigrate.core.evacuate.EvacuationPlan;
import io.kvmigrate.core.evacuate.EvacuationRequest;
import io.kvmigrate.core.evacuate.EvacuationResult;
import io.kvmigrate.core.evacuate.MoveEstimate;
import io.kvmigrate.core.evacuate.PlacementPlan;
import io.kvmigrate.core.evacuate.Placer;
import io.kvmigrate.core.evacuate.PlannedMove;
import io.kvmigrate.core.evacuate.TargetCapacity;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.plan.Calibration;
import io.kvmigrate.core.plan.GuestProfile;
import io.kvmigrate.core.plan.Planning;
import io.kvmigrate.core.plan.PolicyKind;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.InMemoryJobStore;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kvmigrate bench evacuate}: a simulated fleet (no lab, no root). Part one: the drain's makespan against the
 * bandwidth bound (all non-zero memory over the total bandwidth) for kvmigrate's schedule and naive ones (one at a time,
 * all at once, a fixed N in VMID order), each run on {@link FleetSimulation}'s time-stepped link, which is not the
 * scheduler's own model. Part two: the controller's heap while the facade places and drains the fleet on the fake
 * hypervisor (real placement, runner, jobs and store; migrations that complete by themselves).
 */
@Command(name = "evacuate", description = "Evacuation on a simulated fleet: makespan vs the bandwidth bound per schedule, and the controller's heap.")
final class BenchEvacuateCommand implements Callable<Integer> {
    static final long GIB = 1 << 30;
    @Spec CommandSpec spec;
    @Option(names = "--hosts", defaultValue = "200", description = "Hosts in the fleet (default ${DEFAULT-VALUE}).") int hosts;
    @Option(names = "--vms", defaultValue = "1000", description = "VMs in the fleet (default ${DEFAULT-VALUE}).") int vms;
    @Option(names = "--drained", defaultValue = "10", description = "Hosts drained at once; they carry 20 VMs each (default ${DEFAULT-VALUE}).") int drained;
    @Option(names = "--bandwidth", defaultValue = "1250", paramLabel = "MiB/s", description = "Total bandwidth of the drain (default ${DEFAULT-VALUE}).") long bandwidth;
    @Option(names = "--max-parallel", defaultValue = "50", description = "kvmigrate's limit in all (default ${DEFAULT-VALUE}).") int maxParallel;
    @Option(names = "--max-out-per-host", defaultValue = "5", description = "kvmigrate's limit out of a host (default ${DEFAULT-VALUE}).") int maxOut;
    @Option(names = "--max-in-per-host", defaultValue = "2", description = "kvmigrate's limit into a host (default ${DEFAULT-VALUE}).") int maxIn;
    @Option(names = "--fixed", defaultValue = "5", description = "N of the fixed-N naive schedule (KubeVirt's 5 per cluster) (default ${DEFAULT-VALUE}).") int fixed;
    @Option(names = "--seed", defaultValue = "14", description = "Seed of the fleet (default ${DEFAULT-VALUE}).") long seed;
    @Option(names = "--skip-heap", description = "Skip the heap measurement.") boolean skipHeap;
    @Option(names = "--sweep", defaultValue = "0", paramLabel = "K", description = "Also run kvmigrate's schedule at every concurrency 1..K.") int sweep;
    @Option(names = "--lab", description = "Drain a lab host of small test guests instead (root; three lab hosts; a few minutes).") boolean onLab;
    @Option(names = "--root", defaultValue = "/var/lib/kvmigrate-lab", description = "Lab directory, with --lab (default ${DEFAULT-VALUE}).") Path root;
    @Option(names = "--first-octet", defaultValue = "2", description = "First loopback octet of the lab, with --lab (default ${DEFAULT-VALUE}).") int firstOctet;
    @Option(names = "--prefix", defaultValue = "lab", description = "Lab host name prefix, with --lab (default ${DEFAULT-VALUE}).") String prefix;
    @Option(names = "--lab-bandwidth", defaultValue = "40", paramLabel = "MiB/s", description = "Total bandwidth of the lab drain (default ${DEFAULT-VALUE}).")
    long labBandwidth;
    @Option(names = "--lab-guests", defaultValue = "4", description = "Test guests drained on the lab (default ${DEFAULT-VALUE}).") int labGuests;
    @Option(names = "--lab-fixed", defaultValue = "2", description = "N of the fixed-N schedule on the lab (default ${DEFAULT-VALUE}).") int labFixed;
    private long nonZeroBytes;
    @Option(names = "--out", description = "Also write the table (Markdown) to this file.") Path outFile;

    /** One simulated VM: where it is, its size and how it behaves. */
    record SimVm(int host, int vmId, String name, long memoryBytes, long nonZeroBytes, long dirtyBps, int vcpus, boolean running) {
    }

    /** The fleet: drained hosts carry 20 VMs each, the others share the rest; sizes, non-zero share and dirty rates drawn from {@code seed}. */
    static List<SimVm> fleet(int hosts, int vms, int drained, long seed) {
        Random r = new Random(seed);
        List<SimVm> out = new ArrayList<>();
        int perDrained = 20;
        int[] count = new int[hosts];
        for (int v = 0; v < vms; v++) {
            int h = v < drained * perDrained ? v / perDrained : drained + (v % (hosts - drained));
            long mem = (1 + r.nextInt(16)) * GIB;
            long nonZero = Math.round(mem * (0.2 + 0.7 * r.nextDouble()));
            double kind = r.nextDouble();
            long dirty = kind < 0.6 ? r.nextInt(3) << 20 : kind < 0.9 ? (5 + r.nextInt(16)) << 20 : (30L + r.nextInt(51)) << 20;
            boolean running = !(v < drained * perDrained && v % 10 == 7);
            out.add(new SimVm(h, ++count[h], String.format(Locale.ROOT, "vm%04d", v), mem, nonZero, dirty, 1 + r.nextInt(4), running));
        }
        return out;
    }

    static String hostName(int i) {
        return String.format(Locale.ROOT, "h%03d", i);
    }

    static HostRef ref(int i) {
        return new HostRef(hostName(i), "qemu+tcp://" + hostName(i) + "/system");
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (onLab) {
            if (labGuests < 2 || labGuests > 8 || labFixed < 1 || labFixed > labGuests || labBandwidth < labGuests) {
                throw io.kvmigrate.core.api.KvmigrateException.invalidInput("--lab-guests must be 2..8, --lab-fixed 1..guests and --lab-bandwidth"
                        + " at least 1 MiB/s a guest.", "E.g. --lab-guests 4 --lab-fixed 2 --lab-bandwidth 40.");
            }
            String md = new LabDrain(root, firstOctet, prefix, labBandwidth, labGuests, labFixed, out).run();
            out.println();
            out.print(md);
            out.flush();
            if (outFile != null) Files.writeString(outFile, md);
            return 0;
        }
        List<SimVm> fleet = fleet(hosts, vms, drained, seed);
        Calibration cal = Calibration.lab();
        long downtime = Planning.DEFAULT_DOWNTIME_MS;
        // placement as kvmigrate does it, on the fleet's capacities (every target compatible: one CPU model, one network)
        List<Placer.Candidate> candidates = new ArrayList<>();
        long[] used = new long[hosts];
        int[] usedVcpus = new int[hosts];
        for (SimVm v : fleet) {
            if (v.host() >= drained && v.running()) {
                used[v.host()] += v.memoryBytes() >> 10;
                usedVcpus[v.host()] += v.vcpus();
            }
            if (v.host() >= drained) continue;
            VmSpec spec = new VmSpec(v.name(), "uuid-" + v.name(), "kvm", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", v.memoryBytes() >> 10,
                    v.vcpus(), null, List.of(), List.of(), List.of(), "<domain/>");
            MoveEstimate e = v.running() ? new MoveEstimate(new GuestProfile(v.memoryBytes(), v.nonZeroBytes(), v.dirtyBps(), false, 64), downtime, cal)
                    : MoveEstimate.offline(cal);
            candidates.add(new Placer.Candidate(v.vmId(), new VmInfo(spec, v.running() ? VmState.RUNNING : VmState.SHUTOFF, true), ref(v.host()), e));
        }
        long hostMemKiB = 128L << 20;
        List<TargetCapacity> targets = new ArrayList<>();
        for (int h = drained; h < hosts; h++) targets.add(new TargetCapacity(ref(h), 32, hostMemKiB, hostMemKiB - used[h], usedVcpus[h]));
        PlacementPlan placement = new Placer((c, t) -> List.of(), 1.0).place(candidates, targets);
        List<PlannedMove> moves = placement.moves();
        long link = bandwidth << 20;
        DrainLimits ours = new DrainLimits(maxParallel, maxOut, maxIn);
        DrainSchedule schedule = DrainScheduler.schedule(moves, ours, link, true);
        List<PlannedMove> vmidOrder = new ArrayList<>(moves);
        vmidOrder.sort(Comparator.comparing((PlannedMove m) -> m.source().name()).thenComparingInt(PlannedMove::vmId));
        long nonZero = moves.stream().mapToLong(m -> m.estimate().nonZeroBytes()).sum();
        long boundMs = Math.round(nonZero * 1000.0 / link);
        nonZeroBytes = nonZero;

        List<String[]> rows = new ArrayList<>();
        List<PlannedMove> ourOrder = schedule.moves().stream().map(DrainSchedule.Slot::move).toList();
        int k = schedule.concurrency();
        String ordered = ourOrder.equals(vmidOrder) ? "VMID order" : "its order";
        rows.add(row("kvmigrate (" + ordered + ", " + k + " at once, the total divided work-conserving; limits " + maxParallel + "/" + maxOut + "/"
                + maxIn + ")", FleetSimulation.run(ourOrder, ours, k, FleetSimulation.Sharing.WORK_CONSERVING, link, downtime, cal), boundMs,
                Output.seconds(schedule.makespanMs())));
        rows.add(row("kvmigrate's order and " + k + " at once, equal caps (the total / moves running, as before)", FleetSimulation.run(ourOrder, ours,
                k, FleetSimulation.Sharing.EQUAL_CAPS, link, downtime, cal), boundMs, ""));
        int n = moves.size();
        FleetSimulation.Sharing free = FleetSimulation.Sharing.UNCAPPED;
        rows.add(row("one at a time, VMID order", FleetSimulation.run(vmidOrder, new DrainLimits(1, 1, 1), 1, free, link, downtime, cal), boundMs, ""));
        rows.add(row("all at once (" + n + ")", FleetSimulation.run(vmidOrder, new DrainLimits(n, n, n), n, free, link, downtime, cal), boundMs, ""));
        for (int f : fixedNs()) {
            rows.add(row("fixed " + f + ", VMID order", FleetSimulation.run(vmidOrder, new DrainLimits(f, f, f), f, free, link, downtime, cal), boundMs, ""));
        }

        StringBuilder md = new StringBuilder();
        md.append(String.format(Locale.ROOT, "Fleet: %d hosts, %d VMs; %d hosts drained (%d VMs: %d live, %d shut off; %d placed, %d fit nowhere), %s of"
                + " non-zero memory, total bandwidth %d MiB/s: bandwidth bound %s. Seed %d.%n%n", hosts, vms, drained, candidates.size(),
                candidates.stream().filter(Placer.Candidate::live).count(), candidates.stream().filter(c -> !c.live()).count(), moves.size(),
                placement.unplaced().size(), Output.mib(nonZero), bandwidth, Output.seconds(boundMs), seed));
        md.append("| schedule | makespan | makespan / bound | sent / non-zero | moved | aborted (did not converge) | predicted |\n"
                + "| --- | --- | --- | --- | --- | --- | --- |\n");
        for (String[] r : rows) md.append("| ").append(String.join(" | ", r)).append(" |\n");
        if (sweep > 0) {
            md.append("\nkvmigrate's schedule at a forced concurrency k (longest first, the total divided work-conserving):"
                    + " predicted by the scheduler vs run on the simulated link.\n\n| k | predicted | simulated | aborted |\n| --- | --- | --- | --- |\n");
            for (int j = 1; j <= sweep; j++) {
                long share = link / j;
                List<PlannedMove> o = new ArrayList<>(moves);
                o.sort(Comparator.comparingLong((PlannedMove m) -> -m.estimate().work(share).aloneMs(share)).thenComparing(PlannedMove::key));
                DrainSchedule p = DrainScheduler.simulate(o, ours, j, share, link, true);
                FleetSimulation.Outcome sim = FleetSimulation.run(o, ours, j, FleetSimulation.Sharing.WORK_CONSERVING, link, downtime, cal);
                md.append(String.format(Locale.ROOT, "| %d%s | %s | %s | %d |%n", j, j == schedule.concurrency() ? " (chosen)" : "",
                        Output.seconds(p.makespanMs()), Output.seconds(sim.makespanMs()), sim.aborted()));
            }
        }
        if (!skipHeap) md.append('\n').append(heap(fleet)).append('\n');
        out.print(md);
        out.flush();
        if (outFile != null) Files.writeString(outFile, md.toString());
        return 0;
    }

    /** The fixed-N naive schedules: N = {@code --fixed}, and {@code --max-parallel}, and a few between. */
    private List<Integer> fixedNs() {
        java.util.TreeSet<Integer> ns = new java.util.TreeSet<>(List.of(fixed, maxParallel));
        for (int f : new int[] {3, 8, 12}) if (f < maxParallel) ns.add(f);
        return List.copyOf(ns);
    }

    private String[] row(String name, FleetSimulation.Outcome o, long boundMs, String predicted) {
        return new String[] {name, Output.seconds(o.makespanMs()), String.format(Locale.ROOT, "%.2f", (double) o.makespanMs() / Math.max(1, boundMs)),
                String.format(Locale.ROOT, "%.2f", (double) o.sentBytes() / Math.max(1, nonZeroBytes)),
                Integer.toString(o.moved()), Integer.toString(o.aborted()), predicted.isEmpty() ? "-" : predicted};
    }

    /** The controller's heap while the facade plans and drains the fleet on the fake hypervisor (fake and store in the same heap). */
    private String heap(List<SimVm> fleet) throws Exception {
        MemoryMXBean mx = ManagementFactory.getMemoryMXBean();
        long baseline = retained(mx);
        FakeHypervisor hv = new FakeHypervisor();
        for (int h = 0; h < hosts; h++) hv.addHost(hostName(h)).withCapacity(32, h < drained ? 1L << 32 : 128L << 20);
        for (SimVm v : fleet) {
            VmSpec spec = new VmSpec(v.name(), "uuid-" + v.name(), "kvm", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", v.memoryBytes() >> 10,
                    v.vcpus(), null, List.of(), List.of(), List.of(), "<domain><name>" + v.name() + "</name></domain>");
            ((FakeHypervisor.FakeHost) hv.open(ref(v.host()))).put(spec, v.running() ? VmState.RUNNING : VmState.SHUTOFF, true);
        }
        hv.completeMigrationsAfter(vm -> Duration.ofMillis(20));
        long withFleet = retained(mx);
        AtomicLong peak = new AtomicLong();
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                peak.accumulateAndGet(mx.getHeapMemoryUsage().getUsed(), Math::max);
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        sampler.setDaemon(true);
        long planned;
        long drainedHeap;
        EvacuationResult result;
        long t0 = System.nanoTime();
        try (Kvmigrate k = Kvmigrate.configure().connector(hv).rewriter((xml, disks, nets) -> xml).store(new InMemoryJobStore())
                .owner("bench:1:evac").pollInterval(Duration.ofMillis(20)).load()) {
            List<HostRef> sources = new ArrayList<>();
            List<HostRef> targets = new ArrayList<>();
            for (int h = 0; h < hosts; h++) (h < drained ? sources : targets).add(ref(h));
            sampler.start();
            Evacuation e = k.evacuation(new EvacuationRequest(sources, targets, new DrainLimits(maxParallel, maxOut, maxIn), bandwidth, PolicyKind.SAFE,
                    0, null, 1.0, null, false));
            EvacuationPlan plan = e.plan();
            planned = retained(mx);
            result = e.run(plan, null);
            drainedHeap = retained(mx);
        } finally {
            sampler.interrupt();
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        return String.format(Locale.ROOT, "Controller heap, %d hosts / %d VMs, drained through the facade on the fake hypervisor (%d moves, %d moved, up to"
                + " %d at once; %s): JVM baseline %s; with the fleet (the fake hosts) %s; after placing and ordering %s; peak %s during the drain"
                + " (sampled every 10 ms, garbage included; max heap %s); after the drain %s (the in-memory job store holds every job and event)."
                + " Retained sizes after a full GC.", hosts, fleet.size(), result.outcomes().size(), result.moved(), hv.migrationPeaks().total(),
                Output.seconds(ms), mib(baseline), mib(withFleet), mib(planned), mib(peak.get()), mib(Runtime.getRuntime().maxMemory()), mib(drainedHeap));
    }

    private static long retained(MemoryMXBean mx) throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
        }
        return mx.getHeapMemoryUsage().getUsed();
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.0f MiB", bytes / 1048576.0);
    }
}
