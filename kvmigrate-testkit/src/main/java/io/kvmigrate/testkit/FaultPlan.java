package io.kvmigrate.testkit;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The faults a {@link FakeHypervisor}'s hosts inject, as a list of rules by operation. Every role call of a fake host
 * (and every call on a fake migration) asks the plan first; the first rule that fails the call wins, so it throws before
 * anything changes (and is not logged as a call). For example:
 *
 * <pre>{@code
 * hv.faults().on("b", Op.DEFINE).fail(ErrorCode.TARGET_CONFLICT, "domain 'web' already exists");
 * hv.faults().on("a", Op.POSTCOPY_SWITCH).killMigration(ErrorCode.LIBVIRT_ERROR, "connection reset by peer");
 * hv.faults().on("a", Op.ANY).onCall(7).loseConnection();
 * hv.faults().on("b", Op.UPLOAD_DATA).afterBytes(1 << 20).fail(ErrorCode.LIBVIRT_ERROR, "No space left on device");
 * hv.faults().on("a", Op.ABORT).ignore();
 * }</pre>
 *
 * A rule counts the calls it matches from when it was added. Calls the test makes itself (an invariant check that looks
 * a VM up) are calls too; the fake's own bookkeeping and the test set-up methods ({@code put}, {@code addPool}, ...) are
 * not. Thread-safe.
 */
public final class FaultPlan {
    /** The operations a rule can name: one per role method, the running migration's steps, or {@link #ANY}. */
    public enum Op {
        // Domains: the subject is the VM's name (none for LIST_VMS and a lookup by UUID)
        LIST_VMS("list VMs", false), FIND_VM("look up VM", true), DEFINE("define VM", true), START("start VM", true),
        SHUTDOWN("ask the guest to shut down", true), DESTROY("power off VM", true), UNDEFINE("undefine VM", true),
        SUSPEND("pause VM", true), RESUME("resume VM", true),
        // Volumes: the subject is the path (the volume's name for CREATE_VOLUME, the directory for the probes, the pool for
        // ENSURE_POOL); UPLOAD_DATA is each write into an open upload
        POOLS("list storage pools", false), ENSURE_POOL("define storage pool", false), VOLUME("look up volume", false),
        CREATE_VOLUME("create volume", false), DELETE_VOLUME("delete volume", false), DOWNLOAD("read", false),
        UPLOAD("start writing", false), UPLOAD_DATA("write to", false), FILE_SIZE("read size of", false),
        WRITE_PROBE("create probe file in", false), READ_PROBE("read probe in", false), DELETE_PROBE("delete probe in", false),
        // StoragePools: the subject is the pool's name
        POOL_LIST("list storage pools", false), POOL_FIND("look up storage pool", false), POOL_DEFINE("define storage pool", false),
        POOL_START("start storage pool", false), POOL_AUTOSTART("set autostart of storage pool", false),
        POOL_STOP("stop storage pool", false), POOL_UNDEFINE("undefine storage pool", false),
        // Migrations: the subject is the VM's name
        MIGRATE("migrate", true), ACTIVE_MIGRATION("look up the migration job", true), COMPLETED_STATS("read job statistics", true),
        PAUSED_IN_POSTCOPY("read state", true), RESUME_POSTCOPY("resume post-copy", true),
        // the running migration, on its source host
        JOB_STATS("read job statistics", true), SET_DOWNTIME("set the maximum downtime", true), SET_BANDWIDTH("set bandwidth", true),
        POSTCOPY_SWITCH("switch to post-copy", true), ABORT("abort the migration", true),
        // Inventory (INVENTORY's subject is the guest's name) and GuestProbes (the VM's name)
        FACTS("read host facts", false), INVENTORY("read the host inventory", false),
        PEEK_MEMORY("read guest memory", true), DIRTY_RATE_START("start the dirty-rate measurement", true),
        DIRTY_RATE_READ("read the dirty rate", true),
        /** Every operation (to count calls, as in "lose the connection on call N"). */
        ANY(null, false);

        private final String tried;
        private final boolean vmSubject;

        Op(String tried, boolean vmSubject) {
            this.tried = tried;
            this.vmSubject = vmSubject;
        }

        boolean migrationStep() {
            return this == MIGRATE || this == RESUME_POSTCOPY || this == JOB_STATS || this == SET_DOWNTIME || this == SET_BANDWIDTH
                    || this == POSTCOPY_SWITCH || this == ABORT;
        }
    }

    private enum Action { FAIL, LOSE_CONNECTION, IGNORE, KILL_MIGRATION, RUN }

    /** What the matching rules that did not throw ask of the call: skip its effect, and/or end its migration with an error. */
    record Hit(boolean ignored, KvmigrateException kill) {
        static final Hit NONE = new Hit(false, null);
    }

    private final List<Rule> rules = new ArrayList<>();
    private final Set<String> lost = new HashSet<>();
    private final List<String> fired = new ArrayList<>();

    /** Starts a rule for {@code op} on host {@code host} (null: any host); it takes effect with its action. */
    public Rule on(String host, Op op) {
        return new Rule(host, op);
    }

    /** Removes every rule and restores every lost connection. */
    public synchronized void clear() {
        rules.clear();
        lost.clear();
    }

    /** The rules that acted, in order, as "host: OP subject". */
    public synchronized List<String> fired() {
        return List.copyOf(fired);
    }

    /** A host's connection comes back when the host is opened again (the fake has one session object per host). */
    synchronized void reconnect(String host) {
        lost.remove(host);
    }

