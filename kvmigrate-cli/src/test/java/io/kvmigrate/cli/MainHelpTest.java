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
