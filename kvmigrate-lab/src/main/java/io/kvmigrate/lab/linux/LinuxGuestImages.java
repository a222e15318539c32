package io.kvmigrate.lab.linux;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.cpio.CpioArchiveEntry;
import org.apache.commons.compress.archivers.cpio.CpioArchiveOutputStream;
import org.apache.commons.compress.archivers.cpio.CpioConstants;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Builds the real Linux guest's boot files from Debian packages only: the kernel of {@code linux-image-amd64} and an
 * initramfs holding {@code busybox-static}, the virtio block modules and the lab's {@code init.sh}. Packages are fetched
 * with {@code apt-get download} (the package registry is the only source) and unpacked with {@code dpkg-deb}; nothing is
 * installed on the machine. The files are cached in one directory outside the lab hosts' private mounts, so every lab
 * host (and the target QEMU of a migration) sees them at the same path.
 */
public final class LinuxGuestImages {
    /** Kernel modules the guest needs for its virtio disk, in load order (each after what its modinfo "depends" names). */
    static final List<String> MODULES = List.of("virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci",
            "virtio_blk");

    /** The boot files of one build. */
    public record Images(Path kernel, Path initrd, String kernelPackage) {
    }

    private LinuxGuestImages() {
    }

    /** The boot files in {@code dir}, built first when missing or when the init script changed. */
    public static synchronized Images ensure(Path dir, Consumer<String> log) {
        try {
            Files.createDirectories(dir);
            Path kernel = dir.resolve("vmlinuz");
            Path modules = dir.resolve("modules");
            Path busybox = dir.resolve("busybox");
            Path pkgFile = dir.resolve("kernel-package");
            if (!Files.exists(kernel) || !Files.exists(busybox) || !Files.exists(pkgFile)
                    || MODULES.stream().anyMatch(m -> !Files.exists(modules.resolve(m + ".ko")))) {
                String pkg = kernelPackage(log);
                Path debs = Files.createTempDirectory(dir, "debs");
                try {
                    log.accept("real guest: downloading " + pkg + " and busybox-static (Debian packages)");
                    Path kdeb = download(pkg, debs, log);
                    Path bdeb = download("busybox-static", debs, log);
                    Files.createDirectories(modules);
                    Map<String, Path> wanted = new java.util.HashMap<>();
                    for (String m : MODULES) wanted.put(m + ".ko", modules.resolve(m + ".ko"));
                    extract(kdeb, name -> {
                        if (name.matches("\\./boot/vmlinuz-.*")) return kernel;
                        if (name.contains("/kernel/drivers/")) return wanted.get(name.substring(name.lastIndexOf('/') + 1));
                        return null;
                    });
                    extract(bdeb, name -> name.equals("./bin/busybox") ? busybox : null);
                    Files.writeString(pkgFile, pkg);
                } finally {
                    deleteTree(debs);
                }
            }
            byte[] init = initScript();
            byte[] initrd = initramfs(init, Files.readAllBytes(busybox), modules);
            Path initrdFile = dir.resolve("initrd-" + sha256(initrd).substring(0, 12) + ".cpio");
            if (!Files.exists(initrdFile)) {
                Path tmp = dir.resolve(initrdFile.getFileName() + ".tmp");
                Files.write(tmp, initrd);
                Files.move(tmp, initrdFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                log.accept("real guest: initramfs " + initrdFile + " (" + initrd.length / 1024 + " KiB)");
            }
            return new Images(kernel, initrdFile, Files.readString(pkgFile).strip());
        } catch (IOException e) {
            throw fail("build the real Linux guest's boot files in " + dir, e.getMessage());
        }
    }

    static byte[] initScript() throws IOException {
        try (InputStream in = LinuxGuestImages.class.getResourceAsStream("init.sh")) {
            if (in == null) throw new IOException("init.sh is missing from the lab's resources");
            return in.readAllBytes();
        }
    }

    /** An uncompressed newc cpio: the kernel unpacks it over its built-in /dev/console. */
    static byte[] initramfs(byte[] init, byte[] busybox, Path modules) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (CpioArchiveOutputStream cpio = new CpioArchiveOutputStream(bytes, CpioConstants.FORMAT_NEW)) {
            for (String d : List.of("bin", "dev", "proc", "sys", "w", "lib", "lib/modules")) {
                CpioArchiveEntry e = new CpioArchiveEntry(CpioConstants.FORMAT_NEW, d);
                e.setMode(CpioConstants.C_ISDIR | 0755);
                e.setNumberOfLinks(2);
                cpio.putArchiveEntry(e);
                cpio.closeArchiveEntry();
            }
            file(cpio, "init", init, 0755);
            file(cpio, "bin/busybox", busybox, 0755);
            for (String m : MODULES) file(cpio, "lib/modules/" + m + ".ko", Files.readAllBytes(modules.resolve(m + ".ko")), 0644);
            cpio.finish();
        }
        return bytes.toByteArray();
    }

