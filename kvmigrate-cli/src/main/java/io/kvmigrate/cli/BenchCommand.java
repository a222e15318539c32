package io.kvmigrate.cli;

import io.kvmigrate.core.plan.Planning;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmigrate.core.api.JobHandle;
import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.api.MoveRequest;
import io.kvmigrate.core.engine.MigrationEvent;
import io.kvmigrate.core.job.JobKind;
import io.kvmigrate.core.plan.PolicyKind;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.engine.ExecutorScheduler;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.plan.GuestProbe;
import io.kvmigrate.core.plan.GuestProfile;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.Lab;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.Poll;
import io.kvmigrate.lab.guest.TestGuest;
import io.kvmigrate.libvirt.LibvirtConnector;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kvmigrate bench live}: on two lab hosts, one test guest and one bandwidth cap at a time, migrates the same
 * guests with plain {@code virsh migrate --live} and with kvmigrate, and prints one table.
 *
 * <p>Guest dirty rates are set by the test guest's delay loop and calibrated by measurement: the delay-0 guest's
 * rate gives the cost of one page write, a first delayed guest the cost of one delay turn, and every scenario's rate
 * is measured again (libvirt's dirty-bitmap measurement) and printed as it was, not as it was aimed at.
 */
@Command(name = "bench", description = "Benchmarks on lab hosts (root), and evacuation on a simulated fleet.", subcommands = {BenchCommand.Live.class, BenchCopyCommand.Copy.class,
        BenchEvacuateCommand.class, BenchServeCommand.Serve.class})
final class BenchCommand {

    /** One row of the table. */
    record Row(String scenario, long capMiBps, String dirty, String tool, boolean completed, long totalMs, long wallMs, long downtimeMs, long sentBytes,
            String predicted, String error, long floorMs, String note) {
    }

    @Command(name = "live", description = "Live migration: kvmigrate vs plain virsh on idle, 0.3x, 0.7x, >=1.5x and incompressible guests.")
    static final class Live implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Option(names = "--root", defaultValue = "/var/lib/kvmigrate-lab", description = "Lab directory (default ${DEFAULT-VALUE}).") Path root;
        @Option(names = "--first-octet", defaultValue = "2", description = "First loopback octet of the lab (default ${DEFAULT-VALUE}).") int firstOctet;
        @Option(names = "--prefix", defaultValue = "lab", description = "Lab host name prefix (default ${DEFAULT-VALUE}).") String prefix;
        @Option(names = "--cap", defaultValue = "64", description = "Link cap in MiB/s (default ${DEFAULT-VALUE}).") long cap;
        @Option(names = "--span", defaultValue = "256", description = "Dirtied span of the dirty guests in MiB (default ${DEFAULT-VALUE}).") int span;
        @Option(names = "--max-downtime", defaultValue = "500", description = "kvmigrate's --max-downtime, ms (default ${DEFAULT-VALUE}).") long maxDowntime;
        @Option(names = "--random-delay", defaultValue = "600000", description = "Delay of the incompressible guest: it rewrites whole pages,"
                + " so it needs a longer delay to stay well under the cap (default ${DEFAULT-VALUE}).") int randomDelay;
        @Option(names = "--delay-03", defaultValue = "1500000", description = "Delay of the 0.3x guest: about 9 MiB/s here, so the cap"
                + " (rate / 0.3) makes its span a pass of ~8 s (default ${DEFAULT-VALUE}).") int delay03;
        @Option(names = "--delay-07", defaultValue = "430000", description = "Delay of the 0.7x guest: about 30 MiB/s here, so the cap"
                + " (rate / 0.7) makes its span a pass of ~6 s, and virsh takes ~17 s (default ${DEFAULT-VALUE}).") int delay07;
        @Option(names = "--random-span", defaultValue = "576", description = "Span of the incompressible guest in MiB: a pass of ~9 s at"
                + " the default cap (default ${DEFAULT-VALUE}).") int randomSpan;
        @Option(names = "--idle-fill", defaultValue = "768", description = "MiB the idle 1 GiB guest writes once at boot, as a booted system's"
                + " memory holds data; then it rests (default ${DEFAULT-VALUE}).") int idleFill;
        @Option(names = "--out", description = "Also write the table (Markdown) to this file.") Path outFile;
        @Option(names = "--only", split = ",", paramLabel = "SCENARIO", description = "Run only these scenarios: fast, ring (the fast guest"
                + " with KVM's dirty ring, which safe slows with the per-vCPU dirty limit), dirty (0.3x and 0.7x), incompressible, idle, hopeless"
                + " (default: all).") java.util.Set<String> only = java.util.Set.of("fast", "ring", "dirty", "incompressible", "idle", "hopeless");
        @Option(names = "--hopeless-cap", defaultValue = "2", description = "Cap of the hopeless scenario: the busy guest against a link"
                + " so thin that even a 99 %% throttle leaves it dirtying more than the link carries (default ${DEFAULT-VALUE}).") long hopelessCap;
        @Option(names = "--repeats", defaultValue = "3", description = "Runs per tool in the converging scenarios; the median is shown (default ${DEFAULT-VALUE}).") int repeats;

        private static final String NO_PLAN = "plain --no-plan";
        private final LibvirtConnector connector = new LibvirtConnector();
        private final List<Row> rows = new ArrayList<>();
        private PrintWriter out;
        private Lab lab;
        private int at; // index of the lab host the guest is on
        private long currentCap;

        @Override
        public Integer call() throws IOException {
            out = spec.commandLine().getOut();
            System.setProperty("kvmigrate.config.dir", root.resolve("config").toString());
            lab = new Lab(new Lab.Config(root, firstOctet, 2, prefix), connector, HostRegistry.fromEnvironment());
            lab.up(this::log);
            long started = System.nanoTime();
            currentCap = cap;
            TestGuest.Params dirty = TestGuest.Params.defaults().withSpanMiB(span);

            for (String o : only) {
                if (!List.of("fast", "ring", "dirty", "incompressible", "idle", "hopeless").contains(o)) {
                    throw io.kvmigrate.core.api.KvmigrateException.invalidInput("Unknown scenario '" + o + "'.",
                            "Use fast, ring, dirty, incompressible, idle or hopeless.");
                }
            }
            if (only.contains("fast")) {
                // >= 1.5x: delay 0, as fast as the guest can dirty.
                GuestProfile fast = boot("fast", dirty.withDelay(0), 0, 0);
                long floor = Math.round(fast.nonZeroBytes() * 1000.0 / (cap << 20));
                rows.add(virsh("dirty >=1.5x", fast, floor * 10));
                rows.add(virsh("dirty >=1.5x", fast, 300_000, VIRSH_POSTCOPY));
                rows.add(kvmigrate("dirty >=1.5x", fast, "finish"));
                rows.add(virsh("dirty >=1.5x", fast, 300_000, VIRSH_AUTO_CONVERGE));
                rows.add(kvmigrate("dirty >=1.5x", fast, "safe"));
                rows.add(kvmigrate("dirty >=1.5x", fast, "safe", true));
                if (!only.contains("hopeless")) stop("fast");
            }
            if (only.contains("hopeless")) {
                // Nothing allowed can move it: safe must abort with the model's reason, the VM on the source, at once.
                GuestProfile fast = only.contains("fast") ? measure(scenarioVm) : boot("fast", dirty.withDelay(0), 0, 0);
                currentCap = hopelessCap;
                rows.add(kvmigrate("hopeless", fast, "safe", true));
                rows.add(kvmigrate("hopeless", fast, "safe"));
                currentCap = cap;
                stop("fast");
            }

            if (only.contains("ring")) {
                // The same busy guest with KVM's dirty ring: safe limits its dirty rate mid-job instead of auto-converge.
                String scenario = "dirty >=1.5x, dirty ring";
                GuestProfile ring = boot("ring", dirty.withDelay(0), 0, 0, true);
                rows.add(virsh(scenario, ring, 300_000, VIRSH_AUTO_CONVERGE));
                rows.add(kvmigrate(scenario, ring, "safe"));
                rows.add(kvmigrate(scenario, ring, "safe", true));
                rows.add(virsh(scenario, ring, 300_000, VIRSH_POSTCOPY));
                rows.add(kvmigrate(scenario, ring, "finish"));
                stop("ring");
            }

            // The converging scenarios are sized so that plain virsh takes several seconds (a pass of the span ~6 s): a
            // migration of one second would compare the tools' start-up, not their migrations (see docs/benchmarks.md).
            // A guest's dirty rate swings with the load of this shared host, so the ratio is set by the link cap, chosen
            // from a measurement taken right before the scenario; each ratio has its own guest, so that neither takes minutes.
            if (only.contains("dirty")) {
                for (double target : new double[] {0.3, 0.7}) {
                    String guest = target < 0.5 ? "dirty03" : "dirty07";
                    int delay = target < 0.5 ? delay03 : delay07;
                    boot(guest, dirty.withDelay(delay), delay, 0);
                    GuestProfile now = measure(scenarioVm);
                    currentCap = Math.max(4, Math.round(now.dirtyRateBps() / target / (1 << 20)));
                    String name = String.format(Locale.ROOT, "dirty %.1fx", target);
                    log(String.format(Locale.ROOT, "%s: guest dirties %s now => cap %d MiB/s", name, mibs(now.dirtyRateBps()), currentCap));
                    pair(name, now, repeats);
                    stop(guest);
                }
                currentCap = cap;
            }
            if (only.contains("incompressible")) {
                // Random content: the guest rewrites whole pages with xorshift output, so a longer delay keeps it under the cap.
                GuestProfile random = boot("random", TestGuest.Params.defaults().withSpanMiB(randomSpan).withDelay(randomDelay)
                        .withContent(TestGuest.Content.RANDOM), randomDelay, 0);
                pair("incompressible", random, repeats);
                stop("random");
            }
            if (only.contains("idle")) {
                // Written once, then at rest: one page per delay of 2^31 turns (about a page a second).
                GuestProfile idle = boot("idle", TestGuest.Params.defaults().withSpanMiB(idleFill).withDelay(Integer.MAX_VALUE), Integer.MAX_VALUE, 1024);
                pair("idle 1 GiB", idle, repeats);
                stop("idle");
            }

            String table = table();
            out.println();
            out.println(table);
            out.printf(Locale.ROOT, "Bench took %.0f s.%n", (System.nanoTime() - started) / 1e9);
            out.flush();
            if (outFile != null) Files.writeString(outFile, table);
            return 0;
        }

        // ---- guests ----

        private String scenarioVm;

        private GuestProfile boot(String name, TestGuest.Params p, int delay, int memoryMiB) {
            return boot(name, p, delay, memoryMiB, false);
        }

        private GuestProfile boot(String name, TestGuest.Params p, int delay, int memoryMiB, boolean dirtyRing) {
            String vm = "bench-" + name;
            scenarioVm = vm;
            removeEverywhere(vm);
            LabVm.Definition d = LabVm.definition(vm, lab.sharedDir(), p, lab.kvmAvailable());
            if (memoryMiB > d.memoryMiB()) d = new LabVm.Definition(vm, memoryMiB, d.disk(), d.serialLog(), p, d.kvm());
            if (dirtyRing) d = d.withDirtyRing();
            long t0 = System.nanoTime();
            try (HostSession s = connector.open(lab.hosts().get(0).ref())) {
                LabVm.create(s, d);
                s.startVm(vm);
                // pass 1 = the fill is done and the guest dirties at its set rate (first touches are what is slow here)
                if (!Poll.until(Duration.ofSeconds(600), Duration.ofMillis(200), () -> LabVm.passCounter(s, vm).orElse(0) >= 1)) {
                    throw new IllegalStateException(vm + " did not finish filling its span within 600 s");
                }
            }
            at = 0;
            GuestProfile g = measure(vm);
            log(String.format(Locale.ROOT, "%s: %d MiB RAM, span %d MiB, delay %d, %s; booted in %.0f s; measured dirty rate %s (%.2fx the cap)%s,"
                    + " non-zero %s", vm, d.memoryMiB(), p.spanBytes() >> 20, delay, p.content(), (System.nanoTime() - t0) / 1e9,
                    mibs(g.dirtyRateBps()), ratio(g), g.dirtyRateSaturated() ? " (saturated: at least)" : "", mib(g.nonZeroBytes())));
            return g;
        }

        private GuestProfile measure(String vm) {
            try (HostSession s = connector.open(lab.hosts().get(at).ref()); ExecutorScheduler sch = new ExecutorScheduler()) {
                return new GuestProbe(Clock.systemUTC(), sch, 128, Planning.DIRTY_RATE_SECONDS).measure(s, vm).join();
            }
        }

        private void stop(String name) {
            removeEverywhere("bench-" + name);
        }

        private void removeEverywhere(String vm) {
            for (Lab.LabHost h : lab.hosts()) {
                try (HostSession s = connector.open(h.ref())) {
                    s.findVm(vm).ifPresent(v -> {
                        if (v.state().isActive()) s.destroyVm(vm);
                        if (s.findVm(vm).map(x -> x.persistent()).orElse(false)) s.undefineVm(vm);
                    });
                }
            }
        }

        /** The measured rate and its ratio to the cap; "≥" when the measurement saturated (a lower bound). */
        private String rate(GuestProfile g) {
            String atLeast = g.dirtyRateSaturated() ? "≥ " : "";
            return String.format(Locale.ROOT, "%s%s (%s%.2fx)", atLeast, mibs(g.dirtyRateBps()), atLeast, ratio(g));
        }

        private double ratio(GuestProfile g) {
            return g.dirtyRateBps() / (double) (currentCap << 20);
        }

        // ---- runs ----

        private Row virsh(String scenario, GuestProfile g, long stopAfterMs) {
            return virsh(scenario, g, stopAfterMs, List.of());
        }

        /** The oracles: what an expert types (post-copy after the first pass, auto-converge), same guest and cap. */
        private static final List<String> VIRSH_POSTCOPY = List.of("--postcopy", "--postcopy-after-precopy");
        private static final List<String> VIRSH_AUTO_CONVERGE = List.of("--auto-converge");

        private Row virsh(String scenario, GuestProfile g, long stopAfterMs, List<String> extra) {
            Lab.LabHost from = lab.hosts().get(at);
            Lab.LabHost to = lab.hosts().get(1 - at);
            String vm = scenarioVm;
            JsonNode plan = plans.containsKey("plain") ? plans.get("plain") : plan("plain");
            long floor = plan.path("floorMs").asLong();
            long limit = stopAfterMs > 0 ? stopAfterMs : Math.max(120_000, floor * 30);
            List<String> cmd = new ArrayList<>(List.of("virsh", "-c", from.ref().uri(), "migrate", "--live", "--p2p", "--persistent", "--undefinesource",
                    "--unsafe", "--bandwidth", String.valueOf(currentCap)));
            cmd.addAll(extra);
            // kvmigrate caps the post-copy phase too: so does the oracle (QEMU's own post-copy default is unlimited)
            if (extra.contains("--postcopy")) cmd.addAll(List.of("--postcopy-bandwidth", String.valueOf(currentCap)));
            cmd.addAll(List.of(vm, to.ref().uri()));
            long t0 = System.nanoTime();
            boolean done;
            int exit;
            String note = "";
            try {
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                done = p.waitFor(limit, TimeUnit.MILLISECONDS);
                if (!done) {
                    note = "stopped with virsh domjobabort after " + limit / 1000 + " s (10x floor)";
                    new ProcessBuilder(List.of("virsh", "-c", from.ref().uri(), "domjobabort", vm)).redirectErrorStream(true).start()
                            .waitFor(60, TimeUnit.SECONDS);
                    p.waitFor(60, TimeUnit.SECONDS);
                }
                exit = p.isAlive() ? -1 : p.exitValue();
                if (done && exit != 0) note = "virsh failed: " + new String(p.getInputStream().readAllBytes()).trim();
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException("running virsh: " + e, e);
            }
            long wall = (System.nanoTime() - t0) / 1_000_000;
            boolean completed = done && exit == 0;
            Optional<JobStats> js;
            try (HostSession s = connector.open((completed ? to : from).ref())) {
                js = s.completedJobStats(vm);
            }
            if (completed) at = 1 - at;
            boolean conv = plan.path("plainPreCopyConverges").asBoolean();
            long predicted = plan.path("plainPreCopyTotalMs").asLong();
            String label = "virsh migrate --live" + (extra.isEmpty() ? "" : " " + String.join(" ", extra));
            if (!extra.isEmpty()) {
                return add(new Row(scenario, currentCap, rate(g), label, completed, completed ? wall : -1, wall,
                        completed ? js.map(JobStats::downtimeMs).orElse(-1L) : -1, js.map(JobStats::dataProcessed).orElse(-1L), "-", "-", floor,
                        (note.isEmpty() ? "" : note + "; ") + "1 run"));
            }
            return add(new Row(scenario, currentCap, rate(g), "virsh migrate --live",
                    completed, completed ? wall : -1, wall, completed ? js.map(JobStats::downtimeMs).orElse(-1L) : -1,
                    js.map(JobStats::dataProcessed).orElse(-1L), conv ? secs(predicted) : "does not converge",
                    conv && completed ? Planning.error(predicted, wall) : (conv == completed ? "call right" : "CALL WRONG"), floor, note));
        }

        private Row kvmigrate(String scenario, GuestProfile g, String policy) {
            return kvmigrate(scenario, g, policy, false);
        }

        /** {@code measure}: as {@code migrate --measure} (the dirty rate measured before the start, whatever the migration's length). */
        private Row kvmigrate(String scenario, GuestProfile g, String policy, boolean measure) {
            Lab.LabHost from = lab.hosts().get(at);
            Lab.LabHost to = lab.hosts().get(1 - at);
            boolean noPlan = policy.equals(NO_PLAN);
            // The prediction is kvmigrate plan's, taken just before (migrate itself skips the measurement on short migrations).
            JsonNode plan = noPlan ? null : plans.containsKey(policy) ? plans.get(policy) : plan(policy);
            // without a plan: policy plain at libvirt's default limit, i.e. what virsh does, through kvmigrate's engine
            MoveRequest request = new MoveRequest(scenarioVm, from.ref(), to.ref(), JobKind.LIVE, noPlan ? PolicyKind.PLAIN
                    : MigrateCommand.policyKind(policy), currentCap, noPlan ? 0 : maxDowntime, Duration.ofSeconds(300), 0, false, null, null,
                    java.util.Set.of(), false, null, false, false, false, measure, noPlan).validate();
            long t0 = System.nanoTime();
            JsonNode r = facadeJson(request);
            long wall = (System.nanoTime() - t0) / 1_000_000;
            boolean ok = r.path("ok").asBoolean();
            if (ok) at = 1 - at;
            List<String> decisions = new ArrayList<>();
            for (JsonNode d : r.path("decisions")) decisions.add(d.path("action").asText());
            String note = String.join("; ", decisions);
            if (!ok) {
                note = (note.isEmpty() ? "" : note + " | ") + r.path("error").path("code").asText() + ", VM running on "
                        + r.path("placement").path("runningOn");
            }
            if (noPlan) {
                return add(new Row(scenario, currentCap, rate(g),
                        "kvmigrate --policy plain --no-plan", ok, ok ? r.path("totalMs").asLong() : -1, wall, ok ? r.path("downtimeMs").asLong() : -1,
                        ok ? r.path("dataSentBytes").asLong() : -1, "-", "-", -1, "engine only, no measurement"));
            }
            String measured = r.path("plan").path("dirtyRate").asText("?");
            note = "migrate: rate " + measured.toLowerCase(Locale.ROOT).replace('_', ' ') + (note.isEmpty() ? "" : "; " + note);
            long expected = plan.path("expectedTotalMs").asLong();
            boolean conv = plan.path("plainPreCopyConverges").asBoolean();
            String predicted = (conv ? "converges" : "does not converge") + ", "
                    + (plan.path("expectedToComplete").asBoolean() ? secs(expected) : plan.path("strategy").asText().toLowerCase() + ": abort");
            String error = ok && expected > 0 ? Planning.error(expected, r.path("totalMs").asLong()) : (ok == plan.path("expectedToComplete").asBoolean() ? "call right" : "call wrong");
            return add(new Row(scenario, currentCap, rate(g), "kvmigrate --policy " + policy + (measure ? " --measure" : ""),
                    ok, ok ? r.path("totalMs").asLong() : -1, wall, ok ? r.path("downtimeMs").asLong() : -1,
                    ok ? r.path("dataSentBytes").asLong() : -1, predicted, error, plan.path("floorMs").asLong(), note));
        }

        /** Predictions of the current scenario by policy, made once before its runs (see {@link #pair}). */
        private final java.util.Map<String, JsonNode> plans = new java.util.HashMap<>();

        /** The facade's plan for the current guest, direction and cap, with the max downtime of kvmigrate's runs (plain: none). */
        private JsonNode plan(String policy) {
            Lab.LabHost from = lab.hosts().get(at);
            Lab.LabHost to = lab.hosts().get(1 - at);
            MoveRequest request = MoveRequest.live(scenarioVm, from.ref(), to.ref()).withPolicy(MigrateCommand.policyKind(policy))
                    .withLimits(currentCap, policy.equals("plain") ? 0 : maxDowntime, null);
            log("$ facade plan " + scenarioVm + " " + from.name() + " -> " + to.name() + " " + request.asMap());
            return PlanOutput.json(facade().plan(request));
        }

        /**
         * kvmigrate as a user runs it: its own JVM (the flags and class-data archive of the ./kvmigrate wrapper), the
         * process's wall time. The rows above run in the bench's JVM and time the command itself.
         */
        private Row kvmigrateProcess(String scenario, GuestProfile g) {
            Lab.LabHost from = lab.hosts().get(at);
            Lab.LabHost to = lab.hosts().get(1 - at);
            Path jar = jar();
            List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-XX:TieredStopAtLevel=1",
                    "-XX:+UseSerialGC"));
            // As the wrapper: the first run after a build writes the class-data archive, later runs map it.
            Path jsa = jar.resolveSibling("kvmigrate.jsa");
            cmd.addAll(List.of(archiveFresh() ? "-XX:SharedArchiveFile=" + jsa : "-XX:ArchiveClassesAtExit=" + jsa, "-Xlog:cds=off",
                    "-Xlog:cds+dynamic=off"));
            cmd.addAll(List.of("-jar", jar.toString(), "migrate", scenarioVm, "--from", from.ref().uri(), "--to", to.ref().uri(), "--bandwidth",
                    String.valueOf(currentCap), "--timeout", "300", "--max-downtime", String.valueOf(maxDowntime), "--policy", "safe", "--json"));
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.environment().put("KVMIGRATE_CONFIG_DIR", root.resolve("config").toString());
            long t0 = System.nanoTime();
            String out;
            try {
                Process p = pb.redirectError(ProcessBuilder.Redirect.DISCARD).start();
                out = new String(p.getInputStream().readAllBytes());
                if (!p.waitFor(400, TimeUnit.SECONDS)) throw new IllegalStateException("kvmigrate process did not end");
            } catch (IOException | InterruptedException ex) {
                throw new IllegalStateException("running kvmigrate: " + ex, ex);
            }
            long wall = (System.nanoTime() - t0) / 1_000_000;
            JsonNode r;
            try {
                r = Output.json().readTree(out);
            } catch (IOException ex) {
                throw new IllegalStateException("kvmigrate printed no JSON: " + out, ex);
            }
            log("$ " + String.join(" ", cmd) + "  -> " + (r.path("ok").asBoolean() ? "ok" : "failed") + " in " + wall + " ms");
            boolean ok = r.path("ok").asBoolean();
            if (ok) at = 1 - at;
            return add(new Row(scenario, currentCap, rate(g), "kvmigrate CLI process, --policy safe", ok, ok ? wall : -1, wall,
                    ok ? r.path("downtimeMs").asLong() : -1, ok ? r.path("dataSentBytes").asLong() : -1, "-", "-", -1,
                    "own JVM; total = process wall time" + (ok ? ", of which the command " + secs(r.path("totalMs").asLong()) + " s" : "")));
        }

        private static Path jar() {
            try {
                return Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            } catch (java.net.URISyntaxException ex) {
                throw new IllegalStateException(ex);
            }
        }

        /** Whether the CLI's class-data archive is newer than its jar (the wrapper's test). */
        private static boolean archiveFresh() {
            Path jar = jar();
            Path jsa = jar.resolveSibling("kvmigrate.jsa");
            try {
                return Files.isRegularFile(jsa) && Files.getLastModifiedTime(jsa).compareTo(Files.getLastModifiedTime(jar)) > 0;
            } catch (IOException ex) {
                return false;
            }
        }

        /**
         * One move through the facade, as a library user or the server runs it, with its result in the shape of
         * {@code migrate --json} (figures, decisions, plan, error and placement).
         */
        private JsonNode facadeJson(MoveRequest request) {
            log("$ facade submit " + request.vm() + " " + request.from().name() + " -> " + request.to().name() + " " + request.asMap());
            List<MigrationEvent.Decision> decisions = new java.util.concurrent.CopyOnWriteArrayList<>();
            List<io.kvmigrate.core.engine.Placement> failedAt = new java.util.concurrent.CopyOnWriteArrayList<>();
            JobHandle job = facade().submit(request, e -> {
                if (e instanceof MigrationEvent.Decision d) decisions.add(d);
                if (e instanceof MigrationEvent.Failed f && f.placement() != null) failedAt.add(f.placement());
            });
            ObjectNode root;
            try {
                root = MigrateCommand.reportJson(job.await().live());
            } catch (io.kvmigrate.core.api.KvmigrateException e) {
                root = Output.errorJson(e);
                if (!failedAt.isEmpty()) root.set("placement", Output.placementJson(failedAt.get(0)));
            }
            root.put("jobId", job.id());
            var arr = root.putArray("decisions");
            for (MigrationEvent.Decision d : decisions) arr.addObject().put("at", d.at().toString()).put("action", d.action()).put("reason", d.reason());
            if (job.plan() != null) root.set("plan", PlanOutput.json(job.plan()));
            log("  -> " + (root.path("ok").asBoolean() ? "ok" : "failed: " + root.path("error").path("message").asText()));
            return root;
        }

        private Kvmigrate facade;

        /** The facade the in-process runs share (opened once: the store is not part of a migration's time). */
        private Kvmigrate facade() {
            if (facade == null) {
                facade = Facade.create(null);
            }
            return facade;
        }

        // ---- output ----

        private String table() {
            StringBuilder b = new StringBuilder();
            b.append(String.format(Locale.ROOT, "kvmigrate --max-downtime %d ms; dirty span %d MiB, incompressible span %d MiB, idle guest"
                    + " %d MiB written once.%n%n", maxDowntime, span, randomSpan, idleFill));
            b.append("| scenario | cap MiB/s | dirty rate (x cap) | tool | completed | total s | wall s | downtime ms | sent MiB | predicted | error | floor s | notes |\n");
            b.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
            for (Row r : rows) {
                b.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |%n", r.scenario(), r.capMiBps(), r.dirty(),
                        r.tool(), r.completed() ? "yes" : "no", r.totalMs() >= 0 ? secs(r.totalMs()) : "-", secs(r.wallMs()),
                        r.downtimeMs() >= 0 ? String.valueOf(r.downtimeMs()) : "-", r.sentBytes() >= 0 ? mib(r.sentBytes()).replace(" MiB", "") : "-",
                        r.predicted(), r.error(), r.floorMs() >= 0 ? secs(r.floorMs()) : "-", r.note().replace("|", "/")));
            }
            return b.toString();
        }

        private Row add(Row r) {
            log("result: " + r);
            return r;
        }

        /**
         * Runs virsh and kvmigrate {@code times} times each on the current guest, the order of the three rotating every
         * round (so none always follows the same one: a run sees the host still cleaning up after the one before);
         * adds each tool's median run.
         */
        private void pair(String scenario, GuestProfile g, int times) {
            // The predictions are made once, before the runs, so every run is timed the same way whatever its tool.
            plans.clear();
            plans.put("plain", plan("plain"));
            plans.put("safe", plan("safe"));
            if (!archiveFresh()) {
                // As the ./kvmigrate wrapper: its first run after a build writes the class-data archive (and takes ~1 s
                // longer for it); the runs users repeat map it. So the archive is written here, by an untimed migrate.
                kvmigrateProcess(scenario, g);
                log("(the move above wrote the CLI's class-data archive; not counted)");
            }
            List<Row> v = new ArrayList<>();
            List<Row> k = new ArrayList<>();
            List<Row> e = new ArrayList<>();
            List<Row> c = new ArrayList<>();
            for (int i = 0; i < times; i++) {
                for (int slot = 0; slot < 4; slot++) {
                    switch ((i + slot) % 4) {
                        case 0 -> v.add(virsh(scenario, g, 0));
                        case 1 -> k.add(kvmigrate(scenario, g, "safe"));
                        case 2 -> c.add(kvmigrateProcess(scenario, g));
                        default -> e.add(kvmigrate(scenario, g, NO_PLAN));
                    }
                }
            }
            rows.add(median(v));
            rows.add(median(k));
            rows.add(median(c));
            rows.add(median(e));
            // the oracles, once each: a converging guest finishes in pre-copy before post-copy-after-precopy switches
            rows.add(virsh(scenario, g, 0, VIRSH_POSTCOPY));
            rows.add(virsh(scenario, g, 0, VIRSH_AUTO_CONVERGE));
            plans.clear();
        }

        private static Row median(List<Row> runs) {
            if (runs.size() == 1) return runs.get(0);
            List<Row> sorted = new ArrayList<>(runs);
            sorted.sort(java.util.Comparator.comparingLong(r -> r.completed() ? r.wallMs() : Long.MAX_VALUE));
            Row m = sorted.get(sorted.size() / 2);
            String all = runs.stream().map(r -> r.completed() ? secs(r.wallMs()) : "failed").collect(java.util.stream.Collectors.joining(" / "));
            // The pass count is whole: a converging run ends after N or N+1 passes, so totals are bimodal and the median
            // flips between the modes; the mean is the expected time.
            double mean = runs.stream().filter(Row::completed).mapToLong(Row::totalMs).average().orElse(-1);
            String note = "median of " + runs.size() + (mean >= 0 ? String.format(Locale.ROOT, ", mean %.2f s", mean / 1000) : "")
                    + " (wall s: " + all + ")" + (m.note().isEmpty() ? "" : "; " + m.note());
            return new Row(m.scenario(), m.capMiBps(), m.dirty(), m.tool(), m.completed(), m.totalMs(), m.wallMs(), m.downtimeMs(),
                    m.sentBytes(), m.predicted(), m.error(), m.floorMs(), note);
        }

        private void log(String line) {
            out.println("[bench] " + line);
            out.flush();
        }

        private static String secs(long ms) {
            return String.format(Locale.ROOT, "%.1f", ms / 1000.0);
        }

        private static String mib(long b) {
            return String.format(Locale.ROOT, "%.0f MiB", b / 1048576.0);
        }

        private static String mibs(long b) {
            return String.format(Locale.ROOT, "%.0f MiB/s", b / 1048576.0);
        }
    }
}
