package io.kvmigrate.core.storage;

/**
 * The sharing probe through one ordered pair of hosts: a random file written into the pool's directory through
 * {@code writer}, looked for through {@code reader}.
 *
 * @param detail why the pair is not proved shared, null when it is
 */
public record PairProof(String writer, String reader, boolean shared, String detail) {
}
