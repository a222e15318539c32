package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Every command, nested ones included, answers --help with its usage and exit 0 (the error hint tells users to try it). */
class MainHelpTest {
    @Test
    void help_everyCommand_printsItsUsageAndExitsZero() {
        List<List<String>> paths = new ArrayList<>();
        collect(Main.commandLine(), new ArrayList<>(), paths);
        assertThat(paths).hasSizeGreaterThan(10);
        for (List<String> path : paths) {
            List<String> args = new ArrayList<>(path);
            args.add("--help");
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int exit = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args.toArray(String[]::new));
            assertThat(exit).as(String.join(" ", args) + ": " + err).isZero();
            assertThat(out.toString()).as(String.join(" ", args)).contains("Usage: kvmigrate " + String.join(" ", path));
        }
    }

    @Test
    void missingParameter_hintsAtHelp_whichWorks() {
        StringWriter err = new StringWriter();
        int exit = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "migrate");
        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains("Try 'kvmigrate migrate --help'.");
    }

    @Test
    void usageError_withJson_isOneJsonErrorObjectWithPicocliMessage() throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), "migrate", "web", "--from", "a", "--to", "b", "--bogus", "--json");
        assertThat(exit).isEqualTo(2);
        var j = Output.json().readTree(out.toString());
        assertThat(j.path("ok").asBoolean()).isFalse();
        assertThat(j.path("error").path("code").asText()).isEqualTo("INVALID_INPUT");
        assertThat(j.path("error").path("exitCode").asInt()).isEqualTo(2);
        assertThat(j.path("error").path("message").asText()).contains("--bogus");
        assertThat(err.toString()).isEmpty();
    }

    @Test
    void usageError_badNumberWithJson_isTheSameInvalidInputAsTheTextForm() throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int jsonExit = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), "migrate", "web", "--from", "a", "--to", "b",
                "--parallel", "many", "--json");
        StringWriter textErr = new StringWriter();
        int textExit = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(textErr, true), "migrate", "web", "--from", "a",
                "--to", "b", "--parallel", "many");

        var j = Output.json().readTree(out.toString());
        assertThat(jsonExit).isEqualTo(textExit).isEqualTo(2);
        assertThat(j.path("error").path("code").asText()).isEqualTo("INVALID_INPUT");
        assertThat(j.path("error").path("message").asText()).contains("--parallel").contains("many");
        assertThat(j.path("error").path("hint").asText()).isEqualTo("Try 'kvmigrate migrate --help'.");
        assertThat(textErr.toString()).contains("--parallel").contains("many");
        assertThat(err.toString()).isEmpty();
    }

    @Test
    void usageError_missingParameterWithJson_isAJsonError() throws Exception {
        StringWriter out = new StringWriter();
        int exit = Main.run(new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), "check", "--json");

        assertThat(exit).isEqualTo(2);
        assertThat(Output.json().readTree(out.toString()).path("error").path("code").asText()).isEqualTo("INVALID_INPUT");
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({
            "--parallel, 256, --parallel must be 0..255",
            "--parallel, -1, --parallel must be 0..255",
            "--bandwidth, 1048577, --bandwidth must be at most 1048576 MiB/s",
            "--bandwidth, -5, --bandwidth must be >= 0"})
    void migrate_outOfRangeNumber_isInvalidInputBeforeAnyHostIsContacted(String option, String value, String message) throws Exception {
        // the hosts do not exist: a refusal that reached libvirt would be UNKNOWN_HOST or HOST_UNREACHABLE, not this
        StringWriter out = new StringWriter();
        int exit = Main.run(new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), "migrate", "web",
                "--from", "qemu+tcp://127.0.0.254/system", "--to", "qemu+tcp://127.0.0.253/system", option, value, "--json");

        var j = Output.json().readTree(out.toString());
        assertThat(j.path("error").path("code").asText()).as(out.toString()).isEqualTo("INVALID_INPUT");
        assertThat(exit).isEqualTo(2);
        assertThat(j.path("error").path("message").asText()).contains(message);
    }

    private static void collect(CommandLine cl, List<String> prefix, List<List<String>> out) {
        for (var e : cl.getSubcommands().entrySet()) {
            if (e.getKey().equals("help")) continue;
            List<String> path = new ArrayList<>(prefix);
            path.add(e.getKey());
            out.add(path);
            collect(e.getValue(), path, out);
        }
    }
}
