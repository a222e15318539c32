package io.kvmigrate.core.spi;

import io.kvmigrate.core.model.HostFacts;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.VmInfo;
import java.util.List;
import java.util.Optional;

/**
 * One open connection to a host. Every failure is a {@link io.kvmigrate.core.api.KvmigrateException}
 * naming this host. Thread-safe: a migration runs on one thread while another polls its statistics.
 */
public interface HostSession extends AutoCloseable {
    HostRef host();

    HostFacts facts();

    List<VmInfo> listVms();

    Optional<VmInfo> findVm(String name);

    Optional<VmInfo> findVmByUuid(String uuid);

    /** Defines (persistently) a VM from domain XML and returns it. */
    VmInfo defineVm(String xml);

    void startVm(String name);

    /** Hard power-off. */
    void destroyVm(String name);

    /** Removes the persistent definition (and managed save / snapshots metadata / NVRAM), never disks. */
    void undefineVm(String name);

    void suspendVm(String name);

    void resumeVm(String name);

    /** Reads guest physical memory of a running VM. */
    byte[] peekPhysicalMemory(String vm, long address, int length);

    /**
     * Creates a file named {@code fileName} in {@code directory} holding {@code content}, through the
     * host's storage API (an existing pool for that directory, or a transient one). Returns its path.
     */
    String writeProbe(String directory, String fileName, byte[] content);

    /** Reads up to {@code maxBytes} of a file in {@code directory} through this host; empty when it does not exist there. */
    Optional<byte[]> readProbe(String directory, String fileName, int maxBytes);

    /** Size in bytes of a file in {@code directory} as this host sees it; empty when it does not exist there. */
    Optional<Long> fileSize(String directory, String fileName);

    /** Deletes a probe file written by {@link #writeProbe}; missing is fine. */
    void deleteProbe(String directory, String fileName);

    /** Makes sure a persistent, autostarted, active directory pool {@code name} exists on {@code directory}. */
    void ensureDirPool(String name, String directory);

    /** This host's storage pools as their own role (list, define, start, autostart, undo); valid while this session is open. */
    StoragePools storagePools();

    /** Starts a live migration of {@code vm} to {@code target}; returns at once. */
    MigrationHandle startLiveMigration(String vm, io.kvmigrate.core.model.HostRef target, MigrationOptions options);

    /**
     * The migration job the VM has on this host now, started by anyone (a controller that died, another tool), as a
     * handle to watch and steer it; empty when the VM has no job. Its completion is seen by polling: it completes when
     * the job is gone (normally when the VM left this host, exceptionally when the job failed or was aborted).
     */
    Optional<MigrationHandle> activeMigration(String vm);

    /** Statistics of the VM's last completed job on this host (for migrations: on the target, with real downtime). */
    Optional<io.kvmigrate.core.model.JobStats> completedJobStats(String vm);

    // ---- storage volumes and graceful shutdown (cold migration, storage copy) ----

    /** Asks the guest to shut down (ACPI); returns at once. */
    void shutdownVm(String name);

    /** The volume at {@code path}, found through a pool on its directory (existing, else transient); empty when absent. */
    Optional<VolumeInfo> volume(String path);

    /** The storage pools of this host, refreshed. */
    List<PoolInfo> pools();

    /** Creates an empty volume of the given format (qcow2, raw) and virtual size in pool {@code pool}. */
    VolumeInfo createVolume(String pool, String name, String format, long capacityBytes);

    /** Deletes the volume at {@code path}; missing is fine. */
    void deleteVolume(String path);

    /** Streams the volume's file content to {@code sink}; with {@code sparse}, holes arrive as holes instead of zeros. */
    void downloadVolume(String path, boolean sparse, VolumeSink sink);

    /** Opens an upload that overwrites the volume's file content from its start. */
    VolumeUpload uploadVolume(String path, boolean sparse);

    /**
     * Starts the hypervisor's measurement of how fast a running VM dirties its memory, over {@code seconds}; returns
     * at once. Uses dirty logging (dirty-bitmap mode), which counts every written page and slows the guest as a
     * migration would, so the figure is the one a migration will see.
     */
    void startDirtyRateMeasurement(String vm, int seconds);

    /** The VM's latest finished dirty-rate measurement; empty while one is running or none was made. */
    Optional<io.kvmigrate.core.model.DirtyRate> lastDirtyRate(String vm);

    /**
     * True when {@code vm} is paused on this host because it is in post-copy: the switch took effect, so the guest runs
     * (or ran) on the target and this host no longer holds all its memory. False when the VM runs here, is gone, or is
     * paused for any other reason.
     */
    boolean pausedInPostCopy(String vm);

    /**
     * Resumes an interrupted post-copy migration of {@code vm} to {@code target} (forward: the target keeps running the
     * guest, the source sends what the target still lacks); returns at once.
     */
    MigrationHandle resumePostCopy(String vm, io.kvmigrate.core.model.HostRef target, MigrationOptions options);

    @Override
    void close();

    /**
     * Everything preflight needs from this host, in one call: capabilities, free resources, networks,
     * interfaces, pools, the VMs it knows, and how it sees {@code guest} (CPU comparison, emulator and
     * machine support, snapshots and block jobs). {@code guest} may be null.
     */
    default io.kvmigrate.core.model.HostInventory inventory(io.kvmigrate.core.model.VmSpec guest) {
        io.kvmigrate.core.model.HostFacts f = facts();
        List<io.kvmigrate.core.model.HostInventory.Domain> domains = listVms().stream()
                .map(v -> new io.kvmigrate.core.model.HostInventory.Domain(v.name(), v.spec().uuid(), v.state().isActive())).toList();
        return new io.kvmigrate.core.model.HostInventory(f, new io.kvmigrate.core.model.HostInventory.Cpu(f.arch(), f.cpuVendor(),
                f.cpuModel(), null, false), null, null, null, null, domains, io.kvmigrate.core.model.HostInventory.GuestView.UNKNOWN);
    }
}
