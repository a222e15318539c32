package io.kvmigrate.cli;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.engine.ConvergencePolicy;
import io.kvmigrate.core.engine.EventListener;
import io.kvmigrate.core.engine.ExecutorScheduler;
import io.kvmigrate.core.engine.LiveMigration;
import io.kvmigrate.core.engine.MigrationReport;
import io.kvmigrate.core.model.MigrationRequest;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.HypervisorConnector;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicReference;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/** Runs one live migration for a front end: opens both hosts, turns Ctrl-C and SIGTERM into a clean abort. */
final class MigrationRunner {
    private final HypervisorConnector connector;

    MigrationRunner(HypervisorConnector connector) {
        this.connector = connector;
    }

    MigrationReport run(MigrationRequest request, EventListener listener) {
        return run(request, listener, null, java.util.Set.of(), ConvergencePolicy.PLAIN);
    }

    /**
     * With {@code copyStoragePoolMap} non-null, local disks are copied during the migration (source pool to target pool);
     * {@code accepted} are the preflight codes the user accepted; {@code policy} decides options and interventions.
     */
    MigrationReport run(MigrationRequest request, EventListener listener, java.util.Map<String, String> copyStoragePoolMap,
            java.util.Set<String> accepted, ConvergencePolicy policy) {
        try (HostSession source = connector.open(request.source());
             HostSession target = connector.open(request.target());
             ExecutorScheduler scheduler = new ExecutorScheduler()) {
            LiveMigration migration = new LiveMigration(source, target, Clock.systemUTC(), scheduler, listener, Duration.ofMillis(500),
                    policy);
            if (copyStoragePoolMap != null) migration.copyingStorage(copyStoragePoolMap);
            AtomicReference<LiveMigration> current = new AtomicReference<>(migration);
            SignalHandler previousInt = installCancel("INT", current);
            SignalHandler previousTerm = installCancel("TERM", current);
            try {
                CompletableFuture<MigrationReport> result = migration.start(request, accepted);
                return result.join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof KvmigrateException k ? k
                        : new KvmigrateException(ErrorCode.INTERNAL, "migrate", request.source().name(), request.vm(), String.valueOf(e.getCause()), null, e);
            } finally {
                restore("INT", previousInt);
                restore("TERM", previousTerm);
            }
        }
    }

    private static SignalHandler installCancel(String name, AtomicReference<LiveMigration> current) {
        try {
            return Signal.handle(new Signal(name), sig -> current.get().cancel());
        } catch (IllegalArgumentException e) {
            return null; // signal not available on this platform
        }
    }

    private static void restore(String name, SignalHandler previous) {
        if (previous != null) Signal.handle(new Signal(name), previous);
    }
}
