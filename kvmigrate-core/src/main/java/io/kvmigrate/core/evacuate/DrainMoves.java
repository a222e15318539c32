package io.kvmigrate.core.evacuate;

import io.kvmigrate.core.api.JobHandle;
import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.api.MoveRequest;
import io.kvmigrate.core.engine.EventListener;
import io.kvmigrate.core.job.Job;
import java.util.Optional;

/**
 * What a drain's runner needs of the facade: submit a move, change its cap, cancel it, read its job. The facade is the
 * implementation ({@link #of}); unit tests drive the runner with a scripted one to check the limits at every call.
 */
public interface DrainMoves {
    JobHandle submit(MoveRequest request, EventListener listener);

    /** Changes a running live move's cap (MiB/s); false when it does not run here any more. */
    boolean setBandwidth(String jobId, long mibPerSecond);

    void cancel(String jobId);

    Optional<Job> job(String jobId);

    static DrainMoves of(Kvmigrate k) {
        return new DrainMoves() {
            @Override
            public JobHandle submit(MoveRequest request, EventListener listener) {
                return k.submit(request, listener);
            }

            @Override
            public boolean setBandwidth(String jobId, long mibPerSecond) {
                return k.setBandwidth(jobId, mibPerSecond);
            }

            @Override
            public void cancel(String jobId) {
                k.cancel(jobId);
            }

            @Override
            public Optional<Job> job(String jobId) {
                return k.job(jobId);
            }
        };
    }
}
