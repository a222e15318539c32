package io.kvmigrate.core.api;

import io.kvmigrate.core.job.JobKind;
import io.kvmigrate.core.model.ColdMigrationRequest;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.MigrationAddress;
import io.kvmigrate.core.model.MigrationRequest;
import io.kvmigrate.core.model.VmNames;
import io.kvmigrate.core.plan.PolicyKind;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * One move, whatever its kind: live on shared storage, live copying local disks, or offline. Validated as a whole by
 * {@link #validate()} (the rules of which options combine live here, not in a front end), naming the bad field.
 *
 * <p>Messages name fields as {@code {field}} tokens (the option names in camelCase: {@code {maxDowntime}}); each front
 * end words them its own way ({@link #wordFields}): the CLI as {@code --max-downtime}, the REST API as
 * {@code "maxDowntime"}.
 *
 * @param bandwidthMiBps 0 = unlimited
 * @param maxDowntimeMs 0 = libvirt's default (300 ms)
 * @param timeout null = none
 * @param parallel 0 = one connection
 * @param poolMap source pool to target pool (storage copy and offline moves)
 * @param networkMap source network to target network (offline moves)
 * @param accepted preflight codes the user accepted
 * @param tls encrypt the migration stream itself (live moves; implied when the target is reached over qemu+tls)
 * @param migrationAddress where the live migration stream goes (a separate migration network); null = the target's choice
 */
public record MoveRequest(String vm, HostRef from, HostRef to, JobKind kind, PolicyKind policy, long bandwidthMiBps,
        long maxDowntimeMs, Duration timeout, int parallel, boolean compress, Map<String, String> poolMap, Map<String, String> networkMap,
        Set<String> accepted, boolean shutdown, Duration shutdownTimeout, boolean forceOff, boolean start, boolean keepSource,
        boolean measure, boolean noPlan, boolean tls, MigrationAddress migrationAddress) {

    /** A request without {@code migrationAddress}. */
    public MoveRequest(String vm, HostRef from, HostRef to, JobKind kind, PolicyKind policy, long bandwidthMiBps,
            long maxDowntimeMs, Duration timeout, int parallel, boolean compress, Map<String, String> poolMap, Map<String, String> networkMap,
            Set<String> accepted, boolean shutdown, Duration shutdownTimeout, boolean forceOff, boolean start, boolean keepSource,
            boolean measure, boolean noPlan, boolean tls) {
        this(vm, from, to, kind, policy, bandwidthMiBps, maxDowntimeMs, timeout, parallel, compress, poolMap, networkMap, accepted, shutdown,
                shutdownTimeout, forceOff, start, keepSource, measure, noPlan, tls, null);
    }

    /** A request without {@code tls}. */
    public MoveRequest(String vm, HostRef from, HostRef to, JobKind kind, PolicyKind policy, long bandwidthMiBps,
            long maxDowntimeMs, Duration timeout, int parallel, boolean compress, Map<String, String> poolMap, Map<String, String> networkMap,
            Set<String> accepted, boolean shutdown, Duration shutdownTimeout, boolean forceOff, boolean start, boolean keepSource,
            boolean measure, boolean noPlan) {
        this(vm, from, to, kind, policy, bandwidthMiBps, maxDowntimeMs, timeout, parallel, compress, poolMap, networkMap, accepted, shutdown,
                shutdownTimeout, forceOff, start, keepSource, measure, noPlan, false);
    }

    public MoveRequest {
        poolMap = poolMap == null ? null : Map.copyOf(poolMap);
        networkMap = networkMap == null ? null : Map.copyOf(networkMap);
        accepted = Set.copyOf(accepted == null ? Set.of() : accepted);
        if (kind == null) kind = JobKind.LIVE;
        if (policy == null) policy = PolicyKind.SAFE;
        if (shutdownTimeout == null) shutdownTimeout = Duration.ofSeconds(120);
    }

    /** QEMU's most multifd channels. */
    public static final int MAX_PARALLEL = 255;
    /** 1 TiB/s: more is a typo, and QEMU turns the cap into bytes per second (overflowing past 2^63). */
    public static final long MAX_BANDWIDTH_MIBPS = 1L << 20;

    /** A live move of {@code vm} with the defaults; change it with the {@code with...} methods. */
    public static MoveRequest live(String vm, HostRef from, HostRef to) {
        return new MoveRequest(vm, from, to, JobKind.LIVE, PolicyKind.SAFE, 0, 0, null, 0, false, null, null, Set.of(), false, null, false,
                false, false, false, false);
    }

    /** Checks every field and every combination; returns this, or throws INVALID_INPUT (SAME_HOST for one host twice). */
    public MoveRequest validate() {
        VmNames.validate(vm);
        if (from == null) throw invalid("No source host given.", "Name the source host in {from}.");
        if (to == null) throw invalid("No target host given.", "Name the target host in {to}.");
        if (bandwidthMiBps < 0) throw invalid("{bandwidth} must be >= 0, got " + bandwidthMiBps + ".", "Give MiB/s, 0 for unlimited.");
        if (maxDowntimeMs < 0) throw invalid("{maxDowntime} must be >= 0, got " + maxDowntimeMs + ".", "Give milliseconds, e.g. 300.");
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw invalid("{timeout} must be positive, got " + timeout.toSeconds() + " s.", "Give seconds, e.g. 600.");
        }
        if (parallel < 0 || parallel > MAX_PARALLEL) {
            throw invalid("{parallel} must be 0.." + MAX_PARALLEL + ", got " + parallel + ".", "Give a number of connections, e.g. 4.");
        }
        if (bandwidthMiBps > MAX_BANDWIDTH_MIBPS) {
            throw invalid("{bandwidth} must be at most " + MAX_BANDWIDTH_MIBPS + " MiB/s, got " + bandwidthMiBps + ".", "Give MiB/s, 0 for unlimited.");
        }
        if (from.uri().equals(to.uri())) {
            throw new KvmigrateException(ErrorCode.SAME_HOST, "validate", from.name(), vm, "Source and target are the same host ("
                    + from.uri() + ").", "Pick a different {to} host.");
        }
        if (kind == JobKind.OFFLINE) {
            if (migrationAddress != null) throw invalid("{migrationAddress} is where a live migration's stream goes; an offline move copies"
                    + " disks over libvirt's own connection.", "Drop {migrationAddress} for {offline}.");
            if (tls) throw invalid("{tls} encrypts a live migration's stream; an offline move copies disks over libvirt's own connection.",
                    "Drop {tls}, or reach the hosts over qemu+tls:// or qemu+ssh:// to encrypt that connection.");
            if (shutdownTimeout.isNegative() || shutdownTimeout.isZero()) throw invalid("{shutdownTimeout} must be positive.", "Give seconds, e.g. 120.");
            if (forceOff && !shutdown) throw invalid("{forceOff} only makes sense with {shutdown}.", "Add {shutdown}.");
            return this;
        }
        if (shutdown || forceOff || start || keepSource || networkMap != null) {
            throw invalid("{shutdown}, {forceOff}, {start}, {keepSource} and {mapNetwork} go with {offline}.",
                    "Add {offline} for a cold move, or drop them for a live migration.");
        }
        if (poolMap != null && kind != JobKind.LIVE_COPY_STORAGE) {
            throw invalid("{mapPool} goes with {offline} or {copyStorage}.", "Add one of them.");
        }
        if (measure && noPlan) throw invalid("{measure} and {noPlan} contradict each other.", "Give one of them.");
        if (parallel > 0 && policy == PolicyKind.FINISH) {
            // QEMU 7.2 refuses the postcopy-ram and multifd capabilities together, and finish must be able to switch.
            throw invalid("{parallel} cannot be combined with {policy} finish: QEMU cannot switch a multifd migration to post-copy.",
                    "Use {policy} safe with {parallel}, or {policy} finish without it.");
        }
        return this;
    }

    private static KvmigrateException invalid(String message, String hint) {
        return KvmigrateException.invalidInput(message, hint);
    }

    /** The live part, as the live engine takes it. */
    public MigrationRequest migrationRequest() {
        return new MigrationRequest(vm, from, to, bandwidthMiBps, maxDowntimeMs, timeout);
    }

    /** The offline part, as the cold engine takes it. */
    public ColdMigrationRequest coldRequest() {
        return new ColdMigrationRequest(vm, from, to, shutdown, shutdownTimeout, forceOff, start, keepSource, poolMap, networkMap);
    }

    /** The options as the job history keeps them: flat, by field name, only those that differ from the defaults. */
    public Map<String, String> asMap() {
        Map<String, String> m = new TreeMap<>();
        m.put("kind", kind.name());
        // the URIs too: a controller that adopts the job after a crash reconnects without the first one's host registry
        m.put("fromUri", from.uri());
        m.put("toUri", to.uri());
        m.put("policy", policy.label());
        if (bandwidthMiBps > 0) m.put("bandwidth", Long.toString(bandwidthMiBps));
        if (maxDowntimeMs > 0) m.put("maxDowntime", Long.toString(maxDowntimeMs));
        if (timeout != null) m.put("timeout", Long.toString(timeout.toSeconds()));
        if (parallel > 0) m.put("parallel", Integer.toString(parallel));
        if (compress) m.put("compress", "true");
        if (poolMap != null) m.put("mapPool", new TreeMap<>(poolMap).toString());
        if (networkMap != null) m.put("mapNetwork", new TreeMap<>(networkMap).toString());
        if (!accepted.isEmpty()) m.put("accept", String.join(",", new java.util.TreeSet<>(accepted)));
        if (kind == JobKind.OFFLINE) {
            m.put("shutdown", Boolean.toString(shutdown));
            m.put("shutdownTimeout", Long.toString(shutdownTimeout.toSeconds()));
            if (forceOff) m.put("forceOff", "true");
            if (start) m.put("start", "true");
            if (keepSource) m.put("keepSource", "true");
        }
        if (measure) m.put("measure", "true");
        if (noPlan) m.put("noPlan", "true");
        if (tls) m.put("tls", "true");
        if (migrationAddress != null) m.put("migrationAddress", migrationAddress.text());
        if (migrationAddress != null && migrationAddress.listen() != null) m.put("migrationListen", migrationAddress.listen());
        return m;
    }

    /** Rebuilds a request from its {@link #asMap()} form and its hosts (crash recovery re-reads the policy and limits). */
    public static MoveRequest fromMap(String vm, HostRef from, HostRef to, Map<String, String> m) {
        JobKind kind = JobKind.valueOf(m.getOrDefault("kind", "LIVE"));
        PolicyKind policy = PolicyKind.SAFE;
        for (PolicyKind k : PolicyKind.values()) if (k.label().equals(m.get("policy"))) policy = k;
        Set<String> accepted = m.containsKey("accept") ? new LinkedHashSet<>(java.util.List.of(m.get("accept").split(","))) : Set.of();
        return new MoveRequest(vm, from, to, kind, policy, Long.parseLong(m.getOrDefault("bandwidth", "0")),
                Long.parseLong(m.getOrDefault("maxDowntime", "0")), m.containsKey("timeout") ? Duration.ofSeconds(Long.parseLong(m.get("timeout"))) : null,
                Integer.parseInt(m.getOrDefault("parallel", "0")), Boolean.parseBoolean(m.get("compress")), null, null, accepted,
                Boolean.parseBoolean(m.get("shutdown")), Duration.ofSeconds(Long.parseLong(m.getOrDefault("shutdownTimeout", "120"))),
                Boolean.parseBoolean(m.get("forceOff")), Boolean.parseBoolean(m.get("start")), Boolean.parseBoolean(m.get("keepSource")),
                Boolean.parseBoolean(m.get("measure")), Boolean.parseBoolean(m.get("noPlan")), Boolean.parseBoolean(m.get("tls")),
                m.containsKey("migrationAddress") ? MigrationAddress.parse(m.get("migrationAddress"), m.get("migrationListen")) : null);
    }

    /**
     * The field names a message may name as {@code {field}} tokens: the request's options in camelCase (plus {@code live},
     * {@code copyStorage} and {@code offline}, the kinds). Only these are tokens, so a VM named {@code {web}} prints as it is.
     */
    public static final Set<String> FIELDS = Set.of("vm", "from", "to", "live", "copyStorage", "offline", "policy", "bandwidth",
            "maxDowntime", "timeout", "parallel", "compress", "mapPool", "mapNetwork", "accept", "shutdown", "shutdownTimeout", "forceOff",
            "start", "keepSource", "measure", "noPlan", "tls", "migrationAddress", "migrationListen");
    private static final java.util.regex.Pattern TOKEN = java.util.regex.Pattern.compile("\\{([a-z][A-Za-z]*)\\}");

    /**
     * {@code text} with every {@code {field}} token of {@link #FIELDS} worded by {@code word} (e.g. the CLI's {@code
     * maxDowntime -> --max-downtime}); anything else is returned as it is.
     */
    public static String wordFields(String text, java.util.function.UnaryOperator<String> word) {
        if (text == null || text.indexOf('{') < 0) return text;
        java.util.regex.Matcher m = TOKEN.matcher(text);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            String field = m.group(1);
            m.appendReplacement(b, java.util.regex.Matcher.quoteReplacement(FIELDS.contains(field) ? word.apply(field) : m.group()));
        }
        m.appendTail(b);
        return b.toString();
    }

    public MoveRequest withKind(JobKind k) {
        return new MoveRequest(vm, from, to, k, policy, bandwidthMiBps, maxDowntimeMs, timeout, parallel, compress, poolMap, networkMap,
                accepted, shutdown, shutdownTimeout, forceOff, start, keepSource, measure, noPlan, tls, migrationAddress);
    }

    public MoveRequest withPolicy(PolicyKind p) {
        return new MoveRequest(vm, from, to, kind, p, bandwidthMiBps, maxDowntimeMs, timeout, parallel, compress, poolMap, networkMap,
                accepted, shutdown, shutdownTimeout, forceOff, start, keepSource, measure, noPlan, tls, migrationAddress);
    }

    public MoveRequest withTls(boolean on) {
        return new MoveRequest(vm, from, to, kind, policy, bandwidthMiBps, maxDowntimeMs, timeout, parallel, compress, poolMap, networkMap,
                accepted, shutdown, shutdownTimeout, forceOff, start, keepSource, measure, noPlan, on, migrationAddress);
    }

    public MoveRequest withMigrationAddress(MigrationAddress a) {
        return new MoveRequest(vm, from, to, kind, policy, bandwidthMiBps, maxDowntimeMs, timeout, parallel, compress, poolMap, networkMap,
                accepted, shutdown, shutdownTimeout, forceOff, start, keepSource, measure, noPlan, tls, a);
    }

    public MoveRequest withMeasure(boolean m) {
        return new MoveRequest(vm, from, to, kind, policy, bandwidthMiBps, maxDowntimeMs, timeout, parallel, compress, poolMap, networkMap,
                accepted, shutdown, shutdownTimeout, forceOff, start, keepSource, m, noPlan, tls, migrationAddress);
    }

    public MoveRequest withLimits(long bandwidthMiBps, long maxDowntimeMs, Duration timeout) {
        return new MoveRequest(vm, from, to, kind, policy, bandwidthMiBps, maxDowntimeMs, timeout, parallel, compress, poolMap, networkMap,
                accepted, shutdown, shutdownTimeout, forceOff, start, keepSource, measure, noPlan, tls, migrationAddress);
    }
}
