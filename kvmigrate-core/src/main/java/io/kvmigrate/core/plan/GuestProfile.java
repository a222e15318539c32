package io.kvmigrate.core.plan;

/**
 * What was measured of a running guest before its migration.
 *
 * @param memoryBytes guest RAM
 * @param nonZeroBytes estimate of RAM that is not all-zero pages (zero pages cost almost nothing to move)
 * @param dirtyRateBps bytes of distinct pages dirtied per second, measured with dirty logging on (as during a migration)
 * @param dirtyRateSaturated the measurement period saw every page the guest writes at least once, so the true rate
 *        may be higher than {@code dirtyRateBps}
 * @param sampledPages how many pages the non-zero estimate looked at (0 = not sampled: all RAM counted)
 */
public record GuestProfile(long memoryBytes, long nonZeroBytes, long dirtyRateBps, boolean dirtyRateSaturated, int sampledPages) {
    public GuestProfile {
        if (memoryBytes < 0 || nonZeroBytes < 0 || dirtyRateBps < 0) throw new IllegalArgumentException("negative guest figure");
        nonZeroBytes = Math.min(nonZeroBytes, memoryBytes);
    }

    public long zeroBytes() {
        return memoryBytes - nonZeroBytes;
    }
}
