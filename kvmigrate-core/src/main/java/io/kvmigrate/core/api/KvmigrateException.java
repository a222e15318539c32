package io.kvmigrate.core.api;

/**
 * The one exception type of kvmigrate. It names the step, host and VM it concerns, says what was
 * tried and why it failed ({@link #getMessage()}), and what the user could do ({@link #hint()}).
 */
public class KvmigrateException extends RuntimeException {
    private final ErrorCode code;
    private final String step;
    private final String host;
    private final String vm;
    private final String hint;

    public KvmigrateException(ErrorCode code, String step, String host, String vm, String message, String hint,
            Throwable cause) {
        super(message, cause);
        this.code = code;
        this.step = step;
        this.host = host;
        this.vm = vm;
        this.hint = hint;
    }

    public KvmigrateException(ErrorCode code, String step, String host, String vm, String message, String hint) {
        this(code, step, host, vm, message, hint, null);
    }

    /** Invalid input that was rejected before anything was touched. */
    public static KvmigrateException invalidInput(String message, String hint) {
        return new KvmigrateException(ErrorCode.INVALID_INPUT, "validate", null, null, message, hint);
    }

    public ErrorCode code() { return code; }
    public String step() { return step; }
    public String host() { return host; }
    public String vm() { return vm; }
    public String hint() { return hint; }

    /** The same error, with step/host/vm filled where they were unknown at the throw site (this one when none was). */
    public KvmigrateException inContext(String step, String host, String vm) {
        if ((this.step != null || step == null) && (this.host != null || host == null) && (this.vm != null || vm == null)) return this;
        KvmigrateException e = new KvmigrateException(code, this.step != null ? this.step : step,
                this.host != null ? this.host : host, this.vm != null ? this.vm : vm, getMessage(), hint, getCause());
        e.setStackTrace(getStackTrace());
        return e;
    }

    /** One line: "[step] host/vm: message". */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        if (step != null) sb.append('[').append(step).append("] ");
        if (host != null || vm != null) {
            if (vm != null) sb.append("VM '").append(vm).append("'");
            if (host != null) sb.append(vm != null ? " on " : "").append("host '").append(host).append("'");
            sb.append(": ");
        }
        sb.append(getMessage());
        return sb.toString();
    }
}
