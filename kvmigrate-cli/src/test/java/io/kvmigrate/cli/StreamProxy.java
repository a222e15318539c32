package io.kvmigrate.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A migration network that the lab can cut: a TCP forwarder on a loopback address of its own that passes every
 * connection to the same port on the target's address. {@link #cut()} is a silent partition: the sockets stay open
 * (no FIN, no RST) but nothing is passed on, so both ends' buffers fill and the senders block, as behind a firewall
 * that drops the packets; {@link #heal()} passes data again on the same connections, and on new ones.
 *
 * <p>Unlike a real packet drop, the kernel still acknowledges what fits in the buffers and answers keepalive and
 * zero-window probes, so a connection here never times out in TCP: it only stalls, which is what a watchdog must see.
 */
final class StreamProxy implements AutoCloseable {
    private static final int BUFFER = 64 * 1024;
    private final ServerSocket server;
    private final InetSocketAddress upstream;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final AtomicLong forwarded = new AtomicLong();
    private final AtomicInteger connections = new AtomicInteger();
    private final Object gate = new Object();
    private volatile boolean cut;
    private volatile boolean closed;

    /**
     * Listens on {@code listenAddress} at a free port that is free on {@code targetAddress} too, and forwards there: the
     * migration address is then {@code listenAddress:port()}, and the target's QEMU listens on {@code targetAddress:port()}.
     */
    static StreamProxy start(String listenAddress, String targetAddress) throws IOException {
        for (int attempt = 0; attempt < 20; attempt++) {
            ServerSocket s = new ServerSocket();
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getByName(listenAddress), 0));
            int port = s.getLocalPort();
            if (freeOn(targetAddress, port)) return new StreamProxy(s, new InetSocketAddress(InetAddress.getByName(targetAddress), port));
            s.close();
        }
        throw new IOException("no port free on both " + listenAddress + " and " + targetAddress);
    }

    private static boolean freeOn(String address, int port) {
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(InetAddress.getByName(address), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private StreamProxy(ServerSocket server, InetSocketAddress upstream) {
        this.server = server;
        this.upstream = upstream;
        Thread t = new Thread(this::acceptLoop, "stream-proxy-accept");
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return server.getLocalPort();
    }

    /** {@code address:port} as {@code --migration-address} takes it. */
    String address() {
        return server.getInetAddress().getHostAddress() + ":" + port();
    }

    /** Stops passing data on, keeping every socket open (a silent partition). */
    void cut() {
        cut = true;
    }

    /** Passes data again. */
    void heal() {
        synchronized (gate) {
            cut = false;
            gate.notifyAll();
        }
    }

    /** Breaks every connection at once (RST on both sides, as a link that dies); new connections are passed on again. */
    void reset() {
        for (Socket s : sockets) {
            try {
                s.setSoLinger(true, 0);
            } catch (IOException ignored) {
                // closed already
            }
            closeQuietly(s);
        }
        sockets.clear();
    }

    /** Bytes passed on so far, both directions. */
    long forwarded() {
        return forwarded.get();
    }

    /** Connections accepted so far. */
    int connections() {
        return connections.get();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket in = server.accept();
                connections.incrementAndGet();
                sockets.add(in);
                Thread t = new Thread(() -> connect(in), "stream-proxy-connect");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                if (!closed) System.out.println("stream proxy: accept failed: " + e.getMessage());
            }
        }
    }

    private void connect(Socket in) {
        try {
            awaitOpen(); // a connection made during a cut gets nowhere until the heal
            Socket out = new Socket();
            sockets.add(out);
            out.connect(upstream, 10_000);
            pump(in, out, "up");
            pump(out, in, "down");
        } catch (IOException | InterruptedException e) {
            closeQuietly(in);
        }
    }

    private void pump(Socket from, Socket to, String direction) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[BUFFER];
            try (InputStream i = from.getInputStream(); OutputStream o = to.getOutputStream()) {
                for (int n; (n = i.read(buf)) >= 0; ) {
                    awaitOpen(); // holds what it read: the reader stops, the kernel's buffers fill, the sender blocks
                    o.write(buf, 0, n);
                    o.flush();
                    forwarded.addAndGet(n);
                }
                to.shutdownOutput();
            } catch (IOException | InterruptedException e) {
                // one side closed: close both
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "stream-proxy-" + direction);
        t.setDaemon(true);
        t.start();
    }

    private void awaitOpen() throws InterruptedException {
        synchronized (gate) {
            while (cut && !closed) gate.wait(1000);
        }
    }

    @Override
    public void close() {
        closed = true;
        heal();
        closeQuietly(server);
        for (Socket s : sockets) closeQuietly(s);
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
