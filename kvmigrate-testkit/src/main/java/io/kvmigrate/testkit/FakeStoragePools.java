package io.kvmigrate.testkit;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.spi.PoolSpec;
import io.kvmigrate.core.spi.PoolStatus;
import io.kvmigrate.core.spi.StoragePools;
import io.kvmigrate.testkit.FaultPlan.Op;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.Consumer;

/**
 * In-memory storage pools of one fake host. Every change is logged as "pool-define NAME", "pool-start NAME",
 * "pool-autostart NAME=true", "pool-stop NAME", "pool-undefine NAME" into the host's calls; a call can be scripted to
 * fail by the {@link FaultPlan} ({@code POOL_*} operations, the pool's name as subject). Like libvirt, it refuses a second
 * pool on one directory and calls on a missing pool.
 */
public final class FakeStoragePools implements StoragePools {
    private final String host;
    private final Consumer<String> calls;
    private final BiFunction<Op, String, FaultPlan.Hit> faults;
    private final Map<String, PoolStatus> pools = new LinkedHashMap<>();

    FakeStoragePools(String host, Consumer<String> calls, BiFunction<Op, String, FaultPlan.Hit> faults) {
        this.host = host;
        this.calls = calls;
        this.faults = faults;
    }

    /** Puts an existing pool (not logged as a call). */
    public synchronized FakeStoragePools put(PoolSpec spec, boolean active, boolean autostart, boolean persistent) {
        pools.put(spec.name(), new PoolStatus(spec, active, autostart, persistent, active ? 100L << 30 : 0, 0, active ? 60L << 30 : 0));
        return this;
    }

    /** A libvirt-like failure of this host (for {@link FaultPlan.Rule#fail(KvmigrateException)}). */
    public KvmigrateException libvirtError(String message) {
        return new KvmigrateException(ErrorCode.LIBVIRT_ERROR, null, host, null, message, null);
    }

    @Override
    public synchronized List<PoolStatus> list() {
        faults.apply(Op.POOL_LIST, null);
        return List.copyOf(pools.values());
    }

    @Override
    public synchronized Optional<PoolStatus> find(String name) {
        faults.apply(Op.POOL_FIND, name);
        return Optional.ofNullable(pools.get(name));
    }

    @Override
    public synchronized void define(PoolSpec spec) {
        spec.validated();
        call(Op.POOL_DEFINE, spec.name(), "pool-define " + spec.name());
        if (pools.containsKey(spec.name())) throw libvirtError("pool '" + spec.name() + "' already exists");
        if (pools.values().stream().anyMatch(p -> p.spec().path().equals(spec.path()))) {
            throw libvirtError("Storage source conflict on " + spec.path());
        }
        pools.put(spec.name(), new PoolStatus(spec, false, false, true, 0, 0, 0));
    }

    @Override
    public synchronized void start(String name) {
        PoolStatus p = require(name);
        call(Op.POOL_START, name, "pool-start " + name);
        if (p.active()) throw libvirtError("pool '" + name + "' is already active");
        pools.put(name, new PoolStatus(p.spec(), true, p.autostart(), p.persistent(), 100L << 30, 0, 60L << 30));
    }

    @Override
    public synchronized void setAutostart(String name, boolean autostart) {
        PoolStatus p = require(name);
        call(Op.POOL_AUTOSTART, name, "pool-autostart " + name + "=" + autostart);
        pools.put(name, new PoolStatus(p.spec(), p.active(), autostart, p.persistent(), p.capacity(), p.allocation(), p.available()));
    }

    @Override
    public synchronized void stop(String name) {
        PoolStatus p = require(name);
        call(Op.POOL_STOP, name, "pool-stop " + name);
        if (!p.active()) throw libvirtError("pool '" + name + "' is not active");
        if (!p.persistent()) pools.remove(name);
        else pools.put(name, new PoolStatus(p.spec(), false, p.autostart(), true, 0, 0, 0));
    }

    @Override
    public synchronized void undefine(String name) {
        PoolStatus p = require(name);
        call(Op.POOL_UNDEFINE, name, "pool-undefine " + name);
        if (p.active()) throw libvirtError("pool '" + name + "' is still active");
        pools.remove(name);
    }

    private PoolStatus require(String name) {
        PoolStatus p = pools.get(name);
        if (p == null) throw new KvmigrateException(ErrorCode.LIBVIRT_ERROR, null, host, null, "no storage pool '" + name + "'", null);
        return p;
    }

    /** Logs the call, or throws its planned failure (logging nothing: the change did not happen). */
    private void call(Op op, String pool, String call) {
        faults.apply(op, pool);
        calls.accept(call);
    }
}
