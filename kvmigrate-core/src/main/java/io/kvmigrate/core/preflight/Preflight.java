package io.kvmigrate.core.preflight;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.engine.SharedStorageVerifier;
import io.kvmigrate.core.model.DiskSpec;
import io.kvmigrate.core.model.HostInventory;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.spi.HostSession;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Runs every check before anything moves. Gathers each host's facts once, in parallel (one
 * {@link HostSession#inventory} call per host, on its own thread: a slow host costs its own latency, not the
 * sum), proves disk sharing with {@link SharedStorageVerifier}, then evaluates the checks on plain data.
 */
public final class Preflight {
    private final List<Check> checks;

    public Preflight(List<Check> checks) {
        this.checks = List.copyOf(checks);
    }

    /** All the checks kvmigrate knows, in report order. */
    public static Preflight standard() {
        return new Preflight(List.of(new VmStateCheck(), new HostIdentityCheck(), new NameConflictCheck(), new UuidConflictCheck(),
                new ArchitectureCheck(), new CpuVendorCheck(), new CpuCompatibilityCheck(), new NxCheck(), new HostPassthroughCheck(),
                new MachineTypeCheck(), new VersionCheck(), new MemoryCheck(), new VcpuCheck(), new NetworkCheck(), new StoragePoolCheck(),
                new StorageCheck(), new CacheModeCheck(), new HostDeviceCheck(), new SnapshotsAndJobsCheck(), new EmulatedGuestCheck(),
                new MigrationTlsCheck(), new DirtyLimitCheck()));
    }

    /**
     * The checks of an offline move: all but storage sharing, pools and space, which the cold engine plans itself with
     * the user's {@code --map-pool} (see {@code StoragePlan}); the memory check only warns (the VM is not started here).
     */
    public static Preflight forOfflineMove() {
        return new Preflight(standard().checks.stream().filter(c -> !(c instanceof StorageCheck) && !(c instanceof StoragePoolCheck)).toList());
    }

    /** Gathers facts from both hosts and checks {@code vm} (as the source sees it) for a {@code mode} migration. */
    public PreflightReport run(HostSession source, HostSession target, VmInfo vm, Mode mode) {
        return run(source, target, vm, mode, false);
    }

