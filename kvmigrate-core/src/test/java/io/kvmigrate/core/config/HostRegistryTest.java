package io.kvmigrate.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostRegistryTest {
    @TempDir
    Path dir;

    @Test
    void addListResolveRemove_roundTrip() {
        HostRegistry r = new HostRegistry(dir);
        r.add("kvm1", "qemu+ssh://root@kvm1/system");
        assertThat(r.list()).singleElement().satisfies(h -> assertThat(h.uri()).isEqualTo("qemu+ssh://root@kvm1/system"));
        assertThat(r.resolve("kvm1").name()).isEqualTo("kvm1");
        assertThat(r.resolve("qemu+tcp://127.0.0.2/system").uri()).isEqualTo("qemu+tcp://127.0.0.2/system");
        assertThat(r.remove("kvm1")).isTrue();
        assertThat(r.list()).isEmpty();
    }

    @Test
    void resolve_unknownName_unknownHostWithHowToRegister() {
        assertThatThrownBy(() -> new HostRegistry(dir).resolve("kvm9")).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.UNKNOWN_HOST);
            assertThat(e.hint()).contains("Register it as a host (name kvm9").doesNotContain("kvmigrate ");
        });
    }

    /** A corrupt file is bad input naming the file and the entry, never an internal error. */
    private void assertCorrupt(byte[] content, String expected) throws Exception {
        Files.write(dir.resolve("hosts.properties"), content);
        HostRegistry r = new HostRegistry(dir);
        assertThatThrownBy(r::list).isInstanceOfSatisfying(KvmigrateException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_INPUT);
            assertThat(e.getMessage()).contains(dir.resolve("hosts.properties").toString()).contains(expected);
            assertThat(e.hint()).contains("Fix or remove the file");
        });
        assertThatThrownBy(() -> r.resolve("kvm1")).isInstanceOf(KvmigrateException.class);
    }

    @Test
    void list_malformedUnicodeEscape_invalidInputNamingTheFile() throws Exception {
        assertCorrupt("kvm1=qemu+ssh://kvm1/system\\u12\n".getBytes(StandardCharsets.ISO_8859_1), "Cannot read");
    }

    @Test
    void list_notUtf8_invalidInputNamingTheFile() throws Exception {
        assertCorrupt(new byte[] {'k', '=', (byte) 0xff, (byte) 0xfe, '\n'}, "Cannot read");
    }

    @Test
    void list_badHostName_invalidInputNamingTheEntry() throws Exception {
        assertCorrupt("bad$name=qemu+ssh://kvm1/system\n".getBytes(StandardCharsets.UTF_8), "bad host name: 'bad$name'");
    }

    @Test
    void list_badUri_invalidInputNamingTheHost() throws Exception {
        assertCorrupt("kvm1=\n".getBytes(StandardCharsets.UTF_8), "host 'kvm1' has a bad URI");
    }
}
