package io.kvmigrate.core.plan;

/**
 * What was measured of a running guest before its migration.
 *
 * @param memoryBytes guest RAM
 * @param nonZeroBytes estimate of RAM that is not all-zero pages (zero pages cost almost nothing to move)
 * @param dirtyRateBps bytes of distinct pages dirtied per second, measured with dirty logging on (as during a migration);
 *        0 unless {@code rate} is {@link Rate#MEASURED}
 * @param dirtyRateSaturated the measurement period saw every page the guest writes at least once, so the true rate
 *        may be higher than {@code dirtyRateBps}
 * @param sampledPages how many pages the non-zero estimate looked at (0 = not sampled: all RAM counted)
 * @param rate whether the dirty rate was measured, and if not, why
 */
public record GuestProfile(long memoryBytes, long nonZeroBytes, long dirtyRateBps, boolean dirtyRateSaturated, int sampledPages, Rate rate) {

    /** Whether the dirty rate was measured. */
    public enum Rate {
        /** Measured by the hypervisor. */
        MEASURED,
        /** Not measured because no rate could matter: all non-zero memory fits the downtime limit. */
        IRRELEVANT,
        /** Not measured because the migration is so short that the measurement would cost more than it could tell. */
        SKIPPED_SHORT,
        /** Not measured: the hypervisor refused the measurement, or it is never asked for this VM ({@link KnownBugs#dirtyRateHazard}). */
        UNAVAILABLE
    }

    public GuestProfile {
        if (memoryBytes < 0 || nonZeroBytes < 0 || dirtyRateBps < 0) throw new IllegalArgumentException("negative guest figure");
        if (rate == null) throw new IllegalArgumentException("rate");
        nonZeroBytes = Math.min(nonZeroBytes, memoryBytes);
    }

    /** A guest whose dirty rate was measured. */
    public GuestProfile(long memoryBytes, long nonZeroBytes, long dirtyRateBps, boolean dirtyRateSaturated, int sampledPages) {
        this(memoryBytes, nonZeroBytes, dirtyRateBps, dirtyRateSaturated, sampledPages, Rate.MEASURED);
    }

    public long zeroBytes() {
        return memoryBytes - nonZeroBytes;
    }
}
