package io.kvmigrate.server;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An error of the HTTP layer itself (authentication, a malformed body, a route that does not exist), with its status
 * and the same {@code code} names the core uses; core errors travel as {@link io.kvmigrate.core.api.KvmigrateException}.
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String code;
    private final String hint;
    private final Map<String, Object> extra;

    public ApiException(int status, String code, String message, String hint, Map<String, Object> extra) {
        super(message);
        this.status = status;
        this.code = code;
        this.hint = hint;
        this.extra = extra == null ? Map.of() : new LinkedHashMap<>(extra);
    }

    /** 400 INVALID_INPUT naming {@code field}. */
    public static ApiException badField(String field, String message, String hint) {
        return new ApiException(400, "INVALID_INPUT", message, hint, field == null ? null : Map.of("field", field));
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    public String hint() {
        return hint;
    }

    public Map<String, Object> extra() {
        return extra;
    }
}
