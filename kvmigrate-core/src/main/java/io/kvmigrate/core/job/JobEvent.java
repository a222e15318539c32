package io.kvmigrate.core.job;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One thing that happened in a job, in order: {@code seq} counts 1, 2, 3... per job and is assigned by the store, so
 * a reader that saw up to n asks for "after n" and misses nothing. {@code data} holds JSON-able values only (String,
 * Boolean, Long, Double, and Lists and Maps of them); integral numbers are kept as Long and the others as Double, so
 * an event reads back equal to what was written, whatever the store. Times are kept to the millisecond.
 */
public record JobEvent(String jobId, long seq, Instant at, String type, String step, String message, Map<String, Object> data) {
    /** A step started ({@code step} names it). */
    public static final String STEP = "step";
    /** Figures of a running transfer. */
    public static final String PROGRESS = "progress";
    /** An intervention (or a refusal to intervene) with its reason. */
    public static final String DECISION = "decision";
    /** A preflight finding. */
    public static final String FINDING = "finding";
    /** The job's state changed. */
    public static final String STATE = "state";
    /** Anything else worth keeping. */
    public static final String LOG = "log";

    public JobEvent {
        Objects.requireNonNull(jobId, "jobId");
        Objects.requireNonNull(at, "at");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(message, "message");
        at = Job.millis(at);
        data = data == null ? Map.of() : normalizeMap(data, "data");
    }

    /** An event to {@link JobStore#append append}; the store assigns its seq. */
    public static JobEvent of(String jobId, Instant at, String type, String step, String message, Map<String, ?> data) {
        @SuppressWarnings("unchecked")
        Map<String, Object> d = (Map<String, Object>) data;
        return new JobEvent(jobId, 0, at, type, step, message, d);
    }

    /** The same event with the seq the store gave it. */
    public JobEvent withSeq(long seq) {
        return new JobEvent(jobId, seq, at, type, step, message, data);
    }

    private static Map<String, Object> normalizeMap(Map<?, ?> in, String path) {
        Map<String, Object> out = new LinkedHashMap<>();
        in.forEach((k, v) -> {
            if (!(k instanceof String key)) throw new IllegalArgumentException(path + " has a key that is not a String: " + k);
            out.put(key, normalize(v, path + "." + key));
        });
        return Collections.unmodifiableMap(out);
    }

    private static Object normalize(Object v, String path) {
        if (v instanceof String || v instanceof Boolean) return v;
        if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) return ((Number) v).longValue();
        if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) throw new IllegalArgumentException(path + " is " + d + ", which JSON cannot hold");
            return d;
        }
        if (v instanceof Map<?, ?> m) return normalizeMap(m, path);
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>(l.size());
            for (int i = 0; i < l.size(); i++) out.add(normalize(l.get(i), path + "[" + i + "]"));
            return Collections.unmodifiableList(out);
        }
        // Rejected here, where the event is made, rather than failing later inside a store.
        throw new IllegalArgumentException(path + " is not a JSON value (String, Boolean, integral or floating Number, List, Map): "
                + (v == null ? "null" : v.getClass().getName()));
    }
}
