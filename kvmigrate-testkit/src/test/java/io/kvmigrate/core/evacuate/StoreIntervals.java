package io.kvmigrate.core.evacuate;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.job.Job;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The drain's limits checked on the jobs' recorded times: at every job's start, how many jobs were running ([start, end)). */
final class StoreIntervals {
    private StoreIntervals() {
    }

    /** The most jobs running at once, in all, out of one host and into one host, as the store's timestamps show. */
    static int[] peaks(List<Job> jobs) {
        int[] peak = new int[3];
        for (Job a : jobs) {
            if (a.startedAt() == null) continue;
            int total = 0;
            Map<String, Integer> out = new HashMap<>();
            Map<String, Integer> in = new HashMap<>();
            for (Job b : jobs) {
                if (b.startedAt() == null) continue;
                boolean running = !b.startedAt().isAfter(a.startedAt()) && (b.endedAt() == null || b.endedAt().isAfter(a.startedAt()));
                if (!running) continue;
                total++;
                out.merge(b.sourceHost(), 1, Integer::sum);
                in.merge(b.targetHost(), 1, Integer::sum);
            }
            peak[0] = Math.max(peak[0], total);
            peak[1] = Math.max(peak[1], out.values().stream().mapToInt(Integer::intValue).max().orElse(0));
            peak[2] = Math.max(peak[2], in.values().stream().mapToInt(Integer::intValue).max().orElse(0));
        }
        return peak;
    }

    static void assertLimitsHeld(List<Job> jobs, DrainLimits limits) {
        int[] p = peaks(jobs);
        assertThat(p[0]).as("jobs at once (store)").isLessThanOrEqualTo(limits.maxParallel());
        assertThat(p[1]).as("jobs out of one host at once (store)").isLessThanOrEqualTo(limits.maxOutPerHost());
        assertThat(p[2]).as("jobs into one host at once (store)").isLessThanOrEqualTo(limits.maxInPerHost());
    }
}
