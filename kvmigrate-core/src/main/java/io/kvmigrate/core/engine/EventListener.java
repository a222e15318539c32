package io.kvmigrate.core.engine;

/** Receives migration events; must not throw and should return quickly. */
@FunctionalInterface
public interface EventListener {
    void on(MigrationEvent event);

    EventListener NONE = e -> { };
}
