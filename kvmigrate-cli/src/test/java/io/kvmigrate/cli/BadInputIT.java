package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.guest.TestGuest;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Bad input gets a clear error, the right exit code, and changes nothing on either host. */
class BadInputIT {
    private static final String STOPPED = "it-stopped";

    @BeforeAll
    static void defineStoppedVm() {
        ItLab.removeEverywhere(STOPPED);
        try (HostSession s = ItLab.open(0)) {
            LabVm.create(s, LabVm.definition(STOPPED, ItLab.get().sharedDir(), TestGuest.Params.defaults().withSpanMiB(8), ItLab.get().kvmAvailable()));
        }
    }

    @AfterAll
    static void cleanUp() {
        ItLab.removeEverywhere(STOPPED);
    }

    private static ItLab.Run refused(ErrorCode code, String... args) {
        List<String> a = ItLab.vmNames(0);
        List<String> b = ItLab.vmNames(1);
        ItLab.Run run = ItLab.cli(args);
        assertThat(run.exit()).as(run.out() + run.err()).isEqualTo(code.exitCode());
        assertThat(ItLab.vmNames(0)).as("nothing changed on host 0").isEqualTo(a);
        assertThat(ItLab.vmNames(1)).as("nothing changed on host 1").isEqualTo(b);
        return run;
    }

    @Test
    void migrate_unknownVm_saysSoAndNamesHost() {
        ItLab.Run r = refused(ErrorCode.UNKNOWN_VM, "migrate", "no-such-vm", "--from", "it1", "--to", "it2");
        assertThat(r.err()).contains("No VM named 'no-such-vm'").contains("host 'it1'").contains("hint:");
    }

    @Test
    void migrate_unknownHostName_saysSo() {
        ItLab.Run r = refused(ErrorCode.UNKNOWN_HOST, "migrate", STOPPED, "--from", "it1", "--to", "nowhere");
        assertThat(r.err()).contains("'nowhere' is neither a registered host nor a libvirt URI").contains("Register it as a host (name nowhere");
    }

    @Test
    void migrate_unreachableUri_saysSo() {
        ItLab.Run r = refused(ErrorCode.HOST_UNREACHABLE, "migrate", STOPPED, "--from", "it1", "--to", "qemu+tcp://127.0.0.254/system");
        assertThat(r.err()).contains("Tried to connect to qemu+tcp://127.0.0.254/system");
    }

    @Test
    void migrate_badUri_saysWhatIsWrong() {
        ItLab.Run r = refused(ErrorCode.INVALID_INPUT, "migrate", STOPPED, "--from", "it1", "--to", "http://example/system");
        assertThat(r.err()).contains("not a libvirt QEMU URI");
    }

    @Test
    void migrate_sourceEqualsTarget_refused() {
        ItLab.Run r = refused(ErrorCode.SAME_HOST, "migrate", STOPPED, "--from", "it1", "--to", "it1");
        assertThat(r.err()).contains("same host");
        refused(ErrorCode.SAME_HOST, "migrate", STOPPED, "--from", "it1", "--to", ItLab.host(0).ref().uri());
    }

    @Test
    void migrate_vmNotRunning_refused() {
        ItLab.Run r = refused(ErrorCode.VM_NOT_RUNNING, "migrate", STOPPED, "--from", "it1", "--to", "it2", "--json");
        assertThat(r.out()).contains("\"code\" : \"VM_NOT_RUNNING\"").contains("is shutoff");
    }

    @Test
    void migrate_nameWithControlCharacter_refused() {
        ItLab.Run r = refused(ErrorCode.INVALID_INPUT, "migrate", "bad\u0001name", "--from", "it1", "--to", "it2");
        assertThat(r.err()).contains("control character");
    }

    @Test
    void migrate_oddButValidName_isLookedUpNotInterpreted() {
        ItLab.Run r = refused(ErrorCode.UNKNOWN_VM, "migrate", "x'; rm -rf ~ #<>&\" $(id)", "--from", "it1", "--to", "it2");
        assertThat(r.err()).contains("No VM named");
    }

    @Test
    void hostsAdd_badUri_refusedAndRegistryUnchanged() {
        java.nio.file.Path file = io.kvmigrate.core.config.HostRegistry.fromEnvironment().file();
        String before = read(file);
        ItLab.Run r = ItLab.cli("hosts", "add", "x", "not a uri");
        assertThat(r.exit()).isEqualTo(ErrorCode.INVALID_INPUT.exitCode());
        assertThat(r.err()).contains("is not a valid URI");
        ItLab.Run bad = ItLab.cli("hosts", "add", "bad name!", "qemu:///system");
        assertThat(bad.exit()).isEqualTo(ErrorCode.INVALID_INPUT.exitCode());
        assertThat(read(file)).isEqualTo(before);
    }

    private static String read(java.nio.file.Path f) {
        try {
            return java.nio.file.Files.readString(f);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
