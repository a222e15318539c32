package io.kvmigrate.server;

import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.core.job.JobFilter;
import io.kvmigrate.core.job.JobState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Job events for server-sent-event subscribers, read from the store: one poller for all subscribers asks the store for
 * each watched job's events after the last seq it has seen, so events of jobs run by other processes (a CLI
 * {@code migrate}, another server on the same PostgreSQL) arrive too, and a subscriber that comes late is first sent
 * the job's past events (from seq 1, or after its {@code Last-Event-ID}), then the live ones, in seq order, none twice.
 *
 * <p>Polling rather than a push from the job's listener: the store is the one place every controller writes to, and
 * an event is in the store before any front end shows it, so what a subscriber sees is exactly the store's timeline.
 * A job's stream ends with an {@code end} event carrying the job once the job has ended and every event is sent.
 */
final class EventFeed implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EventFeed.class);

    /** Where a subscriber's events go; returns false once the client has gone. */
    interface Sink {
        boolean send(String event, String id, String data);

        void close();
    }

    private static final class Sub {
        final Sink sink;
        volatile long sentSeq;

        Sub(Sink sink, long after) {
            this.sink = sink;
            this.sentSeq = after;
        }
    }

    /** One job's timeline as far as read, and its subscribers. */
    private static final class Stream {
        final List<JobEvent> events = new ArrayList<>();
        final List<Sub> subs = new CopyOnWriteArrayList<>();
        long fetchedSeq;
    }

    private final Kvmigrate k;
    private final Map<String, Stream> streams = new ConcurrentHashMap<>();
    private final List<Sink> global = new CopyOnWriteArrayList<>();
    private final Map<String, Long> globalCursors = new HashMap<>();
    private final ScheduledExecutorService timer;
    private long ticks;

    EventFeed(Kvmigrate k, Duration poll) {
        this.k = k;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "kvmigrate-event-feed");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::tick, poll.toMillis(), poll.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Subscribes to job {@code jobId}'s events after {@code afterSeq} (0: from the start). */
    void subscribe(String jobId, long afterSeq, Sink sink) {
        streams.computeIfAbsent(jobId, id -> new Stream()).subs.add(new Sub(sink, afterSeq));
        timer.execute(this::tick);
    }

    /** Subscribes to the events of every job, from now on. */
    void subscribeAll(Sink sink) {
        timer.execute(() -> {
            if (global.isEmpty()) {
                // a new feed starts at the current end of every job that runs
                globalCursors.clear();
                for (Job j : active()) globalCursors.put(j.id(), lastSeq(j.id()));
            }
            global.add(sink);
        });
    }

    int subscribers() {
        int n = global.size();
        for (Stream s : streams.values()) n += s.subs.size();
        return n;
    }

    private long lastSeq(String jobId) {
        List<JobEvent> all = k.events(jobId, 0);
        return all.isEmpty() ? 0 : all.get(all.size() - 1).seq();
    }

    private List<Job> active() {
        List<Job> out = new ArrayList<>(k.jobs(JobFilter.all().state(JobState.RUNNING)));
        out.addAll(k.jobs(JobFilter.all().state(JobState.QUEUED)));
        return out;
    }

    private synchronized void tick() {
        try {
            ticks++;
            for (Map.Entry<String, Stream> e : streams.entrySet()) pump(e.getKey(), e.getValue());
            if (!global.isEmpty()) pumpGlobal();
            if (ticks % 60 == 0) heartbeat();
        } catch (RuntimeException e) {
            LOG.warn("event feed: {}", e.toString());
        }
    }

    private void pump(String jobId, Stream s) {
        if (s.subs.isEmpty()) {
            streams.remove(jobId);
            return;
        }
        // the job first, then its events: a job that had ended before this read has all of its events in the store
        Optional<Job> job = k.job(jobId);
        boolean ended = job.map(j -> j.state().isTerminal()).orElse(true);
        List<JobEvent> fresh = k.events(jobId, s.fetchedSeq);
        for (JobEvent ev : fresh) {
            s.events.add(ev);
            s.fetchedSeq = ev.seq();
        }
        for (Sub sub : s.subs) {
            boolean open = true;
            for (JobEvent ev : s.events) {
                if (ev.seq() <= sub.sentSeq) continue;
                open = sub.sink.send(ev.type(), Long.toString(ev.seq()), Json.event(ev).toString());
                if (!open) break;
                sub.sentSeq = ev.seq();
            }
            if (open && ended) {
                sub.sink.send("end", null, job.map(Json::job).map(Object::toString).orElse("{}"));
                sub.sink.close();
                open = false;
            }
            if (!open) s.subs.remove(sub);
        }
    }

    private void pumpGlobal() {
        Set<String> ids = new LinkedHashSet<>();
        for (Job j : active()) ids.add(j.id());
        Set<String> watched = new LinkedHashSet<>(globalCursors.keySet());
        ids.addAll(watched);
        for (String id : ids) {
            long cursor = globalCursors.getOrDefault(id, 0L);
            Optional<Job> job = k.job(id);
            boolean ended = job.map(j -> j.state().isTerminal()).orElse(true);
            for (JobEvent ev : k.events(id, cursor)) {
                String data = Json.event(ev).toString();
                for (Sink g : global) if (!g.send(ev.type(), id + "/" + ev.seq(), data)) global.remove(g);
                cursor = ev.seq();
            }
            if (ended) {
                if (watched.contains(id)) {
                    String data = job.map(Json::job).map(Object::toString).orElse("{}");
                    for (Sink g : global) if (!g.send("end", id + "/end", data)) global.remove(g);
                }
                globalCursors.remove(id);
            } else {
                globalCursors.put(id, cursor);
            }
        }
    }

    /** A comment every ~15 s: finds clients that went away, and keeps proxies from closing idle streams. */
    private void heartbeat() {
        for (Stream s : streams.values()) for (Sub sub : s.subs) if (!sub.sink.send(null, null, null)) s.subs.remove(sub);
        for (Sink g : global) if (!g.send(null, null, null)) global.remove(g);
    }

    @Override
    public void close() {
        timer.shutdownNow();
        for (Stream s : streams.values()) for (Sub sub : s.subs) sub.sink.close();
        for (Sink g : global) g.close();
    }
}
