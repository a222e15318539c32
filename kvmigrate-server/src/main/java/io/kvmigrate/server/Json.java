package io.kvmigrate.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.api.MoveRequest;
import io.kvmigrate.core.job.Job;
import io.kvmigrate.core.job.JobEvent;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The API's JSON: jobs, events and errors, in the shapes the CLI's {@code --json} uses. */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper().disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);
    private static final Pattern TOKEN = Pattern.compile("\\{([a-z][A-Za-z]*)\\}");

    private Json() {
    }

    /** A core message's {@code {field}} tokens as this API's field names, quoted: {@code "maxDowntime"}. */
    static String words(String text) {
        return MoveRequest.wordFields(text, f -> "\"" + f + "\"");
    }

    static ObjectNode job(Job j) {
        return JsonViews.job(j, Json::words);
    }

    static ObjectNode event(JobEvent e) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("jobId", e.jobId());
        n.put("seq", e.seq());
        n.put("at", e.at().toString());
        n.put("type", e.type());
        n.put("step", e.step());
        n.put("message", e.message());
        n.set("data", MAPPER.valueToTree(e.data()));
        return n;
    }

    /** The HTTP status for a core error. */
    static int status(ErrorCode code) {
        return switch (code) {
            case INVALID_INPUT, SAME_HOST -> 400;
            case UNKNOWN_HOST, UNKNOWN_VM -> 404;
            case VM_BUSY, TARGET_CONFLICT, VM_NOT_RUNNING -> 409;
            case PREFLIGHT_FAILED, STORAGE_NOT_SHARED, NOT_CONVERGING -> 422;
            case HOST_UNREACHABLE, LIBVIRT_ERROR -> 502;
            case STORE_FAILED -> 503;
            case TIMEOUT -> 504;
            default -> 500;
        };
    }

    /** {@code {"error": {"code", "message", "hint", "field"?, "step"?, "host"?, "vm"?}}} for a core error. */
    static ObjectNode error(KvmigrateException e) {
        ObjectNode root = MAPPER.createObjectNode();
        ObjectNode n = root.putObject("error");
        n.put("code", e.code().name());
        n.put("message", words(e.getMessage()));
        n.put("hint", words(e.hint()));
        Matcher m = TOKEN.matcher(String.valueOf(e.getMessage()));
        if (m.find()) n.put("field", m.group(1));
        if (e.step() != null) n.put("step", e.step());
        if (e.host() != null) n.put("host", e.host());
        if (e.vm() != null) n.put("vm", e.vm());
        return root;
    }

    static ObjectNode error(ApiException e) {
        ObjectNode root = MAPPER.createObjectNode();
        ObjectNode n = root.putObject("error");
        n.put("code", e.code());
        n.put("message", e.getMessage());
        n.put("hint", e.hint());
        for (Map.Entry<String, Object> x : e.extra().entrySet()) n.set(x.getKey(), MAPPER.valueToTree(x.getValue()));
        return root;
    }
}
