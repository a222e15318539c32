package io.kvmigrate.core.job;

/**
 * Which jobs {@link JobStore#jobs} lists; a null field matches any job.
 *
 * @param vm    the VM's name or UUID
 * @param host  the source or the target host
 * @param limit at most this many (the newest); 0 or less: all
 */
public record JobFilter(String vm, String host, JobState state, int limit) {
    /** Every job. */
    public static JobFilter all() {
        return new JobFilter(null, null, null, 0);
    }

    public JobFilter vm(String vm) {
        return new JobFilter(vm, host, state, limit);
    }

    public JobFilter host(String host) {
        return new JobFilter(vm, host, state, limit);
    }

    public JobFilter state(JobState state) {
        return new JobFilter(vm, host, state, limit);
    }

    public JobFilter limit(int limit) {
        return new JobFilter(vm, host, state, limit);
    }

    /** True if {@code job} passes this filter (the limit aside). */
    public boolean matches(Job job) {
        return (vm == null || vm.equals(job.vmName()) || vm.equals(job.vmUuid()))
                && (host == null || host.equals(job.sourceHost()) || host.equals(job.targetHost()))
                && (state == null || state == job.state());
    }
}
