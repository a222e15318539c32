package io.kvmigrate.core.preflight;

import java.util.List;

/** One preflight check: a pure function of the gathered facts, so it is testable on recorded libvirt XML. */
public interface Check {
    /** The check's name, also the code of its PASS findings. */
    String name();

    List<Finding> check(PreflightContext ctx);
}
