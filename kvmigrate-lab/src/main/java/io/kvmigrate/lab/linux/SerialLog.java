package io.kvmigrate.lab.linux;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the real Linux guest reported on its serial console: its ticks, the mismatches its own checks found, and every
 * line of a kernel BUG/Oops/panic or a killed process. A healthy guest ticks on after a migration and reports none of
 * the others. The log is appended to by the source's and then the target's QEMU ({@code append='on'}), so one file
 * holds the guest's whole life.
 */
public record SerialLog(int ticks, long lastPass, boolean ready, List<String> mismatches, List<String> problems, String diskReport) {
    private static final Pattern TICK = Pattern.compile("KVMTICK pass=(\\d+) ");
    /** Kernel lines that mean guest memory or CPU state was damaged (or at least that the kernel thinks so). */
    static final Pattern PROBLEM = Pattern.compile("BUG:|Oops|Kernel panic|stack-protector|general protection fault|"
            + "[Uu]nable to handle|Call Trace|segfault at|invalid opcode|double fault|Bad page|kernel BUG|WARNING: CPU|"
            + "soft lockup|hard LOCKUP|rcu_sched detected stalls|rcu: INFO");

    /** Parses the log as it is now. */
    public static SerialLog read(Path file) {
        String text;
        try {
            text = Files.exists(file) ? Files.readString(file, StandardCharsets.ISO_8859_1) : "";
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the guest's serial log " + file + ": " + e.getMessage(), e);
        }
        return parse(text);
    }

    static SerialLog parse(String text) {
        int ticks = 0;
        long last = -1;
        boolean ready = false;
        String disk = null;
        List<String> mismatches = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (String line : text.split("\r?\n")) {
            Matcher m = TICK.matcher(line);
            if (m.find()) {
                ticks++;
                last = Long.parseLong(m.group(1));
            } else if (line.contains("KVMREADY")) {
                ready = true;
            } else if (line.contains("MISMATCH") || line.contains("KVMDISKMISSING") || line.startsWith("insmod:")) {
                mismatches.add(line.strip());
            } else if (line.contains("KVMDISK ok=")) {
                disk = line.strip();
            } else if (PROBLEM.matcher(line).find()) {
                problems.add(line.strip());
            }
        }
        return new SerialLog(ticks, last, ready, List.copyOf(mismatches), List.copyOf(problems), disk);
    }

    /** True when the guest found no mismatch and the kernel reported no problem. */
    public boolean clean() {
        return mismatches.isEmpty() && problems.isEmpty();
    }

    /** One line for a test failure: what was seen, with the first problem lines. */
    public String summary() {
        StringBuilder b = new StringBuilder("ticks " + ticks + " (last pass " + lastPass + "), " + mismatches.size() + " mismatch(es), "
                + problems.size() + " kernel problem line(s)");
        if (diskReport != null) b.append(", ").append(diskReport);
        mismatches.stream().limit(3).forEach(l -> b.append("\n  ").append(l));
        problems.stream().limit(8).forEach(l -> b.append("\n  ").append(l));
        return b.toString();
    }

    /**
     * The health check every migration test of the real guest ends with: waits (polling, up to {@code timeoutMs}) until the
     * guest has ticked {@code newTicks} more times than {@code before} showed, and fails at once on a mismatch or a
     * kernel problem. Returns the log as last read; throws {@link AssertionError} with the log's summary when unhealthy.
     */
    public static SerialLog awaitHealthy(Path file, SerialLog before, int newTicks, java.time.Duration timeout, BooleanSupplier stillRunning) {
        SerialLog[] last = {read(file)};
        io.kvmigrate.lab.Poll.until(timeout, java.time.Duration.ofMillis(200), () -> {
            last[0] = read(file);
            return !last[0].clean() || last[0].ticks() >= before.ticks() + newTicks || !stillRunning.getAsBoolean();
        });
        SerialLog now = last[0];
        if (!now.clean()) {
            // Which came before the move tells a guest the move hurt from one the host starved (a TCG guest at boot).
            throw new AssertionError("real guest unhealthy after the move: " + now.summary() + "\n  (before the move: " + before.ticks()
                    + " tick(s), " + before.problems().size() + " kernel problem line(s), " + before.mismatches().size() + " mismatch(es))");
        }
        if (now.ticks() < before.ticks() + newTicks) {
            throw new AssertionError("real guest stopped ticking: " + now.ticks() + " ticks, wanted " + (before.ticks() + newTicks)
                    + " within " + timeout.toSeconds() + " s" + (stillRunning.getAsBoolean() ? "" : " (its VM is not running)") + "; "
                    + now.summary());
        }
        return now;
    }
}
