package io.kvmigrate.libvirt;

import com.sun.jna.Pointer;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.spi.ComposedHostSession;
import io.kvmigrate.core.spi.Domains;
import io.kvmigrate.core.spi.GuestProbes;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.Inventory;
import io.kvmigrate.core.spi.Migrations;
import io.kvmigrate.core.spi.Volumes;

/**
 * A {@link HostSession} over one libvirt connection: one object per role, all sharing that connection
 * ({@link LibvirtConnection}); closing the session closes it. Libvirt connections are thread-safe, so the roles need no
 * lock of their own; only an abort goes on a connection of its own (see {@link LibvirtMigrations}).
 */
final class LibvirtHostSession extends ComposedHostSession {
    private final LibvirtConnection connection;
    private final LibvirtDomains domains;
    private final LibvirtVolumes volumes;
    private final LibvirtMigrations migrations;
    private final LibvirtInventory inventory;
    private final LibvirtGuestProbes guestProbes;

    LibvirtHostSession(HostRef host, Pointer conn) {
        super(host);
        connection = new LibvirtConnection(host, conn);
        domains = new LibvirtDomains(connection);
        volumes = new LibvirtVolumes(connection);
        migrations = new LibvirtMigrations(connection);
        inventory = new LibvirtInventory(connection);
        guestProbes = new LibvirtGuestProbes(connection);
    }

    @Override
    protected Domains domainsRole() {
        return domains;
    }

    @Override
    protected Volumes volumesRole() {
        return volumes;
    }

    @Override
    protected Migrations migrationsRole() {
        return migrations;
    }

    @Override
    protected Inventory inventoryRole() {
        return inventory;
    }

    @Override
    protected GuestProbes guestProbesRole() {
        return guestProbes;
    }

    @Override
    public void close() {
        connection.close();
    }
}
