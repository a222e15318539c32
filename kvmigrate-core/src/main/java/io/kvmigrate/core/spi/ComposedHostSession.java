package io.kvmigrate.core.spi;

import io.kvmigrate.core.model.DirtyRate;
import io.kvmigrate.core.model.HostFacts;
import io.kvmigrate.core.model.HostInventory;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmSpec;
import java.util.List;
import java.util.Optional;

/**
 * A {@link HostSession} made of one object per role: subclasses supply the roles (all on the same host) and
 * {@link #close()}, this class forwards every role call to its role and nothing else. Java has no delegation, so the
 * forwarding is written out here once for every implementation (libvirt, testkit).
 */
public abstract class ComposedHostSession implements HostSession {
    private final HostRef host;

    protected ComposedHostSession(HostRef host) {
        this.host = host;
    }

    protected abstract Domains domainsRole();

    protected abstract Volumes volumesRole();

    protected abstract Migrations migrationsRole();

    protected abstract Inventory inventoryRole();

    protected abstract GuestProbes guestProbesRole();

    @Override
    public final HostRef host() {
        return host;
    }

    // ---- Domains ----

    @Override
    public List<VmInfo> listVms() {
        return domainsRole().listVms();
    }

    @Override
    public Optional<VmInfo> findVm(String name) {
        return domainsRole().findVm(name);
    }

    @Override
    public Optional<VmInfo> findVmByUuid(String uuid) {
        return domainsRole().findVmByUuid(uuid);
    }

    @Override
    public VmInfo defineVm(String xml) {
        return domainsRole().defineVm(xml);
    }

    @Override
    public void startVm(String name) {
        domainsRole().startVm(name);
    }

    @Override
    public void shutdownVm(String name) {
        domainsRole().shutdownVm(name);
    }

    @Override
    public void destroyVm(String name) {
        domainsRole().destroyVm(name);
    }

    @Override
    public void undefineVm(String name) {
        domainsRole().undefineVm(name);
    }

    @Override
    public void suspendVm(String name) {
        domainsRole().suspendVm(name);
    }

    @Override
    public void resumeVm(String name) {
        domainsRole().resumeVm(name);
    }

    // ---- Volumes ----

    @Override
    public List<PoolInfo> pools() {
        return volumesRole().pools();
    }

    @Override
    public void ensureDirPool(String name, String directory) {
        volumesRole().ensureDirPool(name, directory);
    }

    @Override
    public StoragePools storagePools() {
        return volumesRole().storagePools();
    }

    @Override
    public Optional<VolumeInfo> volume(String path) {
        return volumesRole().volume(path);
    }

    @Override
    public VolumeInfo createVolume(String pool, String name, String format, long capacityBytes) {
        return volumesRole().createVolume(pool, name, format, capacityBytes);
    }

    @Override
    public void deleteVolume(String path) {
        volumesRole().deleteVolume(path);
    }

    @Override
    public void downloadVolume(String path, boolean sparse, VolumeSink sink) {
        volumesRole().downloadVolume(path, sparse, sink);
    }

    @Override
    public VolumeUpload uploadVolume(String path, boolean sparse) {
        return volumesRole().uploadVolume(path, sparse);
    }

    @Override
    public Optional<Long> fileSize(String directory, String fileName) {
        return volumesRole().fileSize(directory, fileName);
    }

    @Override
    public String writeProbe(String directory, String fileName, byte[] content) {
        return volumesRole().writeProbe(directory, fileName, content);
    }

    @Override
    public Optional<byte[]> readProbe(String directory, String fileName, int maxBytes) {
        return volumesRole().readProbe(directory, fileName, maxBytes);
    }

    @Override
    public void deleteProbe(String directory, String fileName) {
        volumesRole().deleteProbe(directory, fileName);
    }

    // ---- Migrations ----

    @Override
    public MigrationHandle startLiveMigration(String vm, HostRef target, MigrationOptions options) {
        return migrationsRole().startLiveMigration(vm, target, options);
    }

    @Override
    public Optional<MigrationHandle> activeMigration(String vm) {
        return migrationsRole().activeMigration(vm);
    }

    @Override
    public boolean jobInProgress(String vm) {
        return migrationsRole().jobInProgress(vm);
    }

    @Override
    public Optional<JobStats> completedJobStats(String vm) {
        return migrationsRole().completedJobStats(vm);
    }

    @Override
    public boolean pausedInPostCopy(String vm) {
        return migrationsRole().pausedInPostCopy(vm);
    }

    @Override
    public MigrationHandle resumePostCopy(String vm, HostRef target, MigrationOptions options) {
        return migrationsRole().resumePostCopy(vm, target, options);
    }

    // ---- Inventory ----

    @Override
    public HostFacts facts() {
        return inventoryRole().facts();
    }

    @Override
    public HostInventory inventory(VmSpec guest) {
        return inventoryRole().inventory(guest);
    }

    // ---- GuestProbes ----

    @Override
    public byte[] peekPhysicalMemory(String vm, long address, int length) {
        return guestProbesRole().peekPhysicalMemory(vm, address, length);
    }

    @Override
    public void startDirtyRateMeasurement(String vm, int seconds) {
        guestProbesRole().startDirtyRateMeasurement(vm, seconds);
    }

    @Override
    public Optional<DirtyRate> lastDirtyRate(String vm) {
        return guestProbesRole().lastDirtyRate(vm);
    }
}
