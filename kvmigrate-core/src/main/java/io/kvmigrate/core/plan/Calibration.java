package io.kvmigrate.core.plan;

/**
 * Constants of the time model that are not the guest's or the link's: fitted on the lab (see docs/benchmarks.md).
 *
 * @param startupMs wall time a migration costs before the first page moves and after the last (target QEMU start,
 *        handshake, device state, verification); independent of memory size
 * @param zeroScanBps how fast the hypervisor walks zero pages, which it sends as tiny markers
 * @param linkEfficiency share of the bandwidth cap the page stream really gets (headers, rate-limiter granularity)
 * @param minIterationMs the hypervisor re-syncs the dirty bitmap at least this often, so a pass is never shorter
 */
public record Calibration(long startupMs, long zeroScanBps, double linkEfficiency, long minIterationMs) {
    public Calibration {
        if (startupMs < 0 || zeroScanBps <= 0 || linkEfficiency <= 0 || linkEfficiency > 1 || minIterationMs < 0) {
            throw new IllegalArgumentException("bad calibration");
        }
    }

    /**
     * Values measured on the 2-core nested-KVM lab machine with QEMU 7.2 / libvirt 9.0. The fixed cost was refitted on
     * bench run 10 (idle and 0.3x rows: 1.5-1.7 s) once {@code migrate} stopped measuring short migrations before the
     * start, and checked on run 11 (docs/benchmarks.md).
     */
    public static Calibration lab() {
        return new Calibration(600, 2048L << 20, 0.95, 100);
    }
}
