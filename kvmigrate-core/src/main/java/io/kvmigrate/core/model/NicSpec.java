package io.kvmigrate.core.model;

/** One network interface: type (network, bridge, direct...), its source (network or bridge name), MAC and model. */
public record NicSpec(String type, String source, String mac, String model) {
}
