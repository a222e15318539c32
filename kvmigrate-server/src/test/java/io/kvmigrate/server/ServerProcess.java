package io.kvmigrate.server;

import io.kvmigrate.lab.Poll;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A server in a process of its own ({@link ServeMain}) on the lab's registry and token, for the several-servers tests. */
final class ServerProcess implements AutoCloseable {
    final Process process;
    private final List<String> out = new ArrayList<>();
    private final String port;

    /** Starts it on the store {@code url}, reconciling every {@code reconcileMs}, running {@code workers} queued moves at once. */
    ServerProcess(String name, String url, long reconcileMs, int workers) throws java.io.IOException {
        List<String> cmd = List.of(ProcessHandle.current().info().command().orElse("java"), "-cp", System.getProperty("java.class.path"),
                "-Dkvmigrate.config.dir=" + System.getProperty("kvmigrate.config.dir"), ServeMain.class.getName(), url, Long.toString(reconcileMs),
                Integer.toString(workers));
        process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    synchronized (out) {
                        out.add(line);
                    }
                    System.out.println("[" + name + "] " + line);
                }
            } catch (java.io.IOException ignored) {
                // ended
            }
        });
        reader.setDaemon(true);
        reader.start();
        if (!Poll.until(Duration.ofSeconds(60), Duration.ofMillis(100), () -> portLine() != null)) {
            process.destroyForcibly();
            throw new AssertionError(name + " did not start within 60 s");
        }
        port = portLine().substring(5).trim();
    }

    private String portLine() {
        synchronized (out) {
            return out.stream().filter(l -> l.startsWith("PORT ")).findFirst().orElse(null);
        }
    }

    String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    /** SIGKILL: no clean-up of any kind. */
    @Override
    public void close() {
        process.destroyForcibly();
    }
}
