package io.kvmigrate.lab;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.config.HostRegistry;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.HypervisorConnector;
import io.kvmigrate.libvirt.LibvirtConnector;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Real libvirt hosts on this one machine: each host is a libvirtd in its own private mount namespace,
 * with its own /etc, /run, /var/lib, /var/log and /var/cache libvirt directories bind-mounted from
 * {@code root/hosts/NAME}, listening on its own loopback address 127.0.0.N (qemu+tcp, no auth: loopback only).
 * {@code root/shared} is the same directory in every namespace, so it is shared storage; each host has a
 * pool named {@value #SHARED_POOL} on it, and a pool {@value #LOCAL_POOL} on its private {@value #LOCAL_DIR}. Needs root.
 */
public final class Lab {
    public static final String SHARED_POOL = "shared";
    /** Each host's own pool, on {@value #LOCAL_DIR}: same path on every host, different files (not shared). */
    public static final String LOCAL_POOL = "local";
    public static final String LOCAL_DIR = "/var/lib/libvirt/images";
    private static final List<String> NAMESPACED = List.of("etc/libvirt", "run/libvirt", "var/lib/libvirt", "var/log/libvirt",
            "var/cache/libvirt");
    private static final String HOST_SCRIPT = """
            set -eu
            h="$1"
            for d in etc/libvirt run/libvirt var/lib/libvirt var/log/libvirt var/cache/libvirt; do
              mkdir -p "/$d"
              mount --bind "$h/$d" "/$d"
            done
            setsid /usr/bin/tini -s -- /usr/sbin/libvirtd -l -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid \
              </dev/null >/dev/null 2>&1 &
            """;
    private static final List<String> PACKAGES = List.of("qemu-system-x86", "qemu-utils", "libvirt-daemon",
            "libvirt-daemon-driver-qemu", "libvirt-clients", "tini");

    /** Where the lab lives, its first loopback address (last octet), how many hosts, and their name prefix. */
    public record Config(Path root, int firstOctet, int hosts, String namePrefix) {
        public Config {
            if (hosts < 1 || hosts > 8) throw KvmigrateException.invalidInput("--hosts must be 1..8, got " + hosts + ".", null);
            if (firstOctet < 2 || firstOctet + hosts > 254) throw KvmigrateException.invalidInput("Bad lab address range.", null);
        }

        public static Config defaults(int hosts) {
            return new Config(Path.of("/var/lib/kvmigrate-lab"), 2, hosts, "lab");
        }

        public Config withHosts(int n) {
            return new Config(root, firstOctet, n, namePrefix);
        }
    }

    /** One lab host. */
    public record LabHost(String name, String address, Path dir, HostRef ref) {
        public Path pidFile() {
            return dir.resolve("run/libvirt/libvirtd.pid");
        }

        public Optional<ProcessHandle> daemon() {
            try {
                long pid = Long.parseLong(Files.readString(pidFile()).trim());
                return ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
            } catch (IOException | NumberFormatException e) {
                return Optional.empty();
            }
        }
    }

    /** State of one host for {@code lab status}. */
    public record HostStatus(LabHost host, boolean daemonRunning, boolean reachable, List<VmInfo> vms, String problem) {
    }

    private final Config config;
    private final HypervisorConnector connector;
    private final HostRegistry registry;

    public Lab(Config config, HypervisorConnector connector, HostRegistry registry) {
        this.config = config;
        this.connector = connector;
        this.registry = registry;
    }

    public static Lab standard(int hosts) {
        return new Lab(Config.defaults(hosts), new LibvirtConnector(), HostRegistry.fromEnvironment());
    }

    public Config config() {
        return config;
    }

    public Path sharedDir() {
        return config.root().resolve("shared");
    }

    /** Where the real Linux guest's boot files are built: outside the hosts' private mounts, so every host sees them. */
    public Path linuxGuestDir() {
        return config.root().resolve("linux-guest");
    }

    /** A directory visible at the same path on every lab host but outside any storage pool. */
    public Path plainDir() {
        return config.root().resolve("plain");
    }

    public List<LabHost> hosts() {
        List<LabHost> out = new ArrayList<>();
        for (int i = 0; i < config.hosts(); i++) {
            String name = config.namePrefix() + (i + 1);
            String address = "127.0.0." + (config.firstOctet() + i);
            out.add(new LabHost(name, address, config.root().resolve("hosts").resolve(name),
                    new HostRef(name, "qemu+tcp://" + address + "/system")));
        }
        return out;
    }

    public boolean kvmAvailable() {
        Path kvm = Path.of("/dev/kvm");
        return Files.isReadable(kvm) && Files.isWritable(kvm);
    }

    /** Starts what is not running yet; harmless to call twice. */
    public List<LabHost> up(Consumer<String> log) {
        requireRoot();
        ensurePackages(log);
        ensureQemuUser(log);
        try {
            Files.createDirectories(sharedDir());
            Files.createDirectories(plainDir());
        } catch (IOException e) {
            throw labError("create " + config.root(), e);
        }
        List<LabHost> hosts = hosts();
        for (LabHost h : hosts) {
            if (h.daemon().isPresent() && reachable(h)) {
                log.accept(h.name() + ": already running on " + h.address());
            } else {
                start(h, log);
            }
            try {
                // var/lib/libvirt is bind-mounted per host, so this directory is private to the host: local storage.
                Files.createDirectories(h.dir().resolve("var/lib/libvirt/images"));
            } catch (IOException e) {
                throw labError("create the local pool directory of " + h.name(), e);
            }
            try (HostSession s = connector.open(h.ref())) {
                s.ensureDirPool(SHARED_POOL, sharedDir().toString());
                s.ensureDirPool(LOCAL_POOL, LOCAL_DIR);
            }
            registry.add(h.name(), h.ref().uri());
        }
        return hosts;
    }

    /** The demo VM's name. */
    public static final String DEMO_VM = "demo";

    /** The demo guest: 16 MiB span rewritten at about 6 MB/s (1500 pages/s), so a live migration converges in seconds. */
    public static io.kvmigrate.lab.guest.TestGuest.Params demoGuest() {
        return io.kvmigrate.lab.guest.TestGuest.Params.defaults().withSpanMiB(16).withDelay(1_000_000);
    }

    /** Defines the demo VM on the first host unless some lab host already has it; returns the host that has it. */
    public LabHost ensureDemoVm(Consumer<String> log) {
        for (LabHost h : hosts()) {
            try (HostSession s = connector.open(h.ref())) {
                Optional<VmInfo> vm = s.findVm(DEMO_VM);
                if (vm.isPresent()) {
                    if (!vm.get().state().isActive()) refreshDemoImage();
                    return h;
                }
            }
        }
        LabHost first = hosts().get(0);
        try (HostSession s = connector.open(first.ref())) {
            LabVm.create(s, LabVm.definition(DEMO_VM, sharedDir(), demoGuest(), kvmAvailable()));
        }
        log.accept(first.name() + ": defined VM '" + DEMO_VM + "' (test guest, disk " + sharedDir().resolve(DEMO_VM + ".img") + ")");
        return first;
    }

    /** A stopped demo VM gets the current guest image, so a newer kvmigrate's demo parameters take effect. */
    private void refreshDemoImage() {
        Path image = sharedDir().resolve(DEMO_VM + ".img");
        try {
            Files.write(image, io.kvmigrate.lab.guest.TestGuest.diskImage(demoGuest()));
        } catch (IOException e) {
            throw labError("write " + image, e);
        }
    }

    private void start(LabHost h, Consumer<String> log) {
        log.accept(h.name() + ": starting libvirtd on " + h.address() + (kvmAvailable() ? " (KVM)" : " (software emulation: no /dev/kvm)"));
        try {
            for (String d : NAMESPACED) Files.createDirectories(h.dir().resolve(d));
            Files.deleteIfExists(h.pidFile());
            String uuid = UUID.nameUUIDFromBytes(("kvmigrate-lab-" + h.address()).getBytes(StandardCharsets.UTF_8)).toString();
            Files.writeString(h.dir().resolve("etc/libvirt/libvirtd.conf"), String.join("\n",
                    "listen_tls = 0", "listen_tcp = 1", "listen_addr = \"" + h.address() + "\"", "auth_tcp = \"none\"",
                    "host_uuid = \"" + uuid + "\"", "log_outputs = \"3:file:/var/log/libvirt/libvirtd.log\"", ""));
            Files.writeString(h.dir().resolve("etc/libvirt/qemu.conf"), String.join("\n",
                    "user = \"root\"", "group = \"root\"", "security_driver = \"none\"", "namespaces = [ ]", "cgroup_controllers = [ ]",
                    "dynamic_ownership = 0", "remember_owner = 0", "stdio_handler = \"file\"",
                    "migration_address = \"" + h.address() + "\"", "migration_host = \"" + h.address() + "\"",
                    // the certificates of 'migrate --tls' (made when openssl is there; plain moves never read them)
                    "migrate_tls_x509_cert_dir = \"" + LabTls.HOST_DIR + "\"", ""));
            if (LabTls.available()) LabTls.install(config.root(), h.dir(), h.address());
        } catch (IOException e) {
            throw labError("prepare " + h.dir(), e);
        }
        Processes.runChecked(List.of("unshare", "-m", "--propagation", "private", "sh", "-c", HOST_SCRIPT, "lab-host",
                h.dir().toString()), 60, "start libvirtd for " + h.name());
        if (!Poll.until(Duration.ofSeconds(30), Duration.ofMillis(100), () -> h.daemon().isPresent() && reachable(h))) {
            throw new KvmigrateException(ErrorCode.LAB_FAILED, "lab", h.name(), null, "libvirtd for " + h.name() + " did not answer on "
                    + h.ref().uri() + " within 30 s.", "See " + h.dir().resolve("var/log/libvirt/libvirtd.log") + ".");
        }
    }

    private boolean reachable(LabHost h) {
        try (HostSession s = connector.open(h.ref())) {
            return s.facts() != null;
        } catch (KvmigrateException e) {
            return false;
        }
    }

    public List<HostStatus> status() {
        List<HostStatus> out = new ArrayList<>();
        for (LabHost h : hosts()) {
            boolean running = h.daemon().isPresent();
            if (!running) {
                out.add(new HostStatus(h, false, false, List.of(), "not running"));
                continue;
            }
            try (HostSession s = connector.open(h.ref())) {
                out.add(new HostStatus(h, true, true, s.listVms(), null));
            } catch (KvmigrateException e) {
                out.add(new HostStatus(h, true, false, List.of(), e.getMessage()));
            }
        }
        return out;
    }

    /** Powers off the lab's VMs, stops its daemons and forgets its hosts; touches nothing else. */
    public void down(Consumer<String> log) {
        requireRoot();
        for (LabHost h : hosts()) {
            Optional<ProcessHandle> daemon = h.daemon();
            if (daemon.isPresent()) {
                try (HostSession s = connector.open(h.ref())) {
                    for (VmInfo vm : s.listVms()) {
                        if (vm.state().isActive()) {
                            log.accept(h.name() + ": powering off " + vm.name());
                            s.destroyVm(vm.name());
                        }
                    }
                } catch (KvmigrateException e) {
                    log.accept(h.name() + ": " + e.getMessage());
                }
                log.accept(h.name() + ": stopping libvirtd (pid " + daemon.get().pid() + ")");
                daemon.get().destroy();
                if (!Poll.until(Duration.ofSeconds(15), Duration.ofMillis(100), () -> !daemon.get().isAlive())) {
                    daemon.get().destroyForcibly();
                }
            }
            killOrphanGuests(h, log);
            registry.find(h.name()).filter(r -> r.uri().equals(h.ref().uri())).ifPresent(r -> registry.remove(h.name()));
        }
    }

    /** QEMU processes of a host whose daemon is gone (their pid files are in the host's run directory). */
    private void killOrphanGuests(LabHost h, Consumer<String> log) {
        Path dir = h.dir().resolve("run/libvirt/qemu");
        if (!Files.isDirectory(dir)) return;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".pid")).toList()) {
                try {
                    long pid = Long.parseLong(Files.readString(f).trim());
                    ProcessHandle.of(pid).filter(p -> p.info().command().orElse("").contains("qemu")).ifPresent(p -> {
                        log.accept(h.name() + ": killing orphan QEMU " + pid);
                        p.destroyForcibly();
                    });
                    Files.deleteIfExists(f);
                } catch (IOException | NumberFormatException ignored) {
                    // not a pid file of ours
                }
            }
        } catch (IOException e) {
            throw labError("list " + dir, e);
        }
    }

    private void ensurePackages(Consumer<String> log) {
        boolean present = Stream.of("/usr/sbin/libvirtd", "/usr/bin/qemu-system-x86_64", "/usr/bin/qemu-img", "/usr/bin/virsh", "/usr/bin/tini")
                .allMatch(p -> Files.isExecutable(Path.of(p)));
        if (present) return;
        log.accept("installing " + String.join(" ", PACKAGES) + " (apt-get)");
        Processes.runChecked(List.of("apt-get", "update", "-qq"), 600, "apt-get update");
        List<String> cmd = new ArrayList<>(List.of("apt-get", "install", "-y", "-qq", "--no-install-recommends"));
        cmd.addAll(PACKAGES);
        Processes.runChecked(cmd, 900, "install the lab's Debian packages");
    }

    private void ensureQemuUser(Consumer<String> log) {
        if (Processes.run(List.of("id", "-u", "libvirt-qemu"), 10).exit() == 0) return;
        log.accept("creating system user libvirt-qemu (the QEMU driver needs it to exist)");
        if (Processes.run(List.of("getent", "group", "libvirt-qemu"), 10).exit() != 0) {
            Processes.runChecked(List.of("groupadd", "-r", "libvirt-qemu"), 30, "create group libvirt-qemu");
        }
        Processes.runChecked(List.of("useradd", "-r", "-g", "libvirt-qemu", "-d", "/var/lib/libvirt", "-s", "/usr/sbin/nologin",
                "libvirt-qemu"), 30, "create user libvirt-qemu");
    }

    private static void requireRoot() {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new KvmigrateException(ErrorCode.LAB_FAILED, "lab", "localhost", null,
                    "The lab starts libvirt daemons in private mount namespaces, which needs root.", "Run it as root (sudo).");
        }
    }

    private static KvmigrateException labError(String what, Exception e) {
        return new KvmigrateException(ErrorCode.LAB_FAILED, "lab", "localhost", null, "Tried to " + what + " but failed because: "
                + e.getMessage(), "Check permissions and free space.");
    }
}
