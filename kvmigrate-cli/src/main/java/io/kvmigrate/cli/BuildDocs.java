package io.kvmigrate.cli;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.AutoComplete;
import picocli.CommandLine;

/**
 * Run at build time (Maven, prepare-package): writes the bash completion script and the man pages (AsciiDoc with doctype
 * manpage, one per command; {@code asciidoctor -b manpage} turns them into troff) from the picocli model, so they
 * always match the commands. Not part of the CLI itself.
 */
public final class BuildDocs {
    private BuildDocs() {
    }

    public static void main(String[] args) throws IOException {
        Path out = Path.of(args.length > 0 ? args[0] : "target");
        CommandLine cl = Main.commandLine(); // every subcommand
        Files.createDirectories(out);
        Files.writeString(out.resolve("kvmigrate_completion"), AutoComplete.bash("kvmigrate", cl), StandardCharsets.UTF_8);
        Path man = out.resolve("man");
        Files.createDirectories(man);
        int rc = picocli.codegen.docgen.manpage.ManPageGenerator.generateManPage(man.toFile(), null, new boolean[0], true,
                cl.getCommandSpec());
        if (rc != 0) throw new IOException("man page generation failed with " + rc);
        System.out.println("Wrote " + out.resolve("kvmigrate_completion") + " and " + new File(man.toString()).list().length + " man page(s) in " + man);
    }
}
