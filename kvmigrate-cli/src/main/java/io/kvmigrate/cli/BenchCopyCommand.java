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
        @Option(names = "--from", paramLabel = "HOST", description = "Source host (default: the first host of the lab --root starts).") String from;
        @Option(names = "--to", paramLabel = "HOST", description = "Target host (default: the lab's second host).") String to;
        @Option(names = "--root", description = "Start (or reuse) a two-host lab in this directory and copy between its hosts.") java.nio.file.Path root;
        @Option(names = "--first-octet", defaultValue = "2", description = "First loopback octet of that lab (default ${DEFAULT-VALUE}).") int firstOctet;
        @Option(names = "--pool", defaultValue = "local", description = "Pool on both hosts (default ${DEFAULT-VALUE}).") String pool;
        @Option(names = "--size-mib", defaultValue = "8192", description = "Virtual size in MiB (default ${DEFAULT-VALUE}).") long sizeMiB;
        @Option(names = "--written-mib", defaultValue = "2048", description = "MiB of data written, in 8 runs spread over the disk (default ${DEFAULT-VALUE}).") long writtenMiB;
        @Option(names = "--no-verify", description = "Skip reading the copy back for its digest.") boolean noVerify;

        @Option(names = "--large-mib", defaultValue = "20480", description = "Virtual size of the second, mostly empty disk in MiB"
                + " (0: none; default ${DEFAULT-VALUE}).") long largeMiB;
        @Option(names = "--large-written-mib", defaultValue = "64", description = "MiB written to the mostly empty disk (default ${DEFAULT-VALUE}).")
        long largeWrittenMiB;

        @Override
        public Integer call() {
            if (writtenMiB > sizeMiB || writtenMiB % 8 != 0 || sizeMiB % 8 != 0 || largeWrittenMiB > Math.max(largeMiB, 8)
                    || largeWrittenMiB % 8 != 0 || largeMiB % 8 != 0) {
                throw KvmigrateException.invalidInput("--written-mib must be <= --size-mib (--large-written-mib <= --large-mib), all multiples of 8.", null);
            }
            PrintWriter out = spec.commandLine().getOut();
            HostRegistry registry = HostRegistry.fromEnvironment();
            LibvirtConnector connector = new LibvirtConnector();
            java.util.List<Row> rows = new java.util.ArrayList<>();
            io.kvmigrate.core.model.HostRef fromRef;
            io.kvmigrate.core.model.HostRef toRef;
            if (root != null) {
                System.setProperty("kvmigrate.config.dir", root.resolve("config").toString());
                io.kvmigrate.lab.Lab lab = new io.kvmigrate.lab.Lab(new io.kvmigrate.lab.Lab.Config(root, firstOctet, 2, "lab"), connector,
                        HostRegistry.fromEnvironment());
                lab.up(line -> out.println("[bench] " + line));
                fromRef = from != null ? registry.resolve(from) : lab.hosts().get(0).ref();
                toRef = to != null ? registry.resolve(to) : lab.hosts().get(1).ref();
            } else if (from == null || to == null) {
                throw KvmigrateException.invalidInput("Give --from and --to, or --root for a lab of its own.", null);
            } else {
                fromRef = registry.resolve(from);
                toRef = registry.resolve(to);
            }
            try (HostSession src = connector.open(fromRef); HostSession dst = connector.open(toRef)) {
                rows.addAll(disk(out, src, dst, sizeMiB, writtenMiB, true));
                // the mostly empty large disk: only the sparse copy (a full one would write its virtual size of zeros)
                if (largeMiB > 0) rows.addAll(disk(out, src, dst, largeMiB, largeWrittenMiB, false));
            }
            long fullRate = rows.stream().filter(r -> r.mode.equals("full")).mapToLong(r -> r.sent * 1000 / Math.max(1, r.millis)).max().orElse(0);
            out.printf(Locale.ROOT, "%n| disk | copy | copy s | data sent MiB | rate MiB/s | target allocated MiB | verify s | copy + verify s | bound s |%n");
            out.println("|---|---|---|---|---|---|---|---|---|");
            for (Row r : rows) {
                // The bound for an offline move: 1.5 x (allocated data / copy throughput) + 2 s (throughput: the full copy's rate)
                String bound = r.mode.equals("sparse") && fullRate > 0 ? String.format(Locale.ROOT, "%.1f", 1.5 * r.sent / fullRate + 2) : "-";
                out.printf(Locale.ROOT, "| %d MiB, %d written | %s | %.1f | %d | %.1f | %d | %s | %s | %s |%n", r.sizeMiB, r.writtenMiB, r.mode,
                        r.millis / 1000.0, r.sent / MIB, r.sent / MIB * 1000.0 / Math.max(1, r.millis), r.allocated / MIB,
                        r.verifyMillis >= 0 ? String.format(Locale.ROOT, "%.2f", r.verifyMillis / 1000.0) : "-",
                        r.verifyMillis >= 0 ? String.format(Locale.ROOT, "%.2f", (r.millis + r.verifyMillis) / 1000.0) : "-", bound);
            }
            out.flush();
            return 0;
        }

        /** One disk: made, filled, copied sparse (and verified as a cold move does), then full when {@code full}. */
        private java.util.List<Row> disk(PrintWriter out, HostSession src, HostSession dst, long size, long written, boolean full) {
            String name = "kvmigrate-bench-" + HexFormat.of().toHexDigits(new SplittableRandom().nextInt()) + ".raw";
            String srcPath = poolPath(src) + "/" + name;
            String dstPath = poolPath(dst) + "/" + name;
            java.util.List<Row> rows = new java.util.ArrayList<>();
            try {
                long setup = System.nanoTime();
                src.createVolume(pool, name, "raw", size * MIB);
                fill(src, srcPath, size, written);
                out.printf(Locale.ROOT, "source volume %s: %d MiB virtual, %d MiB written in 8 runs (set-up %.1f s)%n", srcPath, size,
                        written, (System.nanoTime() - setup) / 1e9);
                out.flush();
                VolumeCopier copier = new VolumeCopier(Clock.systemUTC(), () -> false, Duration.ofSeconds(1));
                Row sparse = copy(copier, src, srcPath, dst, dstPath, true, size, written);
                if (!noVerify) {
                    // as a cold move verifies: the source's digest came with the copy, only the target is read back
                    long t = System.nanoTime();
                    VolumeCopier.Digest b = copier.digest(dst, dstPath);
                    long verify = (System.nanoTime() - t) / 1_000_000;
                    sparse = sparse.verified(verify);
                    out.printf(Locale.ROOT, "sparse copy verified: %s (block digest %s...; %.2f s reading the target back)%n",
                            sparse.digest().equals(b) ? "equal" : "DIFFERENT", b.sha256().substring(0, 16), verify / 1000.0);
                }
                rows.add(sparse);
                dst.deleteVolume(dstPath);
                if (full) {
                    rows.add(copy(copier, src, srcPath, dst, dstPath, false, size, written));
                    dst.deleteVolume(dstPath);
                }
            } finally {
                dst.deleteVolume(dstPath);
                src.deleteVolume(srcPath);
            }
            return rows;
        }

        private record Row(long sizeMiB, long writtenMiB, String mode, long millis, long sent, long allocated, VolumeCopier.Digest digest,
                long verifyMillis) {
            Row verified(long ms) {
                return new Row(sizeMiB, writtenMiB, mode, millis, sent, allocated, digest, ms);
            }
        }

        private Row copy(VolumeCopier copier, HostSession src, String srcPath, HostSession dst, String dstPath, boolean sparse, long size,
                long written) {
            dst.createVolume(pool, name(dstPath), "raw", size * MIB);
            VolumeCopier.Copied c = copier.copy("bench", src, srcPath, dst, dstPath, sparse, size * MIB, p -> { });
            long allocated = dst.volume(dstPath).orElseThrow().allocation();
            return new Row(size, written, sparse ? "sparse" : "full", c.millis(), c.bytesSent(), allocated, c.sourceDigest(), -1);
        }

        /** Writes 8 runs of pseudo-random (incompressible) data, evenly spread, holes between. */
        private void fill(HostSession src, String path, long sizeMiB, long writtenMiB) {
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
