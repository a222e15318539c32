package io.kvmigrate.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmigrate.core.engine.MigrationEvent;
import io.kvmigrate.core.evacuate.DrainSchedule;
import io.kvmigrate.core.evacuate.EvacuationEvent;
import io.kvmigrate.core.evacuate.EvacuationPlan;
import io.kvmigrate.core.evacuate.EvacuationResult;
import io.kvmigrate.core.evacuate.PlacementPlan;
import io.kvmigrate.core.evacuate.VmOutcome;
import io.kvmigrate.core.preflight.Finding;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Draws a drain: its plan (what fits nowhere first), one line per running move's progress plus the drain's total, the summary. */
final class EvacuationOutput {
    private final PrintWriter out;
    private final Map<String, Instant> lastLine = new ConcurrentHashMap<>();
    private volatile Instant lastTotal = Instant.EPOCH;

    EvacuationOutput(PrintWriter out) {
        this.out = out;
    }

    void printPlan(EvacuationPlan plan, boolean dryRun) {
        PlacementPlan p = plan.placement();
        DrainSchedule s = plan.schedule();
        String sources = String.join(", ", plan.request().sources().stream().map(h -> h.name()).toList());
        out.println((dryRun ? "Dry run: evacuating " : "Evacuating ") + sources + ": " + plan.vmCount() + " VM(s), " + p.moves().size()
                + " placed, " + p.unplaced().size() + " fit nowhere.");
        plan.excluded().forEach((h, why) -> out.println("  not a target: " + h + " (" + why + ")"));
        for (PlacementPlan.Unplaced u : p.unplaced()) {
            out.println("Fits nowhere, stays on " + u.source().name() + ": " + u.vm());
            u.reasons().forEach((target, findings) -> {
                for (Finding f : findings) out.println("  " + target + ": " + f.code() + ": " + f.message());
            });
        }
        if (!p.moves().isEmpty()) {
            out.println("Plan: at most " + s.concurrency() + " move(s) at once (limits " + plan.request().limits().maxParallel() + " in all, "
                    + plan.request().limits().maxOutPerHost() + " out of a host, " + plan.request().limits().maxInPerHost() + " into a host)"
                    + (s.shareBps() > 0 ? ", " + Output.mibPerSec(s.linkBps()) + " in all divided among the moves that can use it (about "
                    + Output.mibPerSec(s.shareBps()) + " each when all send)"
                    : ", no bandwidth cap (predicted on an assumed " + Output.mibPerSec(s.linkBps()) + " link)") + ", in this order:");
            out.printf("  %-20s %-12s %-8s %10s %10s %12s%n", "VM", "TARGET", "MODE", "PREDICTED", "START", "NON-ZERO MEM");
            for (DrainSchedule.Slot slot : s.moves()) {
                out.printf("  %-20s %-12s %-8s %10s %10s %12s%n", slot.move().vm(), slot.move().target().name(), slot.move().live() ? "live" : "offline",
                        Output.seconds(slot.predictedMs()), "+" + Output.seconds(slot.startMs()), Output.mib(slot.move().estimate().nonZeroBytes()));
            }
            out.println("Predicted makespan " + Output.seconds(s.makespanMs()) + " (bandwidth bound " + Output.seconds(s.boundMs())
                    + (s.notConverging().isEmpty() ? "" : "; not expected to converge at their share: " + String.join(", ", s.notConverging())) + ").");
            if (!dryRun) out.println("Stop the drain with Ctrl-C, or 'kvmigrate jobs cancel' of any of its moves.");
        }
        out.flush();
    }

    /** Progress: a line when a move starts or ends, a move's progress at most once a second, the drain's total at most once a second. */
    void on(EvacuationEvent e) {
        if (e instanceof EvacuationEvent.DrainRecorded d) {
            line("drain job " + d.jobId() + " (kvmigrate jobs show " + d.jobId() + "; kvmigrate jobs cancel " + d.jobId() + " stops it)");
        } else if (e instanceof EvacuationEvent.MoveStarted m) {
            line("started " + m.move().vm() + " -> " + m.move().target().name() + " (job " + m.jobId()
                    + (m.shareMiBps() > 0 ? ", " + m.shareMiBps() + " MiB/s" : "") + ")");
        } else if (e instanceof EvacuationEvent.MoveEvent m && m.event() instanceof MigrationEvent.Progress p) {
            Instant last = lastLine.get(m.move().vm());
            if (last != null && p.at().isBefore(last.plusSeconds(1))) return;
            lastLine.put(m.move().vm(), p.at());
            var st = p.stats();
            line("  " + m.move().vm() + " -> " + m.move().target().name() + ": " + Math.round(st.memoryFraction() * 100) + "%, "
                    + Output.mib(st.memoryRemaining()) + " left, " + Output.mibPerSec(st.memoryBps()) + ", iteration " + st.iteration());
        } else if (e instanceof EvacuationEvent.MoveEnded m) {
            VmOutcome o = m.outcome();
            line((o.status() == VmOutcome.Status.MOVED ? "moved " : o.status().label() + " ") + o.vm() + ": " + (o.status() == VmOutcome.Status.MOVED
                    ? "runs on " + String.join(", ", o.runningOn()) : String.valueOf(o.reason()) + " (on " + String.join(", ", o.runningOn()) + ")"));
        } else if (e instanceof EvacuationEvent.Total t) {
            if (t.ended() < t.total() && t.at().isBefore(lastTotal.plusSeconds(1))) return;
            lastTotal = t.at();
            line("drain: " + t.ended() + " of " + t.total() + " ended, " + t.running() + " running, " + Output.mib(t.bytesLeft()) + " left, ETA "
                    + Output.seconds(t.etaMs()));
        } else if (e instanceof EvacuationEvent.Cancelling c) {
            line("cancelling (" + c.reason() + "): queued moves will not start, running ones are being aborted");
        }
    }

