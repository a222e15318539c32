package io.kvmigrate.core.engine;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.spi.HostSession;
import java.util.List;

/**
 * The verify step every move ends with: where the VM runs and is defined, read back through both hosts, must be what
 * the move promised; otherwise the move fails with VERIFY_FAILED and the placement it found (nothing is undone: the
 * data is wherever the placement says, and a second copy must never be started). A host that cannot be read fails the
 * step too: what cannot be seen is not verified.
 */
public final class VerifyPlacement {
    private VerifyPlacement() {
    }

    /** After a live move: running on the target only, and not defined persistently on the source any more. */
    public static Placement live(String vm, HostSession source, HostSession target) {
        Placement p = Placement.ofMove(vm, source, target);
        String dst = target.host().name();
        if (!p.known() || !p.runsOnlyOn(dst) || p.persistentOn().contains(source.host().name())) throw failed(vm, dst, p, "running on '" + dst + "' only");
        return p;
    }

    /**
     * After an offline move: defined persistently on the target; still defined on the source only when it was kept;
     * running on the target alone when it was started, nowhere otherwise.
     */
    public static Placement offline(String vm, HostSession source, HostSession target, boolean keptSource, boolean started) {
        Placement p = Placement.of(vm, List.of(source, target));
        String src = source.host().name();
        String dst = target.host().name();
        boolean defined = p.persistentOn().contains(dst) && (keptSource || !p.presentOn().contains(src));
        boolean running = started ? p.runsOnlyOn(dst) : p.runningOn().isEmpty();
        if (!p.known() || !defined || !running) {
            throw failed(vm, dst, p, "defined on '" + dst + "'" + (keptSource ? "" : " and gone from '" + src + "'")
                    + (started ? ", running there only" : ", running nowhere"));
        }
        return p;
    }

    private static KvmigrateException failed(String vm, String host, Placement found, String expected) {
        return new KvmigrateException(ErrorCode.VERIFY_FAILED, Phase.VERIFY.label(), host, vm,
                "The move reported success but the VM is " + found + " (expected: " + expected + ").",
                "Inspect the VM on both hosts before doing anything else; do not start a second copy.");
    }
}
