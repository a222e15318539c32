package io.kvmigrate.core.job;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/** Makes job ids and controller (owner) ids. */
public final class JobIds {
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);

    private JobIds() {
    }

    /**
     * {@code j-20261201-103512-4f2a9c}: the UTC creation time, so ids sort as jobs were made and say when at a glance,
     * and 24 random bits, so two jobs made in the same second on any number of machines collide about once in 16
     * million (the store refuses a duplicate; make a new id and retry).
     */
    public static String newJobId(Instant now) {
        return "j-" + STAMP.format(now) + "-" + randomHex(3);
    }

    /**
     * {@code kvm1:4242:9f3c}: host name, process id and 16 random bits, so a log line names the machine and process
     * that owned a job, and a restarted process that got the same pid is still another owner.
     */
    public static String newOwnerId() {
        return hostName() + ":" + ProcessHandle.current().pid() + ":" + randomHex(2);
    }

    private static String randomHex(int bytes) {
        byte[] b = new byte[bytes];
        ThreadLocalRandom.current().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private static String hostName() {
        // The kernel's name, not InetAddress.getLocalHost(), which resolves it and can hang on a broken resolver.
        try {
            String name = Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
            if (!name.isEmpty()) return name;
        } catch (IOException | RuntimeException e) {
            // not Linux: fall through
        }
        String env = System.getenv("HOSTNAME");
        return env != null && !env.isBlank() ? env : "localhost";
    }
}
