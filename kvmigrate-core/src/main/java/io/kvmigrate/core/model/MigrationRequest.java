package io.kvmigrate.core.model;

import io.kvmigrate.core.api.KvmigrateException;
import java.time.Duration;

/**
 * What the user asked for: move {@code vm} from {@code source} to {@code target}, live.
 * Validated on construction, naming the bad field.
 *
 * @param bandwidthMiBps 0 = unlimited
 * @param maxDowntimeMs 0 = libvirt's default (300 ms)
 * @param timeout null = none; on expiry the migration is aborted and the VM stays on the source
 */
public record MigrationRequest(String vm, HostRef source, HostRef target, long bandwidthMiBps, long maxDowntimeMs,
        Duration timeout) {

    public MigrationRequest {
        VmNames.validate(vm);
        if (source == null) throw KvmigrateException.invalidInput("No source host given.", "Name the source host in {from}.");
        if (target == null) throw KvmigrateException.invalidInput("No target host given.", "Name the target host in {to}.");
        if (bandwidthMiBps < 0) throw KvmigrateException.invalidInput("{bandwidth} must be >= 0, got " + bandwidthMiBps + ".", "Give MiB/s, 0 for unlimited.");
        if (maxDowntimeMs < 0) throw KvmigrateException.invalidInput("{maxDowntime} must be >= 0, got " + maxDowntimeMs + ".", "Give milliseconds, e.g. 300.");
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw KvmigrateException.invalidInput("{timeout} must be positive, got " + timeout.toSeconds() + " s.", "Give seconds, e.g. 600.");
        }
        if (source.uri().equals(target.uri())) {
            throw new KvmigrateException(io.kvmigrate.core.api.ErrorCode.SAME_HOST, "validate", source.name(), vm,
                    "Source and target are the same host (" + source.uri() + ").", "Pick a different {to} host.");
        }
    }
}
