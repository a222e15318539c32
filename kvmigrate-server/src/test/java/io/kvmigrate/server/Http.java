package io.kvmigrate.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A small HTTP client for the tests: JSON requests with or without a token, and an SSE reader. */
final class Http {
    static final ObjectMapper JSON = new ObjectMapper();
    final String base;
    final String token;
    final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    Http(String base, String token) {
        this.base = base;
        this.token = token;
    }

    Http withToken(String t) {
        return new Http(base, t);
    }

    record Response(int status, String body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON (" + status + "): " + body, e);
            }
        }
    }

    Response get(String path) {
        return send(req(path).GET());
    }

    Response post(String path, String body) {
        return send(req(path).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    Response delete(String path) {
        return send(req(path).DELETE());
    }

    private HttpRequest.Builder req(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
        if (token != null) b.header("Authorization", "Bearer " + token);
        return b;
    }

    private Response send(HttpRequest.Builder b) {
        try {
            HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
            System.out.println(r.request().method() + " " + r.uri().getPath() + " -> " + r.statusCode() + " " + abbreviate(r.body()));
            return new Response(r.statusCode(), r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 400 ? s.substring(0, 400) + "..." : s;
    }

    /** One server-sent event. */
    record Event(String name, String id, String data) {
        JsonNode json() {
            try {
                return JSON.readTree(data);
            } catch (IOException e) {
                throw new AssertionError(data, e);
            }
        }
    }

    /** Reads an event stream on a thread of its own until it ends or {@link #close()}. */
    final class Sse implements AutoCloseable {
        final int status;
        final List<Event> events = new ArrayList<>();
        private final Thread reader;
        private final java.io.InputStream in;
        volatile boolean ended;

        Sse(String path, String lastEventId) throws IOException, InterruptedException {
            HttpRequest.Builder b = req(path).header("Accept", "text/event-stream").timeout(Duration.ofMinutes(10));
            if (lastEventId != null) b.header("Last-Event-ID", lastEventId);
            HttpResponse<java.io.InputStream> r = client.send(b.GET().build(), HttpResponse.BodyHandlers.ofInputStream());
            status = r.statusCode();
            in = r.body();
            reader = new Thread(this::read, "sse-" + path);
            reader.setDaemon(true);
            reader.start();
        }

        private void read() {
            try (BufferedReader br = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String name = null, id = null;
                StringBuilder data = new StringBuilder();
                for (String line; (line = br.readLine()) != null; ) {
                    if (line.isEmpty()) {
                        if (data.length() > 0 || name != null) {
                            synchronized (events) {
                                events.add(new Event(name == null ? "message" : name, id, data.toString()));
                            }
                        }
                        name = null;
                        id = null;
                        data.setLength(0);
                    } else if (line.startsWith("event:")) {
                        name = line.substring(6).trim();
                    } else if (line.startsWith("id:")) {
                        id = line.substring(3).trim();
                    } else if (line.startsWith("data:")) {
                        if (data.length() > 0) data.append('\n');
                        data.append(line.substring(5).startsWith(" ") ? line.substring(6) : line.substring(5));
                    }
                }
            } catch (IOException ignored) {
                // closed
            } finally {
                ended = true;
            }
        }

        List<Event> snapshot() {
            synchronized (events) {
                return List.copyOf(events);
            }
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    Sse sse(String path) throws IOException, InterruptedException {
        return new Sse(path, null);
    }
}
