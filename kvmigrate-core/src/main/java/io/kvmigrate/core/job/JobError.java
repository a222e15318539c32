package io.kvmigrate.core.job;

import io.kvmigrate.core.api.KvmigrateException;
import java.util.Objects;

/**
 * Why a job failed, as it is kept in history. The code is the {@link io.kvmigrate.core.api.ErrorCode} name as text, so a
 * record written by another version of kvmigrate still reads back.
 */
public record JobError(String code, String step, String host, String vm, String message, String hint) {
    public JobError {
        Objects.requireNonNull(code, "code");
        Objects.requireNonNull(message, "message");
    }

    /** The error as the job's history keeps it. */
    public static JobError of(KvmigrateException e) {
        return new JobError(e.code().name(), e.step(), e.host(), e.vm(), String.valueOf(e.getMessage()), e.hint());
    }
}
