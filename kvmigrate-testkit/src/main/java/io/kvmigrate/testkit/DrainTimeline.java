package io.kvmigrate.testkit;

import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobEvent;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A drain read back from the job store, for tests that check its limits at every instant: the most jobs running at once
 * (in all, out of one host, into one host; a job runs over [startedAt, endedAt)), and the most bandwidth their caps added up
 * to (each job's cap is its request's {@code bandwidth} from its start, then each "bandwidth N MiB/s" decision), read at
 * the store's resolution: a millisecond.
 */
public final class DrainTimeline {
    /** The most seen at once. */
    public record Peaks(int total, int outOfOneHost, int intoOneHost, long capsMiBps) {
    }

    private DrainTimeline() {
    }

    /** {@code events} gives a job's timeline (e.g. {@code id -> store.events(id, 0)}). */
    public static Peaks of(List<Job> jobs, Function<String, List<JobEvent>> events) {
        record Change(Instant at, int order, Job job, long cap, long seq) {
        }
        List<Change> changes = new ArrayList<>();
        for (Job j : jobs) {
            if (j.startedAt() == null || j.kind() == io.kvmigrate.core.job.JobKind.EVACUATION) continue; // a drain's own job moves nothing
            changes.add(new Change(j.startedAt(), 1, j, Long.parseLong(j.request().getOrDefault("bandwidth", "0")), 0));
            for (JobEvent e : events.apply(j.id())) {
                Object action = e.data() == null ? null : e.data().get("action");
                if (!JobEvent.DECISION.equals(e.type()) || !(action instanceof String a) || !a.matches("bandwidth \\d+ MiB/s")) continue;
                long cap = Long.parseLong(a.substring("bandwidth ".length(), a.indexOf(' ', "bandwidth ".length())));
                changes.add(new Change(e.at(), 2, j, cap, e.seq()));
            }
            if (j.endedAt() != null) changes.add(new Change(j.endedAt(), 0, j, -1, 0));
        }
        // The times are milliseconds: what happened within one millisecond cannot be ordered, so the changes of an instant
        // are applied together (ends, starts, then each job's cap changes in its own order) and the sums read after them.
        changes.sort(Comparator.comparing(Change::at).thenComparingInt(Change::order).thenComparing(c -> c.job().id()).thenComparingLong(Change::seq));
        Map<String, Long> caps = new HashMap<>();
        Map<String, Job> running = new HashMap<>();
        int total = 0;
        int out = 0;
        int in = 0;
        long capSum = 0;
        for (int n = 0; n < changes.size(); n++) {
            Change c = changes.get(n);
            String id = c.job().id();
            if (c.order() == 0) {
                running.remove(id);
                caps.remove(id);
            } else if (c.order() == 1) {
                running.put(id, c.job());
                caps.put(id, c.cap());
            } else if (running.containsKey(id)) {
                caps.put(id, c.cap());
            }
            if (n + 1 < changes.size() && changes.get(n + 1).at().equals(c.at())) continue;
            total = Math.max(total, running.size());
            Map<String, Integer> o = new HashMap<>();
            Map<String, Integer> i = new HashMap<>();
            for (Job j : running.values()) {
                o.merge(j.sourceHost(), 1, Integer::sum);
                i.merge(j.targetHost(), 1, Integer::sum);
            }
            out = Math.max(out, o.values().stream().mapToInt(Integer::intValue).max().orElse(0));
            in = Math.max(in, i.values().stream().mapToInt(Integer::intValue).max().orElse(0));
            capSum = Math.max(capSum, caps.values().stream().mapToLong(Long::longValue).sum());
        }
        return new Peaks(total, out, in, capSum);
    }
}
