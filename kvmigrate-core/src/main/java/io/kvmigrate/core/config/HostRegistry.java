package io.kvmigrate.core.config;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.HostRef;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Named hosts, kept in {@code hosts.properties} (name=uri) in the user's config directory:
 * the system property {@code kvmigrate.config.dir}, else {@code $KVMIGRATE_CONFIG_DIR}, else {@code $XDG_CONFIG_HOME/kvmigrate}, else {@code ~/.config/kvmigrate}.
 * Writes go through a temporary file and an atomic rename so a crash never leaves half a file.
 */
public final class HostRegistry {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    private final Path file;

    public HostRegistry(Path configDir) {
        this.file = configDir.resolve("hosts.properties");
    }

    public static HostRegistry fromEnvironment() {
        return new HostRegistry(defaultConfigDir());
    }

    public static Path defaultConfigDir() {
        String prop = System.getProperty("kvmigrate.config.dir");
        if (prop != null && !prop.isBlank()) return Path.of(prop);
        String dir = System.getenv("KVMIGRATE_CONFIG_DIR");
        if (dir != null && !dir.isBlank()) return Path.of(dir);
        String xdg = System.getenv("XDG_CONFIG_HOME");
        if (xdg != null && !xdg.isBlank()) return Path.of(xdg, "kvmigrate");
        return Path.of(System.getProperty("user.home"), ".config", "kvmigrate");
    }

    public Path file() {
        return file;
    }

    public List<HostRef> list() {
        List<HostRef> out = new ArrayList<>();
        load().forEach((k, v) -> out.add(new HostRef(k, v)));
        return out;
    }

    public Optional<HostRef> find(String name) {
        String uri = load().get(name);
        return uri == null ? Optional.empty() : Optional.of(new HostRef(name, uri));
    }

    /** Adds or replaces a host. */
    public void add(String name, String uri) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw KvmigrateException.invalidInput("Host name '" + name + "' is not allowed.",
                    "Use letters, digits, '.', '_' and '-', starting with a letter or digit (at most 63).");
        }
        HostRef.validateUri(uri);
        TreeMap<String, String> hosts = load();
        hosts.put(name, uri);
        save(hosts);
    }

    /** Removes a host; returns false if it was not registered. */
    public boolean remove(String name) {
        TreeMap<String, String> hosts = load();
        if (hosts.remove(name) == null) return false;
        save(hosts);
        return true;
    }

    /** A registered name, or else a libvirt URI; anything else is UNKNOWN_HOST. */
    public HostRef resolve(String nameOrUri) {
        if (nameOrUri == null || nameOrUri.isBlank()) {
            throw KvmigrateException.invalidInput("No host given.", "Give a registered host name or a libvirt URI.");
        }
        Optional<HostRef> named = find(nameOrUri);
        if (named.isPresent()) return named.get();
        if (nameOrUri.contains("://") || nameOrUri.contains(":///")) {
            return new HostRef(nameOrUri, nameOrUri);
        }
        throw new KvmigrateException(ErrorCode.UNKNOWN_HOST, "resolve", nameOrUri, null,
                "'" + nameOrUri + "' is neither a registered host nor a libvirt URI.",
                "Register it as a host (name " + nameOrUri + ", URI e.g. qemu+ssh://root@" + nameOrUri + "/system), or pass a libvirt URI; "
                        + "the host list shows the registered ones.");
    }

    /** The registered hosts; a file that cannot be read or holds a bad entry is INVALID_INPUT naming the file and the entry. */
    private TreeMap<String, String> load() {
        TreeMap<String, String> out = new TreeMap<>();
        if (!Files.exists(file)) return out;
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException | IllegalArgumentException e) {
            // IllegalArgumentException: a malformed \\uXXXX escape (Properties' own format error)
            throw corrupt("Cannot read " + file + ": " + e.getMessage());
        }
        for (String k : p.stringPropertyNames()) {
            String v = p.getProperty(k);
            if (!NAME.matcher(k).matches()) throw corrupt(file + " has an entry with a bad host name: '" + k + "'.");
            try {
                HostRef.validateUri(v);
            } catch (KvmigrateException e) {
                throw corrupt(file + ": host '" + k + "' has a bad URI: " + e.getMessage());
            }
            out.put(k, v);
        }
        return out;
    }

    private KvmigrateException corrupt(String message) {
        return new KvmigrateException(ErrorCode.INVALID_INPUT, "config", null, null, message,
                "Fix or remove the file (it holds lines of name=libvirt URI), or register the hosts again.");
    }

    private void save(TreeMap<String, String> hosts) {
        try {
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Properties p = new Properties();
            p.putAll(hosts);
            try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                p.store(w, "kvmigrate hosts: name=libvirt URI");
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new KvmigrateException(ErrorCode.INVALID_INPUT, "config", null, null, "Cannot write " + file + ": " + e.getMessage(),
                    "Check permissions of " + file.getParent() + ".");
        }
    }
}