    /** As {@link #run(HostSession, HostSession, VmInfo, Mode)}; {@code tls}: the stream is to be encrypted (reads the target's certificates). */
    public PreflightReport run(HostSession source, HostSession target, VmInfo vm, Mode mode, boolean tls) {
        ExecutorService pool = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "kvmigrate-preflight");
            t.setDaemon(true);
            return t;
        });
        HostInventory si;
        HostInventory ti;
        List<SharedStorageVerifier.Verified> verified = new ArrayList<>();
        List<DiskStorage> storage;
        MigrationTlsFacts targetTls;
        boolean checksStorage = checks.stream().anyMatch(c -> c instanceof StorageCheck);
        try {
            CompletableFuture<HostInventory> s = CompletableFuture.supplyAsync(() -> source.inventory(vm.spec()), pool);
            CompletableFuture<HostInventory> t = CompletableFuture.supplyAsync(() -> target.inventory(vm.spec()), pool);
            // The sharing probe needs neither inventory: it runs meanwhile, on this thread (between two names for one host
            // it finds the directory "shared", and the identity check refuses the move anyway).
            storage = checksStorage ? probe(vm.spec(), source, target, verified) : List.of();
            targetTls = tls ? MigrationTlsFacts.read(target) : null;
            si = join(s, source, vm);
            ti = join(t, target, vm);
        } finally {
            pool.shutdown();
        }
        if (sameHost(si, ti)) {
            storage = List.of();
            verified.clear();
        }
        PreflightContext ctx = new PreflightContext(vm, mode, source.host().name(), target.host().name(), si, ti, storage)
                .withTargetTls(targetTls);
        return evaluate(ctx, verified);
    }

    /** Runs the checks on gathered facts (pure: what the unit tests on recorded XML call). */
    public PreflightReport evaluate(PreflightContext ctx, List<SharedStorageVerifier.Verified> verified) {
        List<Finding> findings = new ArrayList<>();
        for (Check c : checks) findings.addAll(c.check(ctx));
        return new PreflightReport(ctx.vm().name(), ctx.sourceName(), ctx.targetName(), ctx.mode(), findings, verified);
    }

    /**
     * Probes each directory once (all its disks in one verification); only when a directory fails are its disks
     * probed one by one, so one unshared disk does not hide the state of the others.
     */
    private static List<DiskStorage> probe(VmSpec vm, HostSession source, HostSession target, List<SharedStorageVerifier.Verified> verified) {
        SharedStorageVerifier verifier = new SharedStorageVerifier();
        java.util.Map<String, List<DiskSpec>> byDir = new java.util.LinkedHashMap<>();
        for (DiskSpec d : vm.disks()) {
            String key = d.hasLocalSource() && d.sourcePath().lastIndexOf('/') > 0 ? d.sourcePath().substring(0, d.sourcePath().lastIndexOf('/'))
                    : "\0" + d.target();
            byDir.computeIfAbsent(key, k -> new ArrayList<>()).add(d);
        }
        java.util.Map<DiskSpec, DiskStorage> result = new java.util.HashMap<>();
        for (List<DiskSpec> group : byDir.values()) {
            try {
                List<SharedStorageVerifier.Verified> ok = verifier.verify(vm.withDisks(group), source, target);
                for (int i = 0; i < group.size(); i++) {
                    DiskSpec d = group.get(i);
                    verified.add(ok.get(i));
                    result.put(d, new DiskStorage(d.target(), d.sourcePath(), d.hasLocalSource() ? DiskStorage.Sharing.SHARED
                            : DiskStorage.Sharing.NO_LOCAL_SOURCE, ok.get(i).how(), null, d.hasLocalSource() ? size(source, d.sourcePath()) : 0));
                }
            } catch (KvmigrateException e) {
                if (e.code() != ErrorCode.STORAGE_NOT_SHARED) throw e;
                for (DiskSpec d : group) {
                    long size = size(source, d.sourcePath());
                    try {
                        SharedStorageVerifier.Verified v = verifier.verify(vm.withDisks(List.of(d)), source, target).get(0);
                        verified.add(v);
                        result.put(d, new DiskStorage(d.target(), d.sourcePath(), DiskStorage.Sharing.SHARED, v.how(), null, size));
                    } catch (KvmigrateException one) {
                        if (one.code() != ErrorCode.STORAGE_NOT_SHARED) throw one;
                        result.put(d, new DiskStorage(d.target(), d.sourcePath(), DiskStorage.Sharing.NOT_SHARED, one.getMessage(), one.hint(), size,
                                one instanceof SharedStorageVerifier.DirectoryNotShared dns ? dns.directory() : null));
                    }
                }
            }
        }
        return vm.disks().stream().map(result::get).toList();
    }

    private static long size(HostSession source, String path) {
        int slash = path == null ? -1 : path.lastIndexOf('/');
        if (slash <= 0) return 0;
        try {
            Optional<Long> s = source.fileSize(path.substring(0, slash), path.substring(slash + 1));
            return s.orElse(0L);
        } catch (KvmigrateException e) {
            return 0; // block devices and unreadable directories: size unknown, the sharing probe says why
        }
    }

    private static boolean sameHost(HostInventory s, HostInventory t) {
        return s.facts().hostUuid() != null && s.facts().hostUuid().equalsIgnoreCase(t.facts().hostUuid());
    }

    private static HostInventory join(CompletableFuture<HostInventory> f, HostSession host, VmInfo vm) {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof KvmigrateException k) throw k.inContext("check", host.host().name(), vm.name());
            throw new KvmigrateException(ErrorCode.INTERNAL, "check", host.host().name(), vm.name(),
                    "Tried to gather the host's facts but failed because: " + e.getCause(), null, e.getCause());
        }
    }
}
