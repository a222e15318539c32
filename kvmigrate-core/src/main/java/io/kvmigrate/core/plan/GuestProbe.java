package io.kvmigrate.core.plan;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.engine.Scheduler;
import io.kvmigrate.core.model.DirtyRate;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.spi.HostSession;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongFunction;

/**
 * Measures a running guest for the {@link Planner}: how much of its RAM is non-zero (by reading a fixed, seeded sample
 * of 64 KiB chunks of guest physical memory through the hypervisor) and how fast it dirties memory (the hypervisor's
 * dirty-rate measurement with dirty logging on, so the guest is slowed as a migration would slow it).
 *
 * <p>The dirty-rate figure counts distinct pages written in the period; a guest that rewrites its whole working set
 * within the period saturates it. When the measured bytes reach 90% of the non-zero RAM the profile says so
 * ({@link GuestProfile#dirtyRateSaturated()}): the true rate is at least the figure.
 */
public final class GuestProbe {
    static final int CHUNK = 65536;
    static final long LOW_RAM_END = 3L << 30;
    static final long HIGH_RAM_START = 4L << 30;

    private final Clock clock;
    private final Scheduler scheduler;
    private final int chunks;
    private final int seconds;

    /**
     * @param chunks number of 64 KiB chunks read for the non-zero estimate (16 pages each)
     * @param seconds dirty-rate measurement period (QEMU 7.2 takes whole seconds)
     */
    public GuestProbe(Clock clock, Scheduler scheduler, int chunks, int seconds) {
        this.clock = clock;
        this.scheduler = scheduler;
        this.chunks = chunks;
        this.seconds = seconds;
    }

    /** Samples memory, then measures the dirty rate; the future completes when the hypervisor has the figure. */
    public CompletableFuture<GuestProfile> measure(HostSession host, String vm) {
        return measure(host, vm, nonZero -> GuestProfile.Rate.MEASURED);
    }

    /**
     * As {@link #measure(HostSession, String)}, but first asks {@code decide} with the sampled non-zero memory whether the
     * dirty rate is worth a measurement ({@link GuestProfile.Rate#MEASURED}); any other answer completes at once with
     * that reason and rate 0 ({@link GuestProfile.Rate#IRRELEVANT} is marked saturated: any rate converges).
     */
    public CompletableFuture<GuestProfile> measure(HostSession host, String vm, LongFunction<GuestProfile.Rate> decide) {
        return measure(host, vm, decide, false);
    }

