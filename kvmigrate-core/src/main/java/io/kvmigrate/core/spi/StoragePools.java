package io.kvmigrate.core.spi;

import java.util.List;
import java.util.Optional;

/**
 * The storage pools of one host, as a role of their own: list them, define a dir or NFS pool, start it, mark it
 * autostart, and the undo of each (stop, undefine) for a rollback. Reached through {@link HostSession#storagePools()}
 * and valid as long as that session is open. Every failure is a {@link io.kvmigrate.core.api.KvmigrateException}
 * naming the host and the pool.
 */
public interface StoragePools {
    /** Every pool of the host, active or not. */
    List<PoolStatus> list();

    /** The pool of that name; empty when the host has none. */
    Optional<PoolStatus> find(String name);

    /** Defines a persistent pool (not started); the spec is validated first. */
    void define(PoolSpec spec);

    /** Starts (activates) a defined pool; an NFS pool is mounted, its mount point created when missing. */
    void start(String name);

    void setAutostart(String name, boolean autostart);

    /** Stops an active pool (an NFS pool is unmounted); its files stay. */
    void stop(String name);

    /** Removes an inactive pool's definition; its files stay. */
    void undefine(String name);
}
