package io.kvmigrate.core.spi;

/**
 * One storage pool of one host as libvirt reports it: its definition, whether it is running, started at boot and
 * persistent, and its space in bytes (0 while inactive).
 */
public record PoolStatus(PoolSpec spec, boolean active, boolean autostart, boolean persistent, long capacity, long allocation,
        long available) {
    public String name() {
        return spec.name();
    }
}
