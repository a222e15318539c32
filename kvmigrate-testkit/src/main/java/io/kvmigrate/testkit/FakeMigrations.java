package io.kvmigrate.testkit;

import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.spi.MigrationHandle;
import io.kvmigrate.core.spi.MigrationOptions;
import io.kvmigrate.core.spi.Migrations;
import io.kvmigrate.testkit.FakeHypervisor.FakeHost;
import io.kvmigrate.testkit.FakeHypervisor.FakeMigration;
import io.kvmigrate.testkit.FaultPlan.Op;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The migrations of one fake host: each start is a {@link FakeMigration} the test drives, kept as the host's
 * {@code lastMigration}; a migration that succeeds leaves its completed statistics on the target.
 */
final class FakeMigrations implements Migrations {
    private final FakeHost host;
    private final Map<String, JobStats> completed = new HashMap<>();

    FakeMigrations(FakeHost host) {
        this.host = host;
    }

    @Override
    public HostRef host() {
        return host.host();
    }

    synchronized void completed(String vm, JobStats stats) {
        completed.put(vm, stats);
    }

    @Override
    public synchronized MigrationHandle startLiveMigration(String vm, HostRef target, MigrationOptions options) {
        FaultPlan.Hit hit = host.fault(Op.MIGRATE, vm);
        VmInfo v = host.domains.require(vm);
        host.lastOptions = options;
        FakeMigration m = new FakeMigration(host, host.hypervisor().hostAt(target), v);
        host.lastMigration = m;
        host.hypervisor().migrationStarted(m);
        m.killIfPlanned(hit);
        return m;
    }

    /** The migration started from this host that has not ended, as another controller would find it. */
    @Override
    public synchronized Optional<MigrationHandle> activeMigration(String vm) {
        host.fault(Op.ACTIVE_MIGRATION, vm);
        FakeMigration m = host.lastMigration;
        return m != null && m.vm.name().equals(vm) && !m.ended() ? Optional.of(m) : Optional.empty();
    }

    @Override
    public synchronized Optional<JobStats> completedJobStats(String vm) {
        host.fault(Op.COMPLETED_STATS, vm);
        return Optional.ofNullable(completed.get(vm));
    }

    @Override
    public synchronized boolean pausedInPostCopy(String vm) {
        host.fault(Op.PAUSED_IN_POSTCOPY, vm);
        FakeMigration m = host.lastMigration;
        return m != null && m.vm.name().equals(vm) && m.inPostCopy() && host.domains.get(vm).isPresent();
    }

    @Override
    public synchronized MigrationHandle resumePostCopy(String vm, HostRef target, MigrationOptions options) {
        FaultPlan.Hit hit = host.fault(Op.RESUME_POSTCOPY, vm);
        VmInfo v = host.domains.require(vm);
        host.postCopyResumes++;
        FakeMigration m = new FakeMigration(host, host.hypervisor().hostAt(target), v);
        m.calls.add("resume-postcopy");
        host.lastMigration = m;
        m.killIfPlanned(hit);
        return m;
    }
}
