package io.kvmigrate.core.spi;

import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.HostRef;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The source and target sessions of one move, opened at once (each on its own thread: the common pool has one thread
 * on a 2-CPU host), so a move between far-away hosts pays one connection set-up, not two. Closing closes both; a failed
 * open of one host never leaks the other's connection.
 */
public record SessionPair(HostSession source, HostSession target) implements AutoCloseable {

    public static SessionPair open(HypervisorConnector connector, HostRef from, HostRef to) {
        ExecutorService opener = Executors.newFixedThreadPool(2, r -> {
            Thread th = new Thread(r, "kvmigrate-connect");
            th.setDaemon(true);
            return th;
        });
        CompletableFuture<HostSession> s = CompletableFuture.supplyAsync(() -> connector.open(from), opener);
        CompletableFuture<HostSession> t = CompletableFuture.supplyAsync(() -> connector.open(to), opener);
        opener.shutdown();
        try {
            return new SessionPair(join(s), join(t));
        } catch (RuntimeException e) {
            closeWhenOpen(s);
            closeWhenOpen(t);
            throw e;
        }
    }

    private static HostSession join(CompletableFuture<HostSession> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof KvmigrateException k) throw k;
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw e;
        }
    }

    private static void closeWhenOpen(CompletableFuture<HostSession> f) {
        f.thenAccept(HostSession::close);
    }

    @Override
    public void close() {
        try {
            source.close();
        } finally {
            target.close();
        }
    }
}
