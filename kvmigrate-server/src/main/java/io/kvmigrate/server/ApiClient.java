package io.kvmigrate.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobError;
import io.kvmigrate.core.job.JobEvent;
import io.kvmigrate.core.job.JobFigures;
import io.kvmigrate.core.job.JobFilter;
import io.kvmigrate.core.job.JobKind;
import io.kvmigrate.core.job.JobPlacement;
import io.kvmigrate.core.job.JobState;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.StringJoiner;

/**
 * A client of a running server's REST API for the jobs (the CLI's {@code --server URL}): lists, reads, queues and cancels
 * jobs, and reads them back as the core's {@link Job} and {@link JobEvent} from the JSON {@link JsonViews} writes. An
 * error answer is thrown as the {@link KvmigrateException} it names (code, message, hint), so a front end reports it as
 * it reports its own.
 */
public final class ApiClient {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private final String base;
    private final String token;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    public ApiClient(String baseUrl, String token) {
        this.base = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.token = token;
    }

    /**
     * The client of the server at {@code url}, with the token from {@code KVMIGRATE_TOKEN} ({@code envToken}) or else the
     * one in {@code configDir} (a server of this user on this machine); neither: INVALID_INPUT saying where to get one.
     */
    public static ApiClient of(String url, String envToken, Path configDir) {
        if (url == null || !(url.startsWith("http://") || url.startsWith("https://"))) {
            throw KvmigrateException.invalidInput("--server must be an http:// or https:// URL, got '" + url + "'.",
                    "Give the server's address, e.g. http://127.0.0.1:8470.");
        }
        String t = envToken != null && !envToken.isBlank() ? envToken.trim() : null;
        Path file = configDir.resolve(ApiToken.FILE);
        if (t == null && Files.isRegularFile(file)) {
            try {
                t = Files.readString(file, StandardCharsets.US_ASCII).trim();
            } catch (IOException e) {
                throw KvmigrateException.invalidInput("Cannot read the API token " + file + ": " + e.getMessage(), "Set KVMIGRATE_TOKEN.");
            }
        }
        if (t == null) {
            throw KvmigrateException.invalidInput("No API token for " + url + ": KVMIGRATE_TOKEN is not set and " + file + " does not exist.",
                    "Set KVMIGRATE_TOKEN to the output of 'kvmigrate serve --print-token' on the server's machine.");
        }
        return new ApiClient(url, t);
    }

    public String baseUrl() {
        return base;
    }

    public List<Job> jobs(JobFilter f) {
        StringJoiner q = new StringJoiner("&", "?", "").setEmptyValue("");
        if (f.vm() != null) q.add("vm=" + enc(f.vm()));
        if (f.host() != null) q.add("host=" + enc(f.host()));
        if (f.state() != null) q.add("state=" + f.state().name().toLowerCase(Locale.ROOT));
        if (f.limit() > 0) q.add("limit=" + f.limit());
        List<Job> out = new ArrayList<>();
        for (JsonNode n : send("GET", "/api/v1/jobs" + q, null).path("jobs")) out.add(job(n));
        return out;
    }

    public Optional<Job> job(String id) {
        try {
            return Optional.of(job(send("GET", "/api/v1/jobs/" + enc(id), null)));
        } catch (NotFound e) {
            return Optional.empty();
        }
    }

    /** The job's events after {@code afterSeq}, in order (its whole timeline is read and cut: the API has no offset). */
    public List<JobEvent> events(String id, long afterSeq) {
        List<JobEvent> out = new ArrayList<>();
        for (JsonNode n : send("GET", "/api/v1/jobs/" + enc(id) + "/timeline", null).path("events")) {
            if (n.path("seq").asLong() > afterSeq) out.add(event(id, n));
        }
        return out;
    }

    /** Asks the job to stop; the job as it is afterwards (an ended job as it ended), empty if there is none. */
    public Optional<Job> cancel(String id) {
        try {
            return Optional.of(job(send("POST", "/api/v1/jobs/" + enc(id) + "/cancel", "")));
        } catch (NotFound e) {
            return Optional.empty();
        } catch (Ended e) {
            return Optional.of(job(e.job));
        }
    }

    /** A drain's moves (empty for a job that is not a drain: the evacuations resource lists the moves of any job). */
    public List<Job> children(String id) {
        List<Job> out = new ArrayList<>();
        try {
            for (JsonNode n : send("GET", "/api/v1/evacuations/" + enc(id), null).path("children")) out.add(job(n));
        } catch (NotFound e) {
            // no such job: nothing under it
        }
        return out;
    }

