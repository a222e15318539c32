package io.kvmigrate.server;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;

/**
 * The server's bearer token: 32 random bytes as hex, made at first start and kept in {@code server.token} (mode 0600)
 * in the config directory, beside the host registry. Compared in constant time.
 */
public final class ApiToken {
    /** The file name in the config directory. */
    public static final String FILE = "server.token";
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
    private final byte[] token;
    private final Path file;

    private ApiToken(String token, Path file) {
        this.token = token.getBytes(StandardCharsets.US_ASCII);
        this.file = file;
    }

    /** The token kept in {@code configDir}, made (and written with mode 0600, atomically) if there is none yet. */
    public static ApiToken loadOrCreate(Path configDir) {
        Path file = configDir.resolve(FILE);
        try {
            if (!Files.exists(file)) {
                Files.createDirectories(configDir);
                byte[] raw = new byte[32];
                new SecureRandom().nextBytes(raw);
                Path tmp = Files.createTempFile(configDir, FILE, ".tmp", PosixFilePermissions.asFileAttribute(OWNER_ONLY));
                Files.writeString(tmp, HexFormat.of().formatHex(raw) + "\n", StandardCharsets.US_ASCII);
                try {
                    // no replace: two servers started at once keep the first one's token
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
                } catch (FileAlreadyExistsException e) {
                    Files.deleteIfExists(tmp);
                }
            }
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (!OWNER_ONLY.containsAll(perms)) {
                throw new KvmigrateException(ErrorCode.INVALID_INPUT, "serve", null, null, file + " is readable by others (mode "
                        + PosixFilePermissions.toString(perms) + ").", "chmod 600 " + file + ", or delete it to make a new token.");
            }
            String t = Files.readString(file, StandardCharsets.US_ASCII).trim();
            if (!t.matches("[0-9a-f]{64}")) {
                throw new KvmigrateException(ErrorCode.INVALID_INPUT, "serve", null, null, file + " does not hold a token.",
                        "Delete it; the next start makes a new one.");
            }
            return new ApiToken(t, file);
        } catch (IOException e) {
            throw new KvmigrateException(ErrorCode.INVALID_INPUT, "serve", null, null, "Cannot read or write " + file + ": " + e,
                    "Check the config directory's permissions ($KVMIGRATE_CONFIG_DIR).");
        }
    }

    /** A fixed token (tests). */
    public static ApiToken of(String token) {
        return new ApiToken(token, null);
    }

    public String value() {
        return new String(token, StandardCharsets.US_ASCII);
    }

    public Path file() {
        return file;
    }

    /** True if {@code authorization} is {@code "Bearer <token>"}; constant time in the token's content. */
    public boolean accepts(String authorization) {
        if (authorization == null || !authorization.startsWith("Bearer ")) return false;
        byte[] given = authorization.substring("Bearer ".length()).trim().getBytes(StandardCharsets.US_ASCII);
        return MessageDigest.isEqual(given, token);
    }
}
