package io.kvmigrate.core.spi;

import io.kvmigrate.core.model.HostRef;

/**
 * One role of an open host connection (see {@link HostSession}). Every failure is a
 * {@link io.kvmigrate.core.api.KvmigrateException} naming {@link #host()}.
 */
public interface HostRole {
    HostRef host();
}
