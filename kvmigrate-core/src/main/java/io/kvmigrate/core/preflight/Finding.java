package io.kvmigrate.core.preflight;

/**
 * One result of one check: a stable {@code code} (e.g. {@code CPU_VENDOR_MISMATCH}; a passed check reports the
 * check's own name, e.g. {@code CPU_VENDOR}), the facts compared, what is wrong and how to fix it.
 *
 * @param overridable whether {@code --accept CODE} may let a migration proceed despite it; false for failures
 *        that protect the VM or its data (and for those the hypervisor would refuse anyway)
 * @param remedy a fix a front end may offer as an action of its own, or null (the hint still says it in words)
 */
public record Finding(Severity severity, String code, String check, String sourceValue, String targetValue, String message,
        String hint, boolean overridable, Remedy remedy) {

    public Finding(Severity severity, String code, String check, String sourceValue, String targetValue, String message, String hint,
            boolean overridable) {
        this(severity, code, check, sourceValue, targetValue, message, hint, overridable, null);
    }

    /** The same finding, offering {@code r}. */
    public Finding withRemedy(Remedy r) {
        return new Finding(severity, code, check, sourceValue, targetValue, message, hint, overridable, r);
    }

    public static Finding pass(String check, String source, String target, String message) {
        return new Finding(Severity.PASS, check, check, source, target, message, null, true);
    }

    public static Finding warn(String code, String check, String source, String target, String message, String hint) {
        return new Finding(Severity.WARN, code, check, source, target, message, hint, true);
    }

    /** A failure that {@code --accept} cannot override. */
    public static Finding fail(String code, String check, String source, String target, String message, String hint) {
        return new Finding(Severity.FAIL, code, check, source, target, message, hint, false);
    }

    /** A failure the user may accept knowingly (it risks the migration, not the VM's data). */
    public static Finding failOverridable(String code, String check, String source, String target, String message, String hint) {
        return new Finding(Severity.FAIL, code, check, source, target, message, hint, true);
    }
}
