package io.kvmigrate.core.spi;

/** A storage pool of one host: name, type (dir, fs, ...), target directory and space in bytes. */
public record PoolInfo(String name, String type, String path, long capacity, long available, boolean active) {
}
