package io.kvmigrate.core.preflight;

/** The kind of migration being checked: live (the VM keeps running) or offline (moved while shut off). */
public enum Mode { LIVE, OFFLINE }
