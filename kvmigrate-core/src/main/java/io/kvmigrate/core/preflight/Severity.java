package io.kvmigrate.core.preflight;

/** How bad a finding is: FAIL refuses the migration, WARN is shown, PASS records what was checked. */
public enum Severity { FAIL, WARN, PASS }
