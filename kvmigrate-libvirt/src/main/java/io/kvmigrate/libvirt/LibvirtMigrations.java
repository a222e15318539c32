package io.kvmigrate.libvirt;

import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.JobStats;
import io.kvmigrate.core.spi.MigrationHandle;
import io.kvmigrate.core.spi.MigrationOptions;
import io.kvmigrate.core.spi.Migrations;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/**
 * {@link Migrations} over libvirt: virDomainMigrateToURI3 with typed parameters on a thread of its own (it blocks until
 * the job ends), typed job statistics, post-copy state and resume. The handle aborts on a connection of its own.
 */
final class LibvirtMigrations implements Migrations {
    private static final Libvirt LV = Libvirt.INSTANCE;
    private final LibvirtConnection c;

    LibvirtMigrations(LibvirtConnection c) {
        this.c = c;
    }

    @Override
    public HostRef host() {
        return c.host;
    }

    /** What every move shares: live, peer-to-peer, persistent on the target, undefined on the source; TLS and UNSAFE as due. */
    private static long moveFlags(HostRef target, MigrationOptions o) {
        long flags = Libvirt.VIR_MIGRATE_LIVE | Libvirt.VIR_MIGRATE_PEER2PEER | Libvirt.VIR_MIGRATE_PERSIST_DEST
                | Libvirt.VIR_MIGRATE_UNDEFINE_SOURCE;
        if (o.storageVerifiedShared()) flags |= Libvirt.VIR_MIGRATE_UNSAFE;
        // asked for, or implied: a user who reaches the target over TLS expects the stream encrypted too
        if (o.tls() || target.uri().startsWith("qemu+tls:")) flags |= Libvirt.VIR_MIGRATE_TLS;
        return flags;
    }

    @Override
    public MigrationHandle startLiveMigration(String vm, HostRef target, MigrationOptions o) {
        Pointer dom = LV.virDomainLookupByName(c.conn, vm);
        if (dom == null) throw c.error("look up VM", vm);
        if (o.maxDowntimeMs() > 0) {
            if (LV.virDomainMigrateSetMaxDowntime(dom, o.maxDowntimeMs(), 0) < 0) {
                KvmigrateException e = c.error("set the maximum downtime to " + o.maxDowntimeMs() + " ms", vm);
                LV.virDomainFree(dom);
                throw e;
            }
        }
        long flags = moveFlags(target, o) | Libvirt.VIR_MIGRATE_ABORT_ON_ERROR;
        if (o.autoConverge()) flags |= Libvirt.VIR_MIGRATE_AUTO_CONVERGE;
        if (o.postCopyAllowed()) flags |= Libvirt.VIR_MIGRATE_POSTCOPY;
        if (o.compressed()) flags |= Libvirt.VIR_MIGRATE_COMPRESSED;
        if (o.parallelConnections() > 0) flags |= Libvirt.VIR_MIGRATE_PARALLEL;
        if (!o.copyDisks().isEmpty()) flags |= Libvirt.VIR_MIGRATE_NON_SHARED_DISK; // libvirt's NBD copy into pre-created volumes
        return launch(dom, vm, target, o, flags);
    }

