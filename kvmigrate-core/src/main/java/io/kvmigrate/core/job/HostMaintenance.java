package io.kvmigrate.core.job;

import java.time.Instant;

/** A host put in maintenance: never a target of a drain until it is taken out again. Times to the millisecond. */
public record HostMaintenance(String host, String uri, Instant since) {
    public HostMaintenance {
        java.util.Objects.requireNonNull(host, "host");
        java.util.Objects.requireNonNull(uri, "uri");
        since = Job.millis(since);
    }
}
