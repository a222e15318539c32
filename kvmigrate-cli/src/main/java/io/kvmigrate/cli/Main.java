package io.kvmigrate.cli;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The kvmigrate command line. Each subcommand is its own class; errors become exit codes from {@link ErrorCode}. */
@Command(name = "kvmigrate", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT, version = "kvmigrate 0.1.0",
        description = "Moves KVM virtual machines between libvirt hosts, safely.",
        subcommands = {HostsCommand.class, VmsCommand.class, MigrateCommand.class, CheckCommand.class, PlanCommand.class, BenchCommand.class, LabCommand.class, DemoCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code (for tests). */
    public static int run(String... args) {
        return run(null, null, args);
    }

    /** Runs a command line with the given output and error writers (null = the process's own). */
    public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new Main());
        if (out != null) cl.setOut(out);
        if (err != null) cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            KvmigrateException ke = ex instanceof KvmigrateException k ? k
                    : new KvmigrateException(ErrorCode.INTERNAL, null, null, null, ex.toString(), "This is a bug; please report it with the command line.");
            Object cmd = commandLine.getCommand();
            if (cmd instanceof JsonCapable j && j.json()) {
                Output.printJson(commandLine.getOut(), Output.errorJson(ke));
            } else {
                Output.printError(commandLine.getErr(), ke);
                if (ke.code() == ErrorCode.INTERNAL) ex.printStackTrace(commandLine.getErr());
            }
            return ke.code().exitCode();
        });
        cl.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("kvmigrate: " + ex.getMessage());
            ex.getCommandLine().getErr().println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
            return ErrorCode.INVALID_INPUT.exitCode();
        });
        return cl.execute(args);
    }

    /** Commands with a --json option. */
    interface JsonCapable {
        boolean json();
    }
}
