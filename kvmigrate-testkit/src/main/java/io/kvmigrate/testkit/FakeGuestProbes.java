package io.kvmigrate.testkit;

import io.kvmigrate.core.model.DirtyRate;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.spi.GuestProbes;
import io.kvmigrate.testkit.FakeHypervisor.FakeHost;
import io.kvmigrate.testkit.FaultPlan.Op;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/** A fake guest's memory (all zeros) and dirty rate (as the test scripts it, measured at once). */
final class FakeGuestProbes implements GuestProbes {
    private final FakeHost host;
    private final Map<String, DirtyRate> dirtyRates = new HashMap<>();
    private final Map<String, Long> scriptedDirtyMiBps = new HashMap<>();
    private long dirtyStarts;

    FakeGuestProbes(FakeHost host) {
        this.host = host;
    }

    @Override
    public HostRef host() {
        return host.host();
    }

    synchronized void scriptDirtyRate(String vm, long mibPerSecond) {
        scriptedDirtyMiBps.put(vm, mibPerSecond);
    }

    @Override
    public byte[] peekPhysicalMemory(String vm, long address, int length) {
        host.fault(Op.PEEK_MEMORY, vm);
        host.domains.require(vm);
        return new byte[length];
    }

    @Override
    public synchronized void startDirtyRateMeasurement(String vm, int seconds) {
        host.fault(Op.DIRTY_RATE_START, vm);
        host.domains.require(vm);
        dirtyRates.put(vm, new DirtyRate(scriptedDirtyMiBps.getOrDefault(vm, 0L), seconds, "dirty-bitmap", ++dirtyStarts));
    }

    @Override
    public synchronized Optional<DirtyRate> lastDirtyRate(String vm) {
        host.fault(Op.DIRTY_RATE_READ, vm);
        host.domains.require(vm);
        return Optional.ofNullable(dirtyRates.get(vm));
    }
}
