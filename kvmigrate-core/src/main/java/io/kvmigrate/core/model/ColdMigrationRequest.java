package io.kvmigrate.core.model;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import java.time.Duration;
import java.util.Map;

/**
 * What the user asked for: move {@code vm}, shut off, from {@code source} to {@code target}. Validated on construction.
 *
 * @param shutdown shut a running VM down gracefully first (else a running VM is refused)
 * @param shutdownTimeout how long to wait for the guest to power off
 * @param forceOff power the VM off hard when the graceful shutdown times out
 * @param start start the VM on the target afterwards
 * @param keepSource keep the source definition and disks (a copy rather than a move)
 * @param poolMap source pool name (or directory, for disks outside any pool) to target pool name
 * @param networkMap source network name to target network name
 */
public record ColdMigrationRequest(String vm, HostRef source, HostRef target, boolean shutdown, Duration shutdownTimeout,
        boolean forceOff, boolean start, boolean keepSource, Map<String, String> poolMap, Map<String, String> networkMap) {

    public ColdMigrationRequest {
        VmNames.validate(vm);
        if (source == null) throw KvmigrateException.invalidInput("No source host given.", "Name the source host in {from}.");
        if (target == null) throw KvmigrateException.invalidInput("No target host given.", "Name the target host in {to}.");
        if (shutdownTimeout == null || shutdownTimeout.isNegative() || shutdownTimeout.isZero()) {
            throw KvmigrateException.invalidInput("{shutdownTimeout} must be positive.", "Give seconds, e.g. 120.");
        }
        if (forceOff && !shutdown) throw KvmigrateException.invalidInput("{forceOff} only makes sense with {shutdown}.", "Add {shutdown}.");
        poolMap = Map.copyOf(poolMap == null ? Map.of() : poolMap);
        networkMap = Map.copyOf(networkMap == null ? Map.of() : networkMap);
        if (source.uri().equals(target.uri())) {
            throw new KvmigrateException(ErrorCode.SAME_HOST, "validate", source.name(), vm,
                    "Source and target are the same host (" + source.uri() + ").", "Pick a different {to} host.");
        }
    }
}
