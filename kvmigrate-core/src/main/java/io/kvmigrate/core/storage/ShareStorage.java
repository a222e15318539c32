package io.kvmigrate.core.storage;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.engine.SharedStorageVerifier;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.PoolSpec;
import io.kvmigrate.core.spi.PoolStatus;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The runbook's preparation as one call: the same storage pool (name, type, path, source) on every host, active and
 * started at boot, then proved shared by the probe through every ordered pair of hosts.
 *
 * <p>Order matters. Every host's pools are read and a decision is made for each host (define, complete, leave, or
 * conflict) <em>before</em> any host is changed: a conflict anywhere changes nothing anywhere. Then hosts are changed one
 * by one in the order given. A host whose step fails is put back as it was (its own steps undone), the hosts changed
 * before it are reported, and undone too when the caller asks for a rollback on failure. The proof runs last, also when
 * nothing needed changing (so a second run proves again); a failed proof is a failure like any other.
 *
 * <p>Pitfalls: libvirt allows one pool per directory (and per NFS source) on a host, so a pool of another name there is a
 * conflict too; an identical but transient pool would vanish when libvirtd restarts, so it is a conflict rather than
 * "left alone". The mount point libvirt creates for an NFS pool stays after a rollback (it may have existed before).
 * Messages and hints are front-end neutral.
 */
public final class ShareStorage {
    /** One change on one host, in the order applied. */
    public enum Step {
        DEFINE("define"), START("start"), AUTOSTART("autostart");

        private final String label;

