package io.kvmigrate.core.plan;

/** The convergence policies a user can pick ({@code --policy}). */
public enum PolicyKind {
    /** No intervention: what {@code virsh migrate --live} does. */
    PLAIN,
    /** Pre-copy; when stalled raise the downtime limit, then throttle, then abort with the VM on the source. */
    SAFE,
    /** As SAFE, but switch to post-copy instead of aborting. */
    FINISH;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