    /**
     * As {@link #measure(HostSession, String, LongFunction)}; {@code eager}: the dirty-rate measurement starts first and the
     * memory is sampled during its period, so the profile is ready about one period after the call instead of after the
     * sampling plus the period (for {@code finish}, which always measures: see {@link Planner#measurementDecision}). The
     * rate is then measured whatever {@code decide} says.
     */
    public CompletableFuture<GuestProfile> measure(HostSession host, String vm, LongFunction<GuestProfile.Rate> decide, boolean eager) {
        VmInfo info = host.findVm(vm).orElseThrow(() -> new KvmigrateException(ErrorCode.UNKNOWN_VM, "plan", host.host().name(), vm,
                "No VM named '" + vm + "' on host '" + host.host().name() + "'.", "List the VMs of host '" + host.host().name() + "' to find its name."));
        if (!info.state().isActive()) {
            throw new KvmigrateException(ErrorCode.VM_NOT_RUNNING, "plan", host.host().name(), vm, "VM '" + vm + "' is not running: there is"
                    + " no dirty rate to measure.", "Start it first.");
        }
        long memory = info.spec().memoryKiB() * 1024;
        if (KnownBugs.dirtyRateHazard(info.spec().domainType(), host.facts().hypervisorVersion()) != null) {
            // Never asked: the measurement ended such a guest's QEMU (KnownBugs). The policy judges from the live statistics.
            return unavailable(memory, nonZeroBytes(host, vm, memory));
        }
        long previousStart = Long.MIN_VALUE;
        Instant started = null;
        if (eager) {
            previousStart = host.lastDirtyRate(vm).map(DirtyRate::startTime).orElse(Long.MIN_VALUE);
            if (!startMeasurement(host, vm)) return unavailable(memory, nonZeroBytes(host, vm, memory));
            started = clock.instant();
        }
        long nonZero = nonZeroBytes(host, vm, memory);
        GuestProfile.Rate decision = decide.apply(nonZero);
        if (!eager && decision != GuestProfile.Rate.MEASURED) {
            return CompletableFuture.completedFuture(new GuestProfile(memory, nonZero, 0, decision == GuestProfile.Rate.IRRELEVANT,
                    chunks * (CHUNK / 4096), decision));
        }
        if (!eager) {
            previousStart = host.lastDirtyRate(vm).map(DirtyRate::startTime).orElse(Long.MIN_VALUE);
            if (!startMeasurement(host, vm)) return unavailable(memory, nonZero);
            started = clock.instant();
        }
        long previous = previousStart;
        // The figure cannot exist before the period is over: ask the hypervisor only from then on, often.
        Instant firstLook = started.plusMillis(seconds * 1000L - 50);
        Instant deadline = started.plusSeconds(seconds + 10L);
        CompletableFuture<GuestProfile> result = new CompletableFuture<>();
        AtomicReference<Scheduler.Cancellable> poll = new AtomicReference<>();
        poll.set(scheduler.every(Duration.ofMillis(25), () -> {
            if (result.isDone() || clock.instant().isBefore(firstLook)) return;
            try {
                Optional<DirtyRate> r = host.lastDirtyRate(vm).filter(d -> d.startTime() != previous);
                if (r.isPresent()) {
                    long bps = r.get().mibPerSecond() << 20;
                    boolean saturated = bps * r.get().periodSeconds() >= nonZero * 9 / 10;
                    result.complete(new GuestProfile(memory, nonZero, bps, saturated, chunks * (CHUNK / 4096)));
                } else if (clock.instant().isAfter(deadline)) {
                    result.completeExceptionally(new KvmigrateException(ErrorCode.LIBVIRT_ERROR, "plan", host.host().name(), vm,
                            "Tried to measure the dirty rate but failed because the hypervisor gave no result within " + (seconds + 10)
                                    + " s.", "Check that the VM runs under QEMU 5.1 or later."));
                }
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        }));
        result.whenComplete((p, e) -> poll.get().cancel());
        return result;
    }

    /** Starts the measurement; false when the hypervisor refuses it (an aid, never a condition: the move goes on unmeasured). */
    private boolean startMeasurement(HostSession host, String vm) {
        try {
            host.startDirtyRateMeasurement(vm, seconds);
            return true;
        } catch (KvmigrateException e) {
            return false;
        }
    }

    private CompletableFuture<GuestProfile> unavailable(long memory, long nonZero) {
        return CompletableFuture.completedFuture(new GuestProfile(memory, nonZero, 0, false, chunks * (CHUNK / 4096), GuestProfile.Rate.UNAVAILABLE));
    }

    /** Estimates non-zero RAM from a seeded sample of chunks spread over the guest's RAM (low RAM, then above 4 GiB). */
    long nonZeroBytes(HostSession host, String vm, long memory) {
        if (chunks <= 0 || memory < CHUNK) return memory;
        Random random = new Random(0x6b766d);
        long slots = memory / CHUNK;
        int nonZeroPages = 0;
        int pages = 0;
        for (int i = 0; i < chunks; i++) {
            long offset = (long) (random.nextDouble() * slots) * CHUNK;
            long address = offset < LOW_RAM_END ? offset : HIGH_RAM_START + (offset - LOW_RAM_END);
            byte[] data;
            try {
                data = host.peekPhysicalMemory(vm, address, CHUNK);
            } catch (KvmigrateException e) {
                data = null; // a hole in the guest's address map: count it as non-zero, the safe side
            }
            for (int p = 0; p < CHUNK; p += 4096) {
                pages++;
                if (data == null || !zero(data, p, 4096)) nonZeroPages++;
            }
        }
        return Math.round((double) memory * nonZeroPages / pages);
    }

    private static boolean zero(byte[] b, int from, int len) {
        for (int i = from; i < from + len; i++) {
            if (b[i] != 0) return false;
        }
        return true;
    }
}
