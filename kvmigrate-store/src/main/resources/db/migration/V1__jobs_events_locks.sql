-- Portable SQL: the same file runs on SQLite and PostgreSQL. Times are epoch milliseconds (BIGINT): one type that
-- both hold, sorts correctly and has no time zone to get wrong. JSON is kept as TEXT, written and read by the store.

CREATE TABLE jobs (
    id               TEXT    NOT NULL PRIMARY KEY,
    kind             TEXT    NOT NULL,
    vm_name          TEXT    NOT NULL,
    vm_uuid          TEXT,
    source_host      TEXT    NOT NULL,
    target_host      TEXT    NOT NULL,
    request_json     TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    phase            TEXT,
    owner            TEXT,
    created_at       BIGINT  NOT NULL,
    started_at       BIGINT,
    ended_at         BIGINT,
    heartbeat_at     BIGINT,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    total_ms         BIGINT,
    downtime_ms      BIGINT,
    bytes_sent       BIGINT,
    iterations       BIGINT,
    predicted_ms     BIGINT,
    placement_json   TEXT,
    error_code       TEXT,
    error_step       TEXT,
    error_host       TEXT,
    error_vm         TEXT,
    error_message    TEXT,
    error_hint       TEXT,
    -- The seq of the job's last event: appending increments it under the row's write lock, so two appenders can never
    -- be given the same seq (a MAX(seq)+1 read could, on PostgreSQL).
    last_seq         BIGINT  NOT NULL DEFAULT 0
);

-- Listing is newest first; orphans and claims look at the live states only.
CREATE INDEX jobs_by_created ON jobs (created_at);
CREATE INDEX jobs_by_state ON jobs (state, created_at);
CREATE INDEX jobs_by_vm ON jobs (vm_name);

CREATE TABLE job_events (
    job_id    TEXT   NOT NULL REFERENCES jobs (id),
    seq       BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    type      TEXT   NOT NULL,
    step      TEXT,
    message   TEXT   NOT NULL,
    data_json TEXT,
    PRIMARY KEY (job_id, seq)
);

-- One row per locked VM; the primary key is what makes a lock exclusive. The lock belongs to a job, not a process:
-- whoever owns the job holds it, and a row whose job has ended holds nothing (it is replaced by the next locker).
CREATE TABLE vm_locks (
    vm_key    TEXT   NOT NULL PRIMARY KEY,
    job_id    TEXT   NOT NULL REFERENCES jobs (id),
    locked_at BIGINT NOT NULL
);
CREATE INDEX vm_locks_by_job ON vm_locks (job_id);