    /** Queues a move ({@code body}: the API's move object); the job as the server answered (queued, or running already). */
    public Job submit(ObjectNode body) {
        return job(send("POST", "/api/v1/jobs", body.toString()));
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static final class NotFound extends RuntimeException {
        NotFound() {
            super(null, null, false, false);
        }
    }

    private static final class Ended extends RuntimeException {
        final JsonNode job;

        Ended(JsonNode job) {
            super(null, null, false, false);
            this.job = job;
        }
    }

    private JsonNode send(String method, String path, String body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + token);
        if (body != null) b.header("Content-Type", "application/json");
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r;
        try {
            r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new KvmigrateException(ErrorCode.HOST_UNREACHABLE, "server", base, null, "Tried to reach the kvmigrate server at " + base
                    + " but failed because " + e, "Check that 'kvmigrate serve' runs there and listens on that address.", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KvmigrateException(ErrorCode.CANCELLED, "server", base, null, "Interrupted while waiting for " + base + ".", null);
        }
        JsonNode json;
        try {
            json = r.body() == null || r.body().isEmpty() ? MAPPER.createObjectNode() : MAPPER.readTree(r.body());
        } catch (IOException e) {
            throw new KvmigrateException(ErrorCode.INTERNAL, "server", base, null, method + " " + path + " answered " + r.statusCode()
                    + " with a body that is not JSON.", "Check that " + base + " is a kvmigrate server.");
        }
        if (r.statusCode() / 100 == 2) return json;
        JsonNode e = json.path("error");
        String code = e.path("code").asText("INTERNAL");
        if (r.statusCode() == 404 && ("UNKNOWN_JOB".equals(code) || "NOT_FOUND".equals(code))) throw new NotFound();
        if (r.statusCode() == 409 && "JOB_ENDED".equals(code)) throw new Ended(e.path("job"));
        ErrorCode c = r.statusCode() == 401 ? ErrorCode.INVALID_INPUT : parse(code);
        String hint = e.path("hint").isTextual() ? e.path("hint").asText() : null;
        if (e.path("field").isTextual()) hint = (hint == null ? "" : hint + " ") + "(field \"" + e.path("field").asText() + "\")";
        throw new KvmigrateException(c, e.path("step").isTextual() ? e.path("step").asText() : "server", e.path("host").asText(base),
                e.path("vm").isTextual() ? e.path("vm").asText() : null, "The server at " + base + " answered " + r.statusCode() + ": "
                + e.path("message").asText(r.body()), hint);
    }

    private static ErrorCode parse(String code) {
        try {
            return ErrorCode.valueOf(code);
        } catch (IllegalArgumentException e) {
            return ErrorCode.INTERNAL;
        }
    }

    /** A job from its API JSON ({@link JsonViews#job}); the heartbeat is not part of it and reads back null. */
    static Job job(JsonNode n) {
        Map<String, String> request = new LinkedHashMap<>();
        n.path("request").fields().forEachRemaining(f -> request.put(f.getKey(), f.getValue().asText()));
        JsonNode f = n.path("figures");
        JsonNode p = n.path("placement");
        JobPlacement placement = p.isObject() ? new JobPlacement(strings(p.path("runningOn")), strings(p.path("definedOn")),
                p.path("known").asBoolean(true) ? null : p.path("unknownReason").asText(null)) : null;
        JsonNode e = n.path("error");
        JobError error = e.isObject() ? new JobError(e.path("code").asText(), text(e, "step"), text(e, "host"), text(e, "vm"),
                e.path("message").asText(), text(e, "hint")) : null;
        return new Job(n.path("id").asText(), JobKind.valueOf(n.path("kind").asText()), n.path("vm").asText(), text(n, "vmUuid"),
                n.path("from").asText(), n.path("to").asText(), request, JobState.valueOf(n.path("state").asText().toUpperCase(Locale.ROOT)),
                text(n, "phase"), text(n, "owner"), Instant.parse(n.path("createdAt").asText()), instant(n, "startedAt"), instant(n, "endedAt"),
                null, n.path("cancelRequested").asBoolean(), new JobFigures(number(f, "totalMs"), number(f, "downtimeMs"), number(f, "bytesSent"),
                number(f, "iterations"), number(f, "predictedMs")), placement, error);
    }

    @SuppressWarnings("unchecked")
    private static JobEvent event(String jobId, JsonNode n) {
        Map<String, Object> data = n.path("data").isObject() ? MAPPER.convertValue(n.path("data"), Map.class) : Map.of();
        return new JobEvent(jobId, n.path("seq").asLong(), Instant.parse(n.path("at").asText()), n.path("type").asText(), text(n, "step"),
                n.path("message").asText(), data);
    }

    private static String text(JsonNode n, String field) {
        return n.path(field).isTextual() ? n.path(field).asText() : null;
    }

    private static Instant instant(JsonNode n, String field) {
        return n.path(field).isTextual() ? Instant.parse(n.path(field).asText()) : null;
    }

    private static Long number(JsonNode n, String field) {
        return n.path(field).isNumber() ? n.path(field).asLong() : null;
    }

    private static List<String> strings(JsonNode arr) {
        List<String> out = new ArrayList<>();
        arr.forEach(x -> out.add(x.asText()));
        return out;
    }
}
