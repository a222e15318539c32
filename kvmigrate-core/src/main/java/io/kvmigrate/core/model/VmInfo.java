package io.kvmigrate.core.model;

/** A VM as seen on one host: its spec, state and whether it is defined persistently. */
public record VmInfo(VmSpec spec, VmState state, boolean persistent) {
    public String name() {
        return spec.name();
    }
}
