package io.kvmigrate.core.engine;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.DiskSpec;
import io.kvmigrate.core.model.VmSpec;
import io.kvmigrate.core.spi.HostSession;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Proves, through the hypervisor API alone, that each disk of a VM is the same file on two hosts:
 * a random probe is written into the disk's directory through the source and read back through the
 * target, and the disk file itself must have the same size on both. Only a disk proved this way lets the
 * migration skip the hypervisor's own shared-storage guess (which cannot recognise a plain shared directory).
 */
public final class SharedStorageVerifier {
    private final SecureRandom random = new SecureRandom();

    /** One verified disk and how it was verified. */
    public record Verified(String disk, String path, String how) {
    }

    /** Returns one entry per disk; throws STORAGE_NOT_SHARED naming the first disk that is not shared. */
    public List<Verified> verify(VmSpec vm, HostSession source, HostSession target) {
        List<Verified> out = new ArrayList<>();
        Map<String, Boolean> sharedDirs = new LinkedHashMap<>();
        for (DiskSpec disk : vm.disks()) {
            if (!disk.hasLocalSource()) {
                out.add(new Verified(disk.target(), String.valueOf(disk.sourcePath()),
                        disk.sourcePath() == null ? "no source (empty drive)" : "network disk, shared by nature"));
                continue;
            }
            if ("block".equals(disk.sourceType())) {
                throw notShared(vm, disk, source, "it is a block device; kvmigrate can only prove sharing for files",
                        "Put the disk on a file-based shared store (NFS, GlusterFS, CephFS), or use a network disk (rbd, iscsi) that libvirt knows is shared.");
            }
            String path = disk.sourcePath();
            int slash = path.lastIndexOf('/');
            if (slash <= 0) {
                throw notShared(vm, disk, source, "its path '" + path + "' has no directory", "Use absolute disk paths.");
            }
            String dir = path.substring(0, slash);
            String file = path.substring(slash + 1);
            boolean dirShared = sharedDirs.computeIfAbsent(dir, d -> probe(vm, disk, d, source, target));
            if (!dirShared) {
                throw new DirectoryNotShared(target.host().name(), vm.name(), "Disk " + disk.target() + " (" + path + ") is not shared storage: "
                        + "a probe file written into " + dir + " through host '" + source.host().name() + "' cannot be read through host '"
                        + target.host().name() + "'.",
                        "Mount the same shared storage (NFS, CephFS, GlusterFS) at " + dir + " on both hosts, or move the disk with storage copy.", dir);
            }
            Optional<Long> sourceSize = source.fileSize(dir, file);
            Optional<Long> targetSize = target.fileSize(dir, file);
            if (sourceSize.isEmpty()) {
                throw new KvmigrateException(ErrorCode.STORAGE_NOT_SHARED, Phase.VERIFY_STORAGE.label(), source.host().name(), vm.name(),
                        "Disk " + disk.target() + " (" + path + ") is not visible through the source host's storage API.",
                        "Check that the file exists and that libvirt can read its directory.");
            }
            if (targetSize.isEmpty() || !targetSize.equals(sourceSize)) {
                throw notShared(vm, disk, target, "the file " + path + " is " + targetSize.map(s -> s + " bytes").orElse("missing")
                        + " on the target but " + sourceSize.get() + " bytes on the source",
                        "The directory is shared but this file is not the same one: check for overlay mounts or stale copies.");
            }
            out.add(new Verified(disk.target(), path, "probe written through " + source.host().name() + " read through "
                    + target.host().name() + "; size " + sourceSize.get() + " bytes on both"));
        }
        return out;
    }

    private boolean probe(VmSpec vm, DiskSpec disk, String dir, HostSession source, HostSession target) {
        Probe p;
        try {
            p = writeProbe(dir, source);
        } catch (KvmigrateException e) {
            throw new KvmigrateException(ErrorCode.STORAGE_NOT_SHARED, Phase.VERIFY_STORAGE.label(), source.host().name(), vm.name(),
                    "Tried to write a sharing probe into " + dir + " (disk " + disk.target() + ") but failed because: " + e.getMessage(),
                    "kvmigrate needs write access to the disk's directory through libvirt to prove it is shared.", e);
        }
        try (p) {
            return p.seenThrough(target);
        }
    }

    /**
     * Writes a random probe file into {@code dir} through {@code writer}'s storage API (throws what that throws). Look for
     * it through other hosts with {@link Probe#seenThrough}; closing the probe deletes it through the writer.
     */
    public Probe writeProbe(String dir, HostSession writer) {
        byte[] content = new byte[64];
        random.nextBytes(content);
        String name = ".kvmigrate-probe-" + HexFormat.of().formatHex(content, 0, 8);
        writer.writeProbe(dir, name, content);
        return new Probe(dir, name, content, writer);
    }

    /** A probe file written through one host; it proves a directory shared with each host that sees the same bytes. */
    public static final class Probe implements AutoCloseable {
        private final String dir;
        private final String name;
        private final byte[] content;
        private final HostSession writer;

        private Probe(String dir, String name, byte[] content, HostSession writer) {
            this.dir = dir;
            this.name = name;
            this.content = content;
            this.writer = writer;
        }

        /** Whether {@code reader} sees this very file (same random bytes) in the same directory. */
        public boolean seenThrough(HostSession reader) {
            Optional<byte[]> seen = reader.readProbe(dir, name, content.length);
            return seen.isPresent() && Arrays.equals(seen.get(), content);
        }

        @Override
        public void close() {
            writer.deleteProbe(dir, name);
        }
    }

    /** STORAGE_NOT_SHARED because the disk's directory itself is not shared (not the file, not the disk type): {@link #directory()} is the one to share. */
    public static final class DirectoryNotShared extends KvmigrateException {
        private final String directory;

        DirectoryNotShared(String host, String vm, String message, String hint, String directory) {
            super(ErrorCode.STORAGE_NOT_SHARED, Phase.VERIFY_STORAGE.label(), host, vm, message, hint);
            this.directory = directory;
        }

        public String directory() {
            return directory;
        }
    }

    private static KvmigrateException notShared(VmSpec vm, DiskSpec disk, HostSession host, String why, String hint) {
        return new KvmigrateException(ErrorCode.STORAGE_NOT_SHARED, Phase.VERIFY_STORAGE.label(), host.host().name(), vm.name(),
                "Disk " + disk.target() + " (" + disk.sourcePath() + ") is not shared storage: " + why + ".", hint);
    }
}
