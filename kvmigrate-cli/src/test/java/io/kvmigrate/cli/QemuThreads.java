package io.kvmigrate.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** What the kernel says of a VM's QEMU processes (both ends of a migration; the lab runs as root). */
final class QemuThreads {
    private QemuThreads() {
    }

    /**
     * Whether a vCPU thread of one of the VM's QEMUs sleeps in the kernel's userfault handler: waiting for a page that
     * post-copy has not brought yet (only the target side of a post-copy registers its memory with userfaultfd).
     */
    static boolean vcpuWaitingForAPage(String vm) throws IOException {
        for (Path proc : qemusOf(vm)) {
            try (Stream<Path> tasks = Files.list(proc.resolve("task"))) {
                for (Path task : tasks.toList()) {
                    String comm = read(task.resolve("comm"));
                    if (comm.startsWith("CPU ") && read(task.resolve("stack")).contains("handle_userfault")) return true;
                }
            }
        }
        return false;
    }

    private static List<Path> qemusOf(String vm) throws IOException {
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            return procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).filter(p -> {
                // NUL-separated arguments; "guest=NAME," names the VM (a QEMU that came in by a migration keeps "-incoming")
                String cmd = read(p.resolve("cmdline")).replace('\0', ' ');
                return cmd.contains("qemu-system") && cmd.contains("guest=" + vm + ",");
            }).toList();
        }
    }

    private static String read(Path p) {
        try {
            return new String(Files.readAllBytes(p), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return ""; // the process or thread ended meanwhile
        }
    }
}
