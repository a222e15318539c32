package io.kvmigrate.core.spi;

import io.kvmigrate.core.model.HostRef;

/**
 * One open connection to a host, with every role a job uses. Every failure is a
 * {@link io.kvmigrate.core.api.KvmigrateException} naming this host. Thread-safe: a migration runs on one thread while
 * another polls its statistics.
 *
 * <p>The roles ({@link Domains}, {@link Volumes}, {@link Migrations}, {@link Inventory}, {@link GuestProbes}) are
 * separate types so that code needing one can say so and a fake can be built role by role; this aggregate stays
 * because a job step opens one connection per host and uses several roles over it. Implementations usually extend
 * {@link ComposedHostSession}, which forwards each call to one object per role.
 */
public interface HostSession extends Domains, Volumes, Migrations, Inventory, GuestProbes, AutoCloseable {
    @Override
    HostRef host();

    @Override
    void close();
}
