package io.kvmigrate.cli;

import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.engine.VolumeCopier;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.PoolInfo;
import io.kvmigrate.core.spi.VolumeUpload;
import io.kvmigrate.libvirt.LibvirtConnector;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;


/** {@code kvmigrate bench copy}: sparse against full disk copies between two hosts (a benchmark, not a test); registered under {@link BenchCommand}. */
final class BenchCopyCommand {

    /** Copies one sparse raw volume twice, holes skipped and then as zeros, and prints the figures. */
    @Command(name = "copy", description = "Copy a sparse raw volume between two hosts' pools, sparse and full, and compare "
            + "(creates and deletes its own volumes; needs the full size free on the target).")
    static final class Copy implements Callable<Integer> {
        private static final long MIB = 1 << 20;
        @Spec CommandSpec spec;
        @Option(names = "--from", required = true, paramLabel = "HOST") String from;
        @Option(names = "--to", required = true, paramLabel = "HOST") String to;
        @Option(names = "--pool", defaultValue = "local", description = "Pool on both hosts (default ${DEFAULT-VALUE}).") String pool;
        @Option(names = "--size-mib", defaultValue = "8192", description = "Virtual size in MiB (default ${DEFAULT-VALUE}).") long sizeMiB;
        @Option(names = "--written-mib", defaultValue = "2048", description = "MiB of data written, in 8 runs spread over the disk (default ${DEFAULT-VALUE}).") long writtenMiB;
        @Option(names = "--no-verify", description = "Skip reading the copy back for its digest.") boolean noVerify;

        @Override
        public Integer call() {
            if (writtenMiB > sizeMiB || writtenMiB % 8 != 0 || sizeMiB % 8 != 0) {
                throw KvmigrateException.invalidInput("--written-mib must be <= --size-mib and both multiples of 8.", null);
            }
            PrintWriter out = spec.commandLine().getOut();
            HostRegistry registry = HostRegistry.fromEnvironment();
            LibvirtConnector connector = new LibvirtConnector();
            String name = "kvmigrate-bench-" + HexFormat.of().toHexDigits(new SplittableRandom().nextInt()) + ".raw";
            try (HostSession src = connector.open(registry.resolve(from)); HostSession dst = connector.open(registry.resolve(to))) {
                String srcPath = poolPath(src) + "/" + name;
                String dstPath = poolPath(dst) + "/" + name;
                try {
                    long setup = System.nanoTime();
                    src.createVolume(pool, name, "raw", sizeMiB * MIB);
                    fill(src, srcPath);
                    out.printf(Locale.ROOT, "source volume %s: %d MiB virtual, %d MiB written in 8 runs (set-up %.1f s)%n", srcPath, sizeMiB,
                            writtenMiB, (System.nanoTime() - setup) / 1e9);
                    out.flush();
                    VolumeCopier copier = new VolumeCopier(Clock.systemUTC(), () -> false, Duration.ofSeconds(1));
                    Row sparse = copy(copier, src, srcPath, dst, dstPath, true);
                    String verified = "";
                    if (!noVerify) {
                        // as a cold move verifies: the source's digest came with the copy, only the target is read back
                        long t = System.nanoTime();
                        VolumeCopier.Digest b = copier.digest(dst, dstPath);
                        double targetS = (System.nanoTime() - t) / 1e9;
                        t = System.nanoTime();
                        VolumeCopier.Digest a = copier.digest(src, srcPath);
                        verified = String.format(Locale.ROOT, "sparse copy verified: %s (block digest %s...; verify step %.1f s reading the"
                                + " target back; the source read back as a check: %s, %.1f s)", sparse.digest().equals(b) ? "equal" : "DIFFERENT",
                                b.sha256().substring(0, 16), targetS, a.equals(sparse.digest()) ? "same as streamed" : "DIFFERENT",
                                (System.nanoTime() - t) / 1e9);
                    }
                    dst.deleteVolume(dstPath);
                    Row full = copy(copier, src, srcPath, dst, dstPath, false);
                    dst.deleteVolume(dstPath);
                    out.printf(Locale.ROOT, "%n%-8s %10s %14s %12s %18s%n", "copy", "time", "data sent", "rate", "target allocated");
                    for (Row r : new Row[] {sparse, full}) {
                        out.printf(Locale.ROOT, "%-8s %9.1fs %10d MiB %8.1f MiB/s %14d MiB%n", r.mode, r.millis / 1000.0, r.sent / MIB,
                                r.sent / MIB * 1000.0 / Math.max(1, r.millis), r.allocated / MIB);
                    }
                    out.printf(Locale.ROOT, "%nsparse/full: time %.2f, bytes sent %.2f (%.1fx faster)%n", (double) sparse.millis / full.millis,
                            (double) sparse.sent / full.sent, (double) full.millis / Math.max(1, sparse.millis));
                    if (!verified.isEmpty()) out.println(verified);
                } finally {
                    dst.deleteVolume(dstPath);
                    src.deleteVolume(srcPath);
                }
            }
            out.flush();
            return 0;
        }

        private record Row(String mode, long millis, long sent, long allocated, VolumeCopier.Digest digest) {
        }

        private Row copy(VolumeCopier copier, HostSession src, String srcPath, HostSession dst, String dstPath, boolean sparse) {
            dst.createVolume(pool, name(dstPath), "raw", sizeMiB * MIB);
            VolumeCopier.Copied c = copier.copy("bench", src, srcPath, dst, dstPath, sparse, sizeMiB * MIB, p -> { });
            long allocated = dst.volume(dstPath).orElseThrow().allocation();
            return new Row(sparse ? "sparse" : "full", c.millis(), c.bytesSent(), allocated, c.sourceDigest());
        }

        /** Writes 8 runs of pseudo-random (incompressible) data, evenly spread, holes between. */
        private void fill(HostSession src, String path) {
            long run = writtenMiB / 8 * MIB;
            long stride = sizeMiB / 8 * MIB;
            byte[] chunk = new byte[(int) MIB];
            SplittableRandom rnd = new SplittableRandom(1);
            try (VolumeUpload up = src.uploadVolume(path, true)) {
                for (int i = 0; i < 8; i++) {
                    for (long left = run; left > 0; left -= chunk.length) {
                        rnd.nextBytes(chunk);
                        up.data(chunk, chunk.length);
                    }
                    if (stride > run) up.hole(stride - run);
                }
                up.finish();
            }
        }

        private String poolPath(HostSession s) {
            return s.pools().stream().filter(p -> p.name().equals(pool)).map(PoolInfo::path).findFirst()
                    .orElseThrow(() -> KvmigrateException.invalidInput("Host '" + s.host().name() + "' has no pool '" + pool + "'.",
                            "Pass --pool with a directory pool both hosts have."));
        }

        private static String name(String path) {
            return path.substring(path.lastIndexOf('/') + 1);
        }
    }
}