        Step(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** The decision for one host. */
    public enum Action {
        /** No pool of that name: define, start, mark autostart. */
        DEFINE,
        /** The identical pool exists but is inactive or not started at boot: start it and/or mark it autostart. */
        COMPLETE,
        /** The identical pool exists, active and autostart: nothing to do. */
        LEAVE,
        /** A pool of that name differs, is transient, or another pool holds the directory: nothing is changed anywhere. */
        CONFLICT
    }

    /** What becomes of one host. */
    public enum Status {
        /** Nothing changed there (left alone, never reached, or the run was refused). */
        UNCHANGED,
        /** Changed, and left so. */
        CHANGED,
        /** Its own step failed; what had been done there was undone. */
        FAILED,
        /** Changed, then undone because a later step failed and a rollback was asked for. */
        ROLLED_BACK,
        /** An undo failed: the host's pool is in the state the detail says. */
        ROLLBACK_FAILED
    }

    /** The decision for one host, with the pool it found there (null when none) and why. */
    public record HostPlan(String host, Action action, List<Step> steps, PoolStatus existing, String reason) {
        public HostPlan {
            steps = List.copyOf(steps);
        }
    }

    /** What happened on one host. {@code detail} says what failed or could not be undone, else null. */
    public record HostOutcome(HostPlan plan, List<Step> applied, Status status, String detail) {
        public HostOutcome {
            applied = List.copyOf(applied);
        }

        public String host() {
            return plan.host();
        }
    }

    /** Progress for front ends: a step on a host ("define", "start", "autostart", "leave", "rollback", "prove"). */
    public record Event(String host, String step, String detail) {
    }

    /** Receives progress; must not throw. */
    @FunctionalInterface
    public interface Listener {
        void on(Event e);

        Listener NONE = e -> { };
    }

    private final SharedStorageVerifier verifier;
    private final Listener listener;

    public ShareStorage(SharedStorageVerifier verifier, Listener listener) {
        this.verifier = verifier;
        this.listener = listener;
    }

    public ShareStorage() {
        this(new SharedStorageVerifier(), Listener.NONE);
    }

    /**
     * Makes {@code wanted} exist on every host of {@code hosts} and proves it shared. Throws INVALID_INPUT (nothing read or
     * changed) for a bad spec or host list, and what a host throws while its pools are read; every later failure is in
     * the returned report, with each host's status.
     */
    public ShareReport share(PoolSpec wanted, List<HostSession> hosts, boolean rollbackOnFailure) {
        wanted.validated();
        checkHosts(hosts);
        Map<String, List<PoolStatus>> pools = new LinkedHashMap<>();
        for (HostSession h : hosts) {
            try {
                pools.put(h.host().name(), h.storagePools().list());
            } catch (KvmigrateException e) {
                throw e.inContext("inspect", h.host().name(), null);
            }
        }
        List<HostPlan> plans = plan(wanted, pools);
        List<HostOutcome> outcomes = new ArrayList<>();
        for (HostPlan p : plans) outcomes.add(new HostOutcome(p, List.of(), Status.UNCHANGED, null));
        List<HostPlan> conflicts = plans.stream().filter(p -> p.action() == Action.CONFLICT).toList();
        if (!conflicts.isEmpty()) return new ShareReport(wanted, outcomes, List.of(), conflict(wanted, conflicts));

        for (int i = 0; i < hosts.size(); i++) {
            HostPlan p = plans.get(i);
            HostSession h = hosts.get(i);
            if (p.steps().isEmpty()) {
                listener.on(new Event(p.host(), "leave", p.reason()));
                continue;
            }
            List<Step> done = new ArrayList<>();
            Step current = null;
            try {
                for (Step s : p.steps()) {
                    current = s;
                    apply(h, wanted, s);
                    done.add(s);
                    listener.on(new Event(p.host(), s.label(), null));
                }
                outcomes.set(i, new HostOutcome(p, done, Status.CHANGED, null));
            } catch (KvmigrateException e) {
                String undoProblem = undo(h, wanted.name(), done);
                outcomes.set(i, new HostOutcome(p, done, undoProblem == null ? Status.FAILED : Status.ROLLBACK_FAILED,
                        e.getMessage() + (undoProblem == null ? "" : " " + undoProblem)));
                if (rollbackOnFailure) rollBack(hosts, outcomes, wanted.name());
                return new ShareReport(wanted, outcomes, List.of(), stepFailed(wanted, p.host(), current, e, undoProblem, outcomes));
            }
        }

        List<PairProof> pairs = prove(wanted.path(), hosts);
        List<PairProof> unshared = pairs.stream().filter(x -> !x.shared()).toList();
        if (unshared.isEmpty()) return new ShareReport(wanted, outcomes, pairs, null);
        if (rollbackOnFailure) rollBack(hosts, outcomes, wanted.name());
        return new ShareReport(wanted, outcomes, pairs, notShared(wanted, unshared, outcomes));
    }

    /** The decision for every host from its pools (pure: what the unit tests look at). */
    public static List<HostPlan> plan(PoolSpec wanted, Map<String, List<PoolStatus>> poolsByHost) {
        List<HostPlan> out = new ArrayList<>();
        poolsByHost.forEach((host, pools) -> out.add(planHost(wanted, host, pools)));
        return out;
    }

    private static HostPlan planHost(PoolSpec wanted, String host, List<PoolStatus> pools) {
        Optional<PoolStatus> same = pools.stream().filter(p -> wanted.name().equals(p.name())).findFirst();
        if (same.isPresent()) {
            PoolStatus p = same.get();
            List<String> diffs = p.spec().differencesFrom(wanted, "wanted");
            if (!diffs.isEmpty()) {
                return new HostPlan(host, Action.CONFLICT, List.of(), p, "pool '" + wanted.name() + "' exists with another definition: "
                        + String.join(", ", diffs));
            }
            if (!p.persistent()) {
                return new HostPlan(host, Action.CONFLICT, List.of(), p, "pool '" + wanted.name() + "' exists but is transient "
                        + "(it would vanish when libvirtd restarts)");
            }
            List<Step> steps = new ArrayList<>();
            if (!p.active()) steps.add(Step.START);
            if (!p.autostart()) steps.add(Step.AUTOSTART);
            if (steps.isEmpty()) return new HostPlan(host, Action.LEAVE, steps, p, "identical pool, active, autostart");
            return new HostPlan(host, Action.COMPLETE, steps, p, "identical pool, " + (p.active() ? "active" : "inactive") + ", "
                    + (p.autostart() ? "autostart" : "not autostart"));
        }
        for (PoolStatus p : pools) {
            if (wanted.path().equals(p.spec().path())) {
                return new HostPlan(host, Action.CONFLICT, List.of(), p, "pool '" + p.name() + "' already uses " + wanted.path()
                        + " (libvirt allows one pool per directory)");
            }
            if (wanted.isNfs() && p.spec().isNfs() && wanted.sourceHost().equals(p.spec().sourceHost())
                    && wanted.sourceDir().equals(p.spec().sourceDir())) {
                return new HostPlan(host, Action.CONFLICT, List.of(), p, "pool '" + p.name() + "' already mounts " + wanted.sourceHost() + ":"
                        + wanted.sourceDir() + " at " + p.spec().path() + " (libvirt allows one pool per NFS source)");
            }
        }
        return new HostPlan(host, Action.DEFINE, List.of(Step.DEFINE, Step.START, Step.AUTOSTART), null, "no pool of that name");
    }

    /** Writes a probe through each host into {@code path} and looks for it through every other: every ordered pair. */
    public List<PairProof> prove(String path, List<HostSession> hosts) {
        List<PairProof> out = new ArrayList<>();
        for (HostSession writer : hosts) {
            String w = writer.host().name();
            SharedStorageVerifier.Probe probe;
            try {
                probe = verifier.writeProbe(path, writer);
            } catch (KvmigrateException e) {
                for (HostSession reader : hosts) {
                    if (reader != writer) out.add(new PairProof(w, reader.host().name(), false, "no probe could be written into " + path
                            + " through '" + w + "': " + e.getMessage()));
                }
                continue;
            }
            try (probe) {
                for (HostSession reader : hosts) {
                    if (reader == writer) continue;
                    String r = reader.host().name();
                    boolean seen;
                    String detail;
                    try {
                        seen = probe.seenThrough(reader);
                        detail = seen ? null : "a probe written into " + path + " through '" + w + "' is not there through '" + r + "'";
                    } catch (KvmigrateException e) {
                        seen = false;
                        detail = "the probe could not be read through '" + r + "': " + e.getMessage();
                    }
                    out.add(new PairProof(w, r, seen, detail));
                    listener.on(new Event(w, "prove", w + " -> " + r + (seen ? ": shared" : ": NOT shared")));
                }
            }
        }
        return out;
    }

    private static void checkHosts(List<HostSession> hosts) {
        if (hosts.size() < 2) {
            throw KvmigrateException.invalidInput("Sharing needs at least two hosts, got " + hosts.size() + ".",
                    "Name every host that should see the storage, at least two.");
        }
        Set<String> names = new HashSet<>();
        Map<String, String> uuids = new HashMap<>();
        for (HostSession h : hosts) {
            String name = h.host().name();
            if (!names.add(name)) throw KvmigrateException.invalidInput("Host '" + name + "' is named twice.", "Name each host once.");
            String uuid = h.facts().hostUuid();
            String other = uuid == null ? null : uuids.putIfAbsent(uuid.toLowerCase(), name);
            if (other != null) {
                throw KvmigrateException.invalidInput("Hosts '" + other + "' and '" + name + "' are the same host (host UUID " + uuid
                        + "): a probe between them would prove nothing.", "Name each host once, by one name or URI.");
            }
        }
    }

    private static void apply(HostSession h, PoolSpec wanted, Step s) {
        switch (s) {
            case DEFINE -> h.storagePools().define(wanted);
            case START -> h.storagePools().start(wanted.name());
            case AUTOSTART -> h.storagePools().setAutostart(wanted.name(), true);
        }
    }

    /** Undoes {@code done} on one host, last step first; returns null, or what could not be undone. */
    private String undo(HostSession h, String pool, List<Step> done) {
        for (int i = done.size() - 1; i >= 0; i--) {
            Step s = done.get(i);
            try {
                switch (s) {
                    case AUTOSTART -> h.storagePools().setAutostart(pool, false);
                    case START -> h.storagePools().stop(pool);
                    case DEFINE -> h.storagePools().undefine(pool);
                }
                listener.on(new Event(h.host().name(), "rollback", "undid " + s.label() + " of pool '" + pool + "'"));
            } catch (KvmigrateException e) {
                return "Could not undo " + s.label() + " of pool '" + pool + "' on host '" + h.host().name() + "' (steps done there: "
                        + labels(done.subList(0, i + 1)) + "): " + e.getMessage();
            }
        }
        return null;
    }

    /** Undoes every CHANGED host, last changed first. */
    private void rollBack(List<HostSession> hosts, List<HostOutcome> outcomes, String pool) {
        for (int i = outcomes.size() - 1; i >= 0; i--) {
            HostOutcome o = outcomes.get(i);
            if (o.status() != Status.CHANGED) continue;
            String problem = undo(hosts.get(i), pool, o.applied());
            outcomes.set(i, new HostOutcome(o.plan(), o.applied(), problem == null ? Status.ROLLED_BACK : Status.ROLLBACK_FAILED, problem));
        }
    }

    private static KvmigrateException conflict(PoolSpec wanted, List<HostPlan> conflicts) {
        StringBuilder sb = new StringBuilder("Storage pool '" + wanted.name() + "' (" + describe(wanted) + ") conflicts with what ");
        sb.append(conflicts.size() == 1 ? "one host has" : conflicts.size() + " hosts have").append(": ");
        for (int i = 0; i < conflicts.size(); i++) {
            if (i > 0) sb.append("; ");
            sb.append("host '").append(conflicts.get(i).host()).append("': ").append(conflicts.get(i).reason());
        }
        sb.append(". Nothing was changed on any host.");
        String first = conflicts.get(0).host();
        return new KvmigrateException(ErrorCode.TARGET_CONFLICT, "plan", conflicts.size() == 1 ? first : null, null, sb.toString(),
                "Make the existing pool match (or remove it) on those hosts, or share under another pool name or path.");
    }

    private static KvmigrateException stepFailed(PoolSpec wanted, String host, Step step, KvmigrateException e, String undoProblem,
            List<HostOutcome> outcomes) {
        // libvirt's messages may hold a command's multi-line output (mount's): one line reads better in every front end.
        String msg = "Host '" + host + "', pool '" + wanted.name() + "' (" + describe(wanted) + "), step " + step.label() + ": "
                + e.getMessage().strip().replaceAll("\\s*\\R\\s*", " ")
                + (undoProblem == null ? " Host '" + host + "' was left as it was." : " " + undoProblem) + others(outcomes, host);
        String hint = step == Step.START && wanted.isNfs()
                ? "Check that host '" + host + "' can mount " + wanted.sourceHost() + ":" + wanted.sourceDir() + " with NFS version "
                        + wanted.protocolVersion() + ": the NFS client is installed there, the server exports the directory to that host "
                        + "(showmount -e " + wanted.sourceHost() + "), and the server offers that version."
                : step == Step.START ? "Check that " + wanted.path() + " exists on host '" + host + "' and is the mounted shared file system."
                : e.hint();
        return new KvmigrateException(e.code(), "apply", host, null, msg, withChangedNote(hint, outcomes), e);
    }

    private static KvmigrateException notShared(PoolSpec wanted, List<PairProof> unshared, List<HostOutcome> outcomes) {
        StringBuilder sb = new StringBuilder("Storage pool '" + wanted.name() + "' at " + wanted.path() + " is not shared: ");
        for (int i = 0; i < unshared.size(); i++) {
            if (i > 0) sb.append("; ");
            sb.append(unshared.get(i).detail());
        }
        sb.append('.').append(others(outcomes, null));
        PairProof first = unshared.get(0);
        return new KvmigrateException(ErrorCode.STORAGE_NOT_SHARED, "prove", first.reader(), null, sb.toString(), withChangedNote(
                "Mount the same shared storage at " + wanted.path() + " on every host (check the mount on '" + first.reader()
                        + "'), then share again: identical pools are left alone and the proof runs again.", outcomes));
    }

    /** " Already changed: host 'a' (define, start, autostart), kept; host 'b' ..., rolled back." or "". */
    private static String others(List<HostOutcome> outcomes, String failedHost) {
        List<String> parts = new ArrayList<>();
        for (HostOutcome o : outcomes) {
            if (o.host().equals(failedHost)) continue;
            switch (o.status()) {
                case CHANGED -> parts.add("host '" + o.host() + "' (" + labels(o.applied()) + ") kept its changes");
                case ROLLED_BACK -> parts.add("host '" + o.host() + "' (" + labels(o.applied()) + ") was rolled back");
                case ROLLBACK_FAILED -> parts.add("host '" + o.host() + "' could not be rolled back: " + o.detail());
                default -> { }
            }
        }
        return parts.isEmpty() ? "" : " Hosts changed before: " + String.join("; ", parts) + ".";
    }

    private static String withChangedNote(String hint, List<HostOutcome> outcomes) {
        boolean kept = outcomes.stream().anyMatch(o -> o.status() == Status.CHANGED);
        String base = hint == null ? "" : hint;
        return kept ? base + (base.isEmpty() ? "" : " ") + "The hosts that kept their changes need nothing more: fix the cause and share "
                + "again (identical pools are left alone), or share with a rollback on failure." : hint;
    }

    private static String labels(List<Step> steps) {
        return String.join(", ", steps.stream().map(Step::label).toList());
    }

    /** "dir at /p" or "NFS export srv:/e, version 4.2, mounted at /p". */
    static String describe(PoolSpec s) {
        return s.isNfs() ? "NFS export " + s.sourceHost() + ":" + s.sourceDir() + ", version " + s.protocolVersion() + ", mounted at " + s.path()
                : s.type() + " at " + s.path();
    }
}
