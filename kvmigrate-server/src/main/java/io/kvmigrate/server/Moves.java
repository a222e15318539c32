package io.kvmigrate.server;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.api.MoveRequest;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.job.JobKind;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.VmNames;
import io.kvmigrate.core.plan.PolicyKind;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Locale;

/** A {@link Bodies.MoveBody} as the core's {@link MoveRequest}, validated; errors name the body's field. */
final class Moves {
    private Moves() {
    }

    static MoveRequest request(Bodies.MoveBody b, HostRegistry registry) {
        if (b.vm() == null) throw ApiException.badField("vm", "Field \"vm\" is missing.", "Name the VM (its libvirt name).");
        try {
            VmNames.validate(b.vm());
        } catch (KvmigrateException e) {
            throw ApiException.badField("vm", e.getMessage(), "Give the VM's libvirt name, see GET /api/v1/hosts/{host}/vms.");
        }
        HostRef from = host(registry, "from", b.from());
        HostRef to = host(registry, "to", b.to());
        boolean offline = Boolean.TRUE.equals(b.offline());
        boolean copy = Boolean.TRUE.equals(b.copyStorage());
        if (offline && copy) {
            throw ApiException.badField("copyStorage", "\"offline\" and \"copyStorage\" exclude each other.", "Give one of them.");
        }
        PolicyKind policy = PolicyKind.SAFE;
        if (b.policy() != null) {
            try {
                policy = PolicyKind.valueOf(b.policy().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw ApiException.badField("policy", "Field \"policy\" must be one of plain, safe, finish; got \"" + b.policy() + "\".", null);
            }
        }
        JobKind kind = offline ? JobKind.OFFLINE : copy ? JobKind.LIVE_COPY_STORAGE : JobKind.LIVE;
        MoveRequest r = new MoveRequest(b.vm(), from, to, kind, policy, nz(b.bandwidth()), nz(b.maxDowntime()),
                b.timeout() == null ? null : Duration.ofSeconds(b.timeout()), b.parallel() == null ? 0 : b.parallel(),
                Boolean.TRUE.equals(b.compress()), b.mapPool(), b.mapNetwork(), b.accept() == null ? null : new LinkedHashSet<>(b.accept()),
                Boolean.TRUE.equals(b.shutdown()), Duration.ofSeconds(b.shutdownTimeout() == null ? 120 : b.shutdownTimeout()),
                Boolean.TRUE.equals(b.forceOff()), Boolean.TRUE.equals(b.start()), Boolean.TRUE.equals(b.keepSource()),
                Boolean.TRUE.equals(b.measure()), Boolean.TRUE.equals(b.noPlan()), Boolean.TRUE.equals(b.tls()),
                migrationAddress(b));
        if (b.timeout() != null && b.timeout() <= 0) {
            throw ApiException.badField("timeout", "Field \"timeout\" must be positive, got " + b.timeout() + ".", "Give seconds, e.g. 600.");
        }
        return r.validate();
    }

    private static io.kvmigrate.core.model.MigrationAddress migrationAddress(Bodies.MoveBody b) {
        if (b.migrationAddress() == null) {
            if (b.migrationListen() != null) {
                throw ApiException.badField("migrationListen", "Field \"migrationListen\" goes with \"migrationAddress\".", "Add \"migrationAddress\": \"HOST[:PORT]\".");
            }
            return null;
        }
        return io.kvmigrate.core.model.MigrationAddress.parse(b.migrationAddress(), b.migrationListen());
    }

    private static long nz(Long v) {
        return v == null ? 0 : v;
    }

    private static HostRef host(HostRegistry registry, String field, String value) {
        if (value == null) throw ApiException.badField(field, "Field \"" + field + "\" is missing.", "Give a registered host name or a libvirt URI.");
        try {
            return registry.resolve(value);
        } catch (KvmigrateException e) {
            java.util.Map<String, Object> extra = new java.util.LinkedHashMap<>();
            extra.put("field", field);
            throw new ApiException(400, e.code().name(), e.getMessage(), e.code() == ErrorCode.UNKNOWN_HOST
                    ? "Register it with POST /api/v1/hosts {\"name\", \"uri\"}, or give a libvirt URI; GET /api/v1/hosts lists them." : e.hint(), extra);
        }
    }
}
