package io.kvmigrate.core.preflight;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.engine.SharedStorageVerifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * All findings of one preflight run, and the rule that turns them into a go or a refusal: any FAIL refuses,
 * unless it is overridable and its code was accepted; WARNs never refuse (accepting one only marks it seen).
 */
public record PreflightReport(String vm, String source, String target, Mode mode, List<Finding> findings,
        List<SharedStorageVerifier.Verified> verifiedDisks) {

    /** Finding codes whose refusal keeps the error code front ends and scripts already know. */
    private static final Map<String, ErrorCode> DOMINANT = Map.of("SAME_HOST", ErrorCode.SAME_HOST, "NAME_CONFLICT", ErrorCode.TARGET_CONFLICT,
            "UUID_CONFLICT", ErrorCode.TARGET_CONFLICT, "STORAGE_NOT_SHARED", ErrorCode.STORAGE_NOT_SHARED, "VM_NOT_RUNNING",
            ErrorCode.VM_NOT_RUNNING);
    private static final List<ErrorCode> PRIORITY = List.of(ErrorCode.SAME_HOST, ErrorCode.VM_NOT_RUNNING, ErrorCode.TARGET_CONFLICT,
            ErrorCode.STORAGE_NOT_SHARED);

    public PreflightReport {
        findings = List.copyOf(findings);
        verifiedDisks = List.copyOf(verifiedDisks);
    }

    public List<Finding> with(Severity s) {
        return findings.stream().filter(f -> f.severity() == s).toList();
    }

    /** The failures that still refuse the migration once {@code accepted} codes are taken into account. */
    public List<Finding> blocking(Collection<String> accepted) {
        return findings.stream().filter(f -> f.severity() == Severity.FAIL && !(f.overridable() && accepted.contains(f.code()))).toList();
    }

    /** Accepted codes that name no finding, or only failures that cannot be overridden: the user should hear about them. */
    public List<String> ineffectiveAccepts(Collection<String> accepted) {
        List<String> out = new ArrayList<>();
        for (String code : accepted) {
            boolean effective = findings.stream().anyMatch(f -> f.code().equals(code) && f.severity() != Severity.PASS && f.overridable());
            if (!effective) out.add(code);
        }
        return out;
    }

    public boolean passes(Collection<String> accepted) {
        return blocking(accepted).isEmpty();
    }

    /** The exception a migration throws when refused: the code of the dominant failure, its message and hint, and the rest listed. */
    public KvmigrateException refusal(String step, Set<String> accepted) {
        List<Finding> blocking = blocking(accepted);
        if (blocking.isEmpty()) throw new IllegalStateException("nothing refuses the migration");
        ErrorCode code = ErrorCode.PREFLIGHT_FAILED;
        Finding main = blocking.get(0);
        for (ErrorCode c : PRIORITY) {
            var hit = blocking.stream().filter(f -> DOMINANT.get(f.code()) == c).findFirst();
            if (hit.isPresent()) {
                code = c;
                main = hit.get();
                break;
            }
        }
        Finding first = main;
        List<String> others = blocking.stream().filter(f -> f != first).map(Finding::code).toList();
        String message = "Preflight refused the migration: " + main.code() + ": " + main.message()
                + (others.isEmpty() ? "" : " Also failing: " + String.join(", ", others) + ".");
        String host = first.check().equals("SNAPSHOTS_JOBS") || first.check().equals("HOST_DEVICES") || first.check().equals("VM_STATE")
                ? source : target;
        return new KvmigrateException(code, step, host, vm, message, main.hint());
    }
}
