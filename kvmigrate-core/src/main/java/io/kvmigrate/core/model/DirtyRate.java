package io.kvmigrate.core.model;

/**
 * One finished dirty-rate measurement of a guest, as the hypervisor reports it.
 *
 * @param mibPerSecond distinct pages written during the period, in MiB per second
 * @param periodSeconds length of the measurement
 * @param mode "dirty-bitmap", "page-sampling" or "dirty-ring"
 * @param startTime the hypervisor's start time of the measurement (tells one measurement from the previous one)
 */
public record DirtyRate(long mibPerSecond, int periodSeconds, String mode, long startTime) {
}
