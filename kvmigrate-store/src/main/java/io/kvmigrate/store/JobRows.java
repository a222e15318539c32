package io.kvmigrate.store;

import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobError;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.core.job.JobFigures;
import io.kvmigrate.core.job.JobKind;
import io.kvmigrate.core.job.JobPlacement;
import io.kvmigrate.core.job.JobState;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.statement.SqlStatement;

/** Jobs and events to table rows and back: columns, JSON columns, and epoch-millisecond times. */
final class JobRows {
    /** Every column of {@code jobs} but {@code last_seq}, which only {@link JdbcJobStore#append} writes. */
    static final List<String> JOB_COLUMNS = List.of("id", "kind", "vm_name", "vm_uuid", "source_host", "target_host", "request_json",
            "state", "phase", "owner", "created_at", "started_at", "ended_at", "heartbeat_at", "cancel_requested", "total_ms",
            "downtime_ms", "bytes_sent", "iterations", "predicted_ms", "placement_json", "error_code", "error_step", "error_host",
            "error_vm", "error_message", "error_hint");

    static final String SELECT_JOB = "SELECT " + String.join(", ", JOB_COLUMNS) + " FROM jobs";

    static final String INSERT_JOB = "INSERT INTO jobs (" + String.join(", ", JOB_COLUMNS) + ") VALUES ("
            + String.join(", ", JOB_COLUMNS.stream().map(c -> ":" + c).toList()) + ") ON CONFLICT (id) DO NOTHING";

    static final String UPDATE_JOB = "UPDATE jobs SET "
            + String.join(", ", JOB_COLUMNS.stream().filter(c -> !c.equals("id")).map(c -> c + " = :" + c).toList())
            + " WHERE id = :id";

    private JobRows() {
    }

    /** Binds every column of {@code job} by name. */
    static <S extends SqlStatement<S>> S bind(S st, Job job) {
        JobFigures f = job.figures();
        JobError e = job.error();
        return st.bind("id", job.id()).bind("kind", job.kind().name()).bind("vm_name", job.vmName()).bind("vm_uuid", job.vmUuid())
                .bind("source_host", job.sourceHost()).bind("target_host", job.targetHost()).bind("request_json", json(job.request()))
                .bind("state", job.state().name()).bind("phase", job.phase()).bind("owner", job.owner())
                .bind("created_at", millis(job.createdAt())).bind("started_at", millis(job.startedAt()))
                .bind("ended_at", millis(job.endedAt())).bind("heartbeat_at", millis(job.heartbeatAt()))
                .bind("cancel_requested", job.cancelRequested()).bind("total_ms", f.totalMs()).bind("downtime_ms", f.downtimeMs())
                .bind("bytes_sent", f.bytesSent()).bind("iterations", f.iterations()).bind("predicted_ms", f.predictedMs())
                .bind("placement_json", job.placement() == null ? null : json(placementMap(job.placement())))
                .bind("error_code", e == null ? null : e.code()).bind("error_step", e == null ? null : e.step())
                .bind("error_host", e == null ? null : e.host()).bind("error_vm", e == null ? null : e.vm())
                .bind("error_message", e == null ? null : e.message()).bind("error_hint", e == null ? null : e.hint());
    }

    static Job job(ResultSet rs) throws SQLException {
        String errorCode = rs.getString("error_code");
        JobError error = errorCode == null ? null : new JobError(errorCode, rs.getString("error_step"), rs.getString("error_host"),
                rs.getString("error_vm"), rs.getString("error_message"), rs.getString("error_hint"));
        String placement = rs.getString("placement_json");
        return new Job(rs.getString("id"), JobKind.valueOf(rs.getString("kind")), rs.getString("vm_name"), rs.getString("vm_uuid"),
                rs.getString("source_host"), rs.getString("target_host"), stringMap(rs.getString("request_json")),
                JobState.valueOf(rs.getString("state")), rs.getString("phase"), rs.getString("owner"), instant(rs, "created_at"),
                instant(rs, "started_at"), instant(rs, "ended_at"), instant(rs, "heartbeat_at"), rs.getBoolean("cancel_requested"),
                new JobFigures(longOrNull(rs, "total_ms"), longOrNull(rs, "downtime_ms"), longOrNull(rs, "bytes_sent"),
                        longOrNull(rs, "iterations"), longOrNull(rs, "predicted_ms")),
                placement == null ? null : placement(map(placement)), error);
    }

    static JobEvent event(ResultSet rs) throws SQLException {
        String data = rs.getString("data_json");
        return new JobEvent(rs.getString("job_id"), rs.getLong("seq"), instant(rs, "at"), rs.getString("type"), rs.getString("step"),
                rs.getString("message"), data == null ? Map.of() : map(data));
    }

    static String json(Object value) {
        return Json.write(value);
    }

    static Long millis(Instant t) {
        return t == null ? null : t.toEpochMilli();
    }

    static Instant instant(ResultSet rs, String column) throws SQLException {
        Long v = longOrNull(rs, column);
        return v == null ? null : Instant.ofEpochMilli(v);
    }

    private static Long longOrNull(ResultSet rs, String column) throws SQLException {
        long v = rs.getLong(column);
        return rs.wasNull() ? null : v;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(String json) {
        return (Map<String, Object>) Json.parse(json);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> stringMap(String json) {
        return (Map<String, String>) (Map<String, ?>) map(json);
    }

    // An explicit map rather than the record itself, so the stored form does not change when the record gains a method.
    private static Map<String, Object> placementMap(JobPlacement p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("runningOn", p.runningOn());
        m.put("definedOn", p.definedOn());
        if (!p.isKnown()) m.put("unknownReason", p.unknownReason());
        return m;
    }

    @SuppressWarnings("unchecked")
    private static JobPlacement placement(Map<String, Object> m) {
        Object reason = m.get("unknownReason");
        return new JobPlacement((List<String>) m.getOrDefault("runningOn", List.of()), (List<String>) m.getOrDefault("definedOn", List.of()),
                (String) reason);
    }
}