    private synchronized void line(String s) {
        out.println(s);
        out.flush();
    }

    void printSummary(EvacuationResult r) {
        out.println((r.cancelled() ? "Cancelled" : "Done") + " in " + Output.seconds(r.elapsedMs()) + ": " + r.moved() + " of " + r.outcomes().size()
                + " VM(s) moved" + (r.leftBehind().isEmpty() ? "." : ", " + r.leftBehind().size() + " left behind.")
                + (r.jobId() == null ? "" : " Drain job " + r.jobId() + "."));
        out.printf("  %-20s %-12s %-12s %-12s %s%n", "VM", "STATUS", "TARGET", "RUNS ON", "JOB / REASON");
        for (VmOutcome o : r.outcomes()) {
            out.printf("  %-20s %-12s %-12s %-12s %s%n", o.vm(), o.status().label(), o.target() == null ? "-" : o.target(),
                    String.join(",", o.runningOn()), o.status() == VmOutcome.Status.MOVED ? o.jobId()
                            : (o.jobId() == null ? "" : o.jobId() + ": ") + String.valueOf(o.reason()));
        }
        out.flush();
    }

    static ObjectNode json(EvacuationPlan plan, EvacuationResult result) {
        ObjectNode root = Output.json().createObjectNode();
        root.put("ok", result == null ? plan.placement().unplaced().isEmpty() : result.leftBehind().isEmpty());
        root.put("dryRun", result == null);
        root.putPOJO("sources", plan.request().sources().stream().map(h -> h.name()).toList());
        root.putPOJO("targets", plan.request().targets().stream().map(h -> h.name()).toList());
        root.putPOJO("excluded", plan.excluded());
        ObjectNode limits = root.putObject("limits");
        limits.put("maxParallel", plan.request().limits().maxParallel());
        limits.put("maxOutPerHost", plan.request().limits().maxOutPerHost());
        limits.put("maxInPerHost", plan.request().limits().maxInPerHost());
        limits.put("bandwidthMiBps", plan.request().bandwidthMiBps());
        DrainSchedule s = plan.schedule();
        ObjectNode sched = root.putObject("schedule");
        sched.put("concurrency", s.concurrency());
        sched.put("shareMiBps", s.shareBps() >> 20);
        sched.put("predictedMakespanMs", s.makespanMs());
        sched.put("bandwidthBoundMs", s.boundMs());
        sched.putPOJO("notConverging", s.notConverging());
        ArrayNode moves = root.putArray("moves");
        for (DrainSchedule.Slot slot : s.moves()) {
            moves.addObject().put("vm", slot.move().vm()).put("source", slot.move().source().name()).put("target", slot.move().target().name())
                    .put("mode", slot.move().live() ? "live" : "offline").put("predictedMs", slot.predictedMs()).put("predictedStartMs", slot.startMs())
                    .put("nonZeroBytes", slot.move().estimate().nonZeroBytes()).put("reservedMemoryKiB", slot.move().reservedMemoryKiB());
        }
        ArrayNode unplaced = root.putArray("unplaced");
        for (PlacementPlan.Unplaced u : plan.placement().unplaced()) {
            ObjectNode n = unplaced.addObject().put("vm", u.vm()).put("source", u.source().name());
            ObjectNode reasons = n.putObject("reasons");
            u.reasons().forEach((target, findings) -> {
                ArrayNode arr = reasons.putArray(target);
                for (Finding f : findings) arr.addObject().put("code", f.code()).put("message", f.message()).put("hint", f.hint());
            });
        }
        if (result != null) {
            ArrayNode outcomes = root.putArray("outcomes");
            for (VmOutcome o : result.outcomes()) {
                outcomes.addObject().put("vm", o.vm()).put("source", o.source()).put("target", o.target()).put("status", o.status().name())
                        .put("jobId", o.jobId()).putPOJO("runningOn", o.runningOn()).put("errorCode", o.errorCode())
                        .put("reason", o.reason());
            }
            root.put("jobId", result.jobId());
            root.put("elapsedMs", result.elapsedMs());
            root.put("cancelled", result.cancelled());
            root.put("moved", result.moved());
            root.put("leftBehind", result.leftBehind().size());
            if (!result.leftBehind().isEmpty()) root.set("error", Output.errorJson(EvacuateCommand.leftBehind(result)).get("error"));
        } else if (!plan.placement().unplaced().isEmpty()) {
            root.put("leftBehind", plan.placement().unplaced().size());
        }
        return root;
    }
}