    /** Asked by the fake before a call: throws a planned failure, else says what else the plan wants. */
    synchronized Hit check(String host, Op op, String subject, long bytes) {
        if (lost.contains(host)) {
            throw error(ErrorCode.HOST_UNREACHABLE, host, op, subject, "the connection to the host was lost (fault plan)");
        }
        boolean ignored = false;
        KvmigrateException kill = null;
        for (Rule r : rules) {
            if (!r.matches(host, op, subject, bytes)) continue;
            fired.add(host + ": " + op + (subject == null ? "" : " " + subject));
            switch (r.action) {
                case FAIL -> throw r.error != null ? r.error : error(r.code, host, op, subject, r.reason);
                case LOSE_CONNECTION -> {
                    lost.add(host);
                    throw error(ErrorCode.HOST_UNREACHABLE, host, op, subject, "the connection to the host was lost (fault plan)");
                }
                case IGNORE -> ignored = true;
                case RUN -> r.before.run();
                case KILL_MIGRATION -> {
                    if (kill == null) kill = r.error != null ? r.error : error(r.code, host, op, subject, r.reason);
                }
            }
        }
        return ignored || kill != null ? new Hit(ignored, kill) : Hit.NONE;
    }

    /** As libvirt's errors read: "Tried to X but failed because: Y", naming the host and, for a VM's operation, the VM. */
    private static KvmigrateException error(ErrorCode code, String host, Op op, String subject, String reason) {
        String tried = op.tried + (subject == null || op.vmSubject ? "" : " " + subject);
        return new KvmigrateException(code, null, host, op.vmSubject ? subject : null, "Tried to " + tried + " but failed because: " + reason,
                null);
    }

    /** One rule: which calls it matches, then (by its terminal method) what it does to them. */
    public final class Rule {
        private final String host;
        private final Op op;
        private String subject;
        private int nth;
        private long afterBytes = -1;
        private int seen;
        private Action action;
        private ErrorCode code;
        private String reason;
        private KvmigrateException error;
        private Runnable before;

        private Rule(String host, Op op) {
            this.host = host;
            this.op = op;
        }

        /** Only calls about this VM, path or pool. */
        public Rule of(String subject) {
            this.subject = subject;
            return this;
        }

        /** Only the {@code n}-th matching call (1 = the next one); without it, every matching call. */
        public Rule onCall(int n) {
            if (n < 1) throw new IllegalArgumentException("calls count from 1");
            this.nth = n;
            return this;
        }

        /** Only the next matching call. */
        public Rule once() {
            return onCall(1);
        }

        /** For {@link Op#UPLOAD_DATA}: only once more than {@code bytes} were written in one upload. */
        public Rule afterBytes(long bytes) {
            this.afterBytes = bytes;
            return this;
        }

        /** The call throws {@code code} with libvirt's wording ("Tried to ... but failed because: {@code reason}"). */
        public FaultPlan fail(ErrorCode code, String reason) {
            this.code = code;
            this.reason = reason;
            return add(Action.FAIL);
        }

        /** The call throws this very exception. */
        public FaultPlan fail(KvmigrateException e) {
            this.error = e;
            return add(Action.FAIL);
        }

        /** The call, and every later one on that host until it is opened again, fails with {@link ErrorCode#HOST_UNREACHABLE}. */
        public FaultPlan loseConnection() {
            return add(Action.LOSE_CONNECTION);
        }

        /**
         * The call returns but has no effect: a guest that ignores the shutdown request ({@link Op#SHUTDOWN}), a hypervisor
         * that records an abort but keeps migrating ({@link Op#ABORT}), a post-copy switch not yet in effect
         * ({@link Op#POSTCOPY_SWITCH}).
         */
        public FaultPlan ignore() {
            if (op != Op.SHUTDOWN && op != Op.ABORT && op != Op.POSTCOPY_SWITCH) {
                throw new IllegalArgumentException("ignore() applies to SHUTDOWN, ABORT and POSTCOPY_SWITCH, not " + op);
            }
            return add(Action.IGNORE);
        }

        /**
         * The migration is killed at this step: the call itself does what it does, then the job ends with this error (at
         * {@link Op#MIGRATE}: right after it started; at {@link Op#JOB_STATS} with {@link #onCall}: at the n-th poll).
         */
        public FaultPlan killMigration(ErrorCode code, String reason) {
            if (!op.migrationStep()) throw new IllegalArgumentException("killMigration() applies to a migration's steps, not " + op);
            this.code = code;
            this.reason = reason;
            return add(Action.KILL_MIGRATION);
        }

        /**
         * Runs {@code what} just before the call goes ahead (which then runs as usual): a test's own fault at an exact
         * moment, e.g. corrupting a target copy between its upload and its verification ({@link Op#DOWNLOAD}).
         */
        public FaultPlan run(Runnable what) {
            this.before = java.util.Objects.requireNonNull(what, "what");
            return add(Action.RUN);
        }

        private FaultPlan add(Action a) {
            if (action != null) throw new IllegalStateException("a rule has one action");
            action = a;
            synchronized (FaultPlan.this) {
                rules.add(this);
            }
            return FaultPlan.this;
        }

        private boolean matches(String h, Op o, String s, long bytes) {
            if (host != null && !host.equals(h)) return false;
            if (op != Op.ANY && op != o) return false;
            if (subject != null && !subject.equals(s)) return false;
            if (afterBytes >= 0 && bytes <= afterBytes) return false;
            seen++;
            return nth == 0 || seen == nth;
        }
    }
}
