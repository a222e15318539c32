package io.kvmigrate.core.preflight;

/** The kind of migration being checked: live on shared storage, live copying local disks, or offline (moved while shut off). */
public enum Mode { LIVE, LIVE_COPY_STORAGE, OFFLINE }