    private static void file(CpioArchiveOutputStream cpio, String name, byte[] data, int mode) throws IOException {
        CpioArchiveEntry e = new CpioArchiveEntry(CpioConstants.FORMAT_NEW, name, data.length);
        e.setMode(CpioConstants.C_ISREG | mode);
        e.setNumberOfLinks(1);
        cpio.putArchiveEntry(e);
        cpio.write(data);
        cpio.closeArchiveEntry();
    }

    /** The versioned kernel package {@code linux-image-amd64} depends on (e.g. linux-image-6.1.0-57-amd64). */
    private static String kernelPackage(Consumer<String> log) {
        String out = aptWithUpdate(List.of("apt-cache", "depends", "linux-image-amd64"), null, log);
        Matcher m = Pattern.compile("Depends: (linux-image-[0-9][A-Za-z0-9.+-]*)").matcher(out);
        if (!m.find()) throw fail("find the kernel package of linux-image-amd64", out.strip());
        return m.group(1);
    }

    private static Path download(String pkg, Path dir, Consumer<String> log) throws IOException {
        aptWithUpdate(List.of("apt-get", "download", "-q", pkg), dir, log);
        try (var files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().startsWith(pkg + "_") && f.toString().endsWith(".deb")).findFirst()
                    .orElseThrow(() -> fail("download " + pkg, "apt-get download left no .deb in " + dir));
        }
    }

    /** Runs an apt command; when it fails (no package lists yet on a fresh machine), updates the lists once and retries. */
    private static String aptWithUpdate(List<String> command, Path cwd, Consumer<String> log) {
        Result r = run(command, cwd);
        if (r.exit == 0 && !r.output.isBlank()) return r.output;
        log.accept("real guest: " + command.get(0) + " failed, running apt-get update once");
        run(List.of("apt-get", "update", "-q"), null);
        r = run(command, cwd);
        if (r.exit != 0) throw fail("run " + String.join(" ", command), r.output.strip());
        return r.output;
    }

    private record Result(int exit, String output) {
    }

    private static Result run(List<String> command, Path cwd) {
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
            if (cwd != null) pb.directory(cwd.toFile());
            Process p = pb.start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw fail("run " + command.get(0), "no answer within 300 s");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw fail("run " + command.get(0), e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw fail("run " + command.get(0), "interrupted");
        }
    }

    /** Where to put a member of the package's file system, or null to skip it. */
    private interface Target {
        Path of(String name);
    }

    /** Streams {@code dpkg-deb --fsys-tarfile} (the package's files as a tar) and keeps only the members asked for. */
    private static void extract(Path deb, Target target) throws IOException {
        Process p = new ProcessBuilder("dpkg-deb", "--fsys-tarfile", deb.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (TarArchiveInputStream tar = new TarArchiveInputStream(p.getInputStream())) {
            p.getOutputStream().close();
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                if (!e.isFile()) continue;
                Path out = target.of(e.getName());
                if (out == null) continue;
                Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
                try (OutputStream os = Files.newOutputStream(tmp)) {
                    tar.transferTo(os);
                }
                Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
        } finally {
            try {
                if (!p.waitFor(60, TimeUnit.SECONDS)) p.destroyForcibly();
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
            }
        }
        if (p.exitValue() != 0) throw new IOException("dpkg-deb --fsys-tarfile " + deb + " exited " + p.exitValue());
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (var walk = Files.walk(dir)) {
            List<Path> all = new ArrayList<>(walk.toList());
            java.util.Collections.reverse(all);
            for (Path f : all) Files.deleteIfExists(f);
        }
    }

    static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static KvmigrateException fail(String what, String why) {
        return new KvmigrateException(ErrorCode.LAB_FAILED, "lab", "localhost", null, "Tried to " + what + " but failed because: " + why,
                "The real guest needs Debian's package lists (apt-get update) and dpkg-deb.");
    }
}
