package io.kvmigrate.lab;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs fixed commands with argument lists (never a shell string built from input). */
final class Processes {
    private Processes() {
    }

    record Result(int exit, String output) {
    }

    static Result run(List<String> command, long timeoutSeconds) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new KvmigrateException(ErrorCode.LAB_FAILED, "lab", "localhost", null,
                        "Command " + command.get(0) + " did not finish within " + timeoutSeconds + " s.", "Run it by hand to see why.");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new KvmigrateException(ErrorCode.LAB_FAILED, "lab", "localhost", null,
                    "Tried to run " + command.get(0) + " but failed because: " + e.getMessage(), "Is it installed?");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KvmigrateException(ErrorCode.CANCELLED, "lab", "localhost", null, "Interrupted while running " + command.get(0) + ".", null);
        }
    }

    static Result runChecked(List<String> command, long timeoutSeconds, String what) {
        Result r = run(command, timeoutSeconds);
        if (r.exit() != 0) {
            String tail = r.output().length() > 2000 ? r.output().substring(r.output().length() - 2000) : r.output();
            throw new KvmigrateException(ErrorCode.LAB_FAILED, "lab", "localhost", null,
                    "Tried to " + what + " but failed (exit " + r.exit() + "): " + tail.strip(), "Fix the cause above and run 'kvmigrate lab up' again.");
        }
        return r;
    }
}
