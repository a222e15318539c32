package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Writes bytes into a lab guest's memory through QEMU's own gdbstub, started with the HMP command {@code gdbserver}
 * through libvirt's monitor pass-through ({@code virsh qemu-monitor-command --hmp}): libvirt has no call that writes
 * guest memory. The gdbstub writes through the vCPU's page tables; the test guest maps its low 4 GiB one to one, so its
 * virtual addresses are its physical ones. Opening the stub pauses the guest (it should be paused already). Tests only.
 */
final class GdbPoke implements AutoCloseable {
    private final String uri;
    private final String vm;
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    private GdbPoke(String uri, String vm, Socket socket) throws IOException {
        this.uri = uri;
        this.vm = vm;
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /** Starts the gdbstub of {@code vm} on lab host {@code uri} on a free loopback port and connects to it. */
    static GdbPoke open(String uri, String vm) throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        hmp(uri, vm, "gdbserver tcp:127.0.0.1:" + port);
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        s.setSoTimeout(10_000);
        return new GdbPoke(uri, vm, s);
    }

    /** Writes {@code bytes} at guest address {@code address} (the gdb remote protocol's {@code M} packet). */
    void write(long address, byte[] bytes) throws IOException {
        StringBuilder hex = new StringBuilder();
        for (byte b : bytes) hex.append(String.format("%02x", b & 0xFF));
        String reply = command("M" + Long.toHexString(address) + "," + Integer.toHexString(bytes.length) + ":" + hex);
        assertThat(reply).as("gdbstub reply to a memory write at 0x%x", address).isEqualTo("OK");
    }

    /** Reads {@code length} bytes at {@code address} (the {@code m} packet). */
    byte[] read(long address, int length) throws IOException {
        String reply = command("m" + Long.toHexString(address) + "," + Integer.toHexString(length));
        assertThat(reply).as("gdbstub reply to a memory read").hasSize(2 * length);
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte) Integer.parseInt(reply.substring(2 * i, 2 * i + 2), 16);
        return b;
    }

    private String command(String packet) throws IOException {
        int sum = 0;
        for (byte b : packet.getBytes(StandardCharsets.US_ASCII)) sum = (sum + (b & 0xFF)) & 0xFF;
        out.write(("$" + packet + "#" + String.format("%02x", sum)).getBytes(StandardCharsets.US_ASCII));
        out.flush();
        // '+' acknowledges our packet (any stop notification before it is skipped); then "$reply#cs", which we acknowledge
        while (true) {
            int c = in.read();
            if (c < 0) throw new IOException("gdbstub closed the connection");
            if (c == '$') break;
        }
        ByteArrayOutputStream reply = new ByteArrayOutputStream();
        for (int c = in.read(); c != '#'; c = in.read()) {
            if (c < 0) throw new IOException("gdbstub closed the connection");
            reply.write(c);
        }
        in.read();
        in.read();
        out.write('+');
        out.flush();
        return reply.toString(StandardCharsets.US_ASCII);
    }

    /** Closes the connection and stops the gdbstub (the guest stays paused). */
    @Override
    public void close() throws Exception {
        socket.close();
        hmp(uri, vm, "gdbserver none");
    }

    private static void hmp(String uri, String vm, String command) throws Exception {
        Process p = new ProcessBuilder(List.of("virsh", "-c", uri, "qemu-monitor-command", vm, "--hmp", command))
                .redirectErrorStream(true).start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as("virsh qemu-monitor-command %s: %s", command, text).isZero();
    }
}
