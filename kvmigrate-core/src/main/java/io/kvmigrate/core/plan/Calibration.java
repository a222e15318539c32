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
     * Values measured on the 2-core nested-KVM lab machine with QEMU 7.2 / libvirt 9.0. The fixed cost (0.6 s) is the
     * libvirt debug log's timeline of a migration with the lab's QEMUs reaped at once: target QEMU start 0.3 s, source
     * QEMU stop 0.2 s (libvirt polls every 200 ms), verification; checked on bench run 18 (docs/benchmarks.md).
     */
    public static Calibration lab() {
        return new Calibration(600, 2048L << 20, 0.95, 100);
    }
}