    /** Runs virDomainMigrateToURI3 on its own thread (it blocks until the job ends); takes ownership of {@code dom}. */
    private MigrationHandle launch(Pointer dom, String vm, HostRef target, MigrationOptions o, long migrateFlags) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        java.util.concurrent.atomic.AtomicBoolean limited = new java.util.concurrent.atomic.AtomicBoolean();
        Thread t = new Thread(() -> {
            PointerByReference params = new PointerByReference();
            IntByReference n = new IntByReference(0);
            IntByReference max = new IntByReference(0);
            try {
                if (o.bandwidthMiBps() > 0) LV.virTypedParamsAddULLong(params, n, max, "bandwidth", o.bandwidthMiBps());
                // QEMU's post-copy phase ignores the pre-copy cap (its own default is unlimited): the user's cap holds for both.
                if (o.bandwidthMiBps() > 0 && o.postCopyAllowed()) {
                    LV.virTypedParamsAddULLong(params, n, max, "bandwidth.postcopy", o.bandwidthMiBps());
                }
                if (o.parallelConnections() > 0) LV.virTypedParamsAddInt(params, n, max, "parallel.connections", o.parallelConnections());
                if (o.autoConverge() && o.throttleInitialPercent() > 0) {
                    LV.virTypedParamsAddInt(params, n, max, "auto_converge.initial", o.throttleInitialPercent());
                }
                if (o.autoConverge() && o.throttleIncrementPercent() > 0) {
                    LV.virTypedParamsAddInt(params, n, max, "auto_converge.increment", o.throttleIncrementPercent());
                }
                for (String disk : o.copyDisks()) LV.virTypedParamsAddString(params, n, max, "migrate_disks", disk);
                // a separate migration network: the source's QEMU connects here (VIR_MIGRATE_PARAM_URI), the target's listens
                // on its own address (VIR_MIGRATE_PARAM_LISTEN_ADDRESS) or on its configured migration address
                if (o.migrationAddress() != null) {
                    LV.virTypedParamsAddString(params, n, max, "migrate_uri", o.migrationAddress().uri());
                    if (o.migrationAddress().listen() != null) {
                        LV.virTypedParamsAddString(params, n, max, "listen_address", o.migrationAddress().listen());
                    } else if (!o.copyDisks().isEmpty()) {
                        // the disks' NBD stream over the same network (VIR_MIGRATE_PARAM_DISKS_URI): the target's NBD server
                        // listens on this host; not with a distinct listen address, which a disks URI cannot express
                        LV.virTypedParamsAddString(params, n, max, "disks_uri", "tcp://" + o.migrationAddress().uriHost());
                    }
                }
                if (LV.virDomainMigrateToURI3(dom, target.uri(), params.getValue(), n.getValue(), migrateFlags) < 0) {
                    KvmigrateException e = c.error("migrate to '" + target.name() + "' (" + target.uri() + ")", vm);
                    if (limited.get()) QemuDirtyLimit.lift(c, vm); // the VM stays here: not slowed any more
                    done.completeExceptionally(e);
                } else {
                    done.complete(null);
                }
            } catch (RuntimeException e) {
                if (limited.get()) QemuDirtyLimit.lift(c, vm);
                done.completeExceptionally(e);
            } finally {
                if (params.getValue() != null) LV.virTypedParamsFree(params.getValue(), n.getValue());
            }
        }, "kvmigrate-migrate-" + vm);
        t.setDaemon(true);
        t.start();
        return new LibvirtMigrationHandle(vm, dom, done, limited);
    }

    @Override
    public boolean jobInProgress(String vm) {
        Pointer dom = LV.virDomainLookupByName(c.conn, vm);
        if (dom == null) {
            LV.virResetLastError();
            return false;
        }
        try {
            // a VM that does not run has no job (and libvirt refuses to read statistics of one)
            return LV.virDomainIsActive(dom) == 1 && jobStats(dom, 0, vm) != null;
        } catch (KvmigrateException e) {
            if (LV.virDomainIsActive(dom) == 0) return false; // it stopped in between
            throw e;
        } finally {
            LV.virDomainFree(dom);
        }
    }

    @Override
    public Optional<MigrationHandle> activeMigration(String vm) {
        Pointer dom = LV.virDomainLookupByName(c.conn, vm);
        if (dom == null) {
            LV.virResetLastError();
            return Optional.empty();
        }
        JobStats now;
        try {
            now = jobStats(dom, 0, vm);
        } catch (KvmigrateException e) {
            LV.virDomainFree(dom);
            throw e;
        }
        if (now == null) {
            LV.virDomainFree(dom);
            return Optional.empty();
        }
        // Not ours: no blocking call to wait on, so a thread of its own polls until the job is gone, then asks libvirt how
        // it ended (on a domain lookup of its own: the VM leaves this host when the migration succeeds).
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                while (true) {
                    java.util.concurrent.locks.LockSupport.parkNanos(250_000_000L);
                    Pointer d = LV.virDomainLookupByName(c.conn, vm);
                    if (d == null) {
                        LV.virResetLastError();
                        done.complete(null); // gone from this host: moved (the caller verifies where it is)
                        return;
                    }
                    try {
                        IntByReference type = new IntByReference();
                        PointerByReference params = new PointerByReference();
                        IntByReference n = new IntByReference();
                        if (LV.virDomainGetJobStats(d, type, params, n, 0) < 0) {
                            LV.virResetLastError();
                            continue;
                        }
                        if (params.getValue() != null) LV.virTypedParamsFree(params.getValue(), n.getValue());
                        if (type.getValue() != 0) continue;
                        // The controller that started it may have limited the guest's dirty rate: lift it where the VM has the ring.
                        if (limitable(d, vm)) QemuDirtyLimit.lift(c, vm);
                        done.completeExceptionally(new KvmigrateException(ErrorCode.MIGRATION_FAILED, "migrate", c.host.name(), vm,
                                "The migration job ended and the VM is still on '" + c.host.name() + "' (failed or aborted).",
                                "Check where the VM runs; start the move again if it should move."));
                        return;
                    } finally {
                        LV.virDomainFree(d);
                    }
                }
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        }, "kvmigrate-watch-" + vm);
        t.setDaemon(true);
        t.start();
        return Optional.of(new LibvirtMigrationHandle(vm, dom, done, new java.util.concurrent.atomic.AtomicBoolean()));
    }

    @Override
    public Optional<JobStats> completedJobStats(String vm) {
        Pointer dom = LV.virDomainLookupByName(c.conn, vm);
        if (dom == null) {
            LV.virResetLastError();
            return Optional.empty();
        }
        try {
            return Optional.ofNullable(jobStats(dom, Libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED, vm));
        } catch (KvmigrateException e) {
            return Optional.empty();
        } finally {
            LV.virDomainFree(dom);
        }
    }

    /** Reads typed job statistics; null when there is no job. */
    private JobStats jobStats(Pointer dom, int flags, String vm) {
        IntByReference type = new IntByReference();
        PointerByReference params = new PointerByReference();
        IntByReference n = new IntByReference();
        if (LV.virDomainGetJobStats(dom, type, params, n, flags) < 0) throw c.error("read job statistics", vm);
        Pointer p = params.getValue();
        try {
            if (type.getValue() == 0 || p == null) return null;
            Function<String, Long> u = key -> {
                LongByReference v = new LongByReference();
                return LV.virTypedParamsGetULLong(p, n.getValue(), key, v) == 1 ? v.getValue() : 0L;
            };
            IntByReference throttle = new IntByReference();
            long thr = LV.virTypedParamsGetInt(p, n.getValue(), "auto_converge_throttle", throttle) == 1 ? throttle.getValue() : 0;
            return new JobStats(u.apply("time_elapsed"), u.apply("data_total"), u.apply("data_processed"), u.apply("data_remaining"),
                    u.apply("memory_total"), u.apply("memory_processed"), u.apply("memory_remaining"), u.apply("memory_bps"),
                    u.apply("memory_dirty_rate"), u.apply("memory_page_size"), u.apply("memory_iteration"), u.apply("downtime"),
                    u.apply("memory_postcopy_requests"), thr, u.apply("disk_total"), u.apply("disk_processed"), u.apply("disk_remaining"));
        } finally {
            if (p != null) LV.virTypedParamsFree(p, n.getValue());
        }
    }

    /** Whether the domain has a KVM dirty ring, so a dirty limit may have been set on it. */
    private boolean limitable(Pointer d, String vm) {
        try {
            return io.kvmigrate.core.plan.DirtyLimit.ringSize(c.takeString(LV.virDomainGetXMLDesc(d, 0), "read XML of VM '" + vm + "'")) > 0;
        } catch (KvmigrateException e) {
            return false;
        }
    }

    /** The running job on the source. */
    private final class LibvirtMigrationHandle implements MigrationHandle {
        private final String vm;
        private final Pointer dom;
        private final CompletableFuture<Void> done;
        /** Set once a dirty limit was asked: the migration's end without moving the VM lifts it. */
        private final java.util.concurrent.atomic.AtomicBoolean limited;

        LibvirtMigrationHandle(String vm, Pointer dom, CompletableFuture<Void> done, java.util.concurrent.atomic.AtomicBoolean limited) {
            this.vm = vm;
            this.dom = dom;
            this.limited = limited;
            this.done = done.whenComplete((ok, err) -> LV.virDomainFree(dom));
        }

        @Override
        public void setDirtyLimit(long mibPerSecondPerVcpu) {
            if (done.isDone()) return;
            limited.set(true);
            QemuDirtyLimit.set(c, vm, mibPerSecondPerVcpu);
            // Ended meanwhile without moving: the end's lift may have come before the limit.
            if (done.isCompletedExceptionally()) QemuDirtyLimit.lift(c, vm);
        }

        @Override
        public JobStats stats() {
            if (done.isDone()) return JobStats.NONE;
            JobStats s = jobStats(dom, 0, vm);
            return s == null ? JobStats.NONE : s;
        }

        @Override
        /**
         * Aborts on a connection of its own, on a thread of its own: an abort sent on the connection that carries the
         * blocking migrate call was seen to wait until the job ended by itself (libvirt 9.0, job still in its first
         * iteration), which would turn a timeout into a hang.
         */
        public void abort() {
            if (done.isDone()) return;
            Thread t = new Thread(() -> {
                Pointer own = LV.virConnectOpenAuth(c.host.uri(), LibvirtConnector.defaultAuth(), 0);
                try {
                    Pointer d = own == null ? null : LV.virDomainLookupByName(own, vm);
                    if (d == null) {
                        LV.virDomainAbortJob(dom);
                    } else {
                        LV.virDomainAbortJob(d);
                        LV.virDomainFree(d);
                    }
                } finally {
                    if (own != null) LV.virConnectClose(own);
                }
            }, "kvmigrate-abort-" + vm);
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void setMaxDowntime(long millis) {
            c.check(LV.virDomainMigrateSetMaxDowntime(dom, millis, 0), "set the maximum downtime to " + millis + " ms", vm);
        }

        @Override
        public void setBandwidth(long mibPerSecond) {
            c.check(LV.virDomainMigrateSetMaxSpeed(dom, new NativeLong(mibPerSecond), 0), "set bandwidth to " + mibPerSecond + " MiB/s", vm);
        }

        @Override
        public void startPostCopy() {
            c.check(LV.virDomainMigrateStartPostCopy(dom, 0), "switch to post-copy", vm);
        }

        @Override
        public CompletionStage<Void> completion() {
            return done;
        }
    }

    // ---- post-copy recovery (issue 5) ----

    @Override
    public boolean pausedInPostCopy(String vm) {
        Pointer dom = LV.virDomainLookupByName(c.conn, vm);
        if (dom == null) {
            LV.virResetLastError();
            return false;
        }
        try {
            IntByReference state = new IntByReference();
            IntByReference reason = new IntByReference();
            c.check(LV.virDomainGetState(dom, state, reason, 0), "read state", vm);
            return state.getValue() == Libvirt.VIR_DOMAIN_PAUSED && (reason.getValue() == Libvirt.VIR_DOMAIN_PAUSED_POSTCOPY
                    || reason.getValue() == Libvirt.VIR_DOMAIN_PAUSED_POSTCOPY_FAILED);
        } finally {
            LV.virDomainFree(dom);
        }
    }

    @Override
    public MigrationHandle resumePostCopy(String vm, HostRef target, MigrationOptions o) {
        Pointer dom = LV.virDomainLookupByName(c.conn, vm);
        if (dom == null) throw c.error("look up VM", vm);
        long flags = moveFlags(target, o) | Libvirt.VIR_MIGRATE_POSTCOPY | Libvirt.VIR_MIGRATE_POSTCOPY_RESUME;
        // the resumed stream goes where the first one went: the same migration network
        return launch(dom, vm, target, new MigrationOptions(o.bandwidthMiBps(), 0, o.storageVerifiedShared(), false, true, false, 0)
                .withMigrationAddress(o.migrationAddress()), flags);
    }
}
