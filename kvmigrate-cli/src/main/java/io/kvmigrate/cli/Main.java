package io.kvmigrate.cli;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The kvmigrate command line. Each subcommand is its own class; errors become exit codes from {@link ErrorCode}. */
@Command(name = "kvmigrate", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT, version = "kvmigrate 0.1.0",
        description = "Moves KVM virtual machines between libvirt hosts, safely.")
public final class Main {
    /** The subcommands, in help order. */
    private static final java.util.Map<String, java.util.function.Supplier<Object>> COMMANDS = commands();

    private static java.util.Map<String, java.util.function.Supplier<Object>> commands() {
        java.util.Map<String, java.util.function.Supplier<Object>> m = new java.util.LinkedHashMap<>();
        m.put("hosts", HostsCommand::new);
        m.put("vms", VmsCommand::new);
        m.put("migrate", MigrateCommand::new);
        m.put("jobs", JobsCommand::new);
        m.put("evacuate", EvacuateCommand::new);
        m.put("check", CheckCommand::new);
        m.put("plan", PlanCommand::new);
        m.put("storage", StorageCommand::new);
        m.put("serve", ServeCommand::new);
        m.put("bench", BenchCommand::new);
        m.put("lab", LabCommand::new);
        m.put("demo", DemoCommand::new);
        return java.util.Collections.unmodifiableMap(m);
    }

    /**
     * The command line for {@code args}: when the first argument names a subcommand, only that one is built. Picocli
     * reflects over every registered command up front, which was most of a short command's start-up (~0.2 s of
     * 'kvmigrate vms' at 0.4 s); help, version and errors still see all of them.
     */
    static CommandLine commandLine(String... args) {
        CommandLine cl = new CommandLine(new Main());
        String first = args.length > 0 ? args[0] : null;
        if (first != null && COMMANDS.containsKey(first)) {
            cl.addSubcommand(first, COMMANDS.get(first).get());
        } else {
            COMMANDS.forEach((name, make) -> cl.addSubcommand(name, make.get()));
            cl.addSubcommand("help", new CommandLine.HelpCommand());
        }
        return cl;
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code (for tests). */
    public static int run(String... args) {
        return run(null, null, args);
    }

    /** Runs a command line with the given output and error writers (null = the process's own). */
    public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        CommandLine cl = commandLine(args);
        cl.setOut(WordingWriter.around(out != null ? out : cl.getOut()));
        cl.setErr(WordingWriter.around(err != null ? err : cl.getErr()));
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
            if (java.util.Arrays.asList(a).contains("--json")) {
                // a usage error of a command asked for JSON is still one JSON object, with picocli's message
                Output.printJson(ex.getCommandLine().getOut(), Output.errorJson(KvmigrateException.invalidInput(ex.getMessage(),
                        "Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.")));
                return ErrorCode.INVALID_INPUT.exitCode();
            }
            ex.getCommandLine().getErr().println("kvmigrate: " + ex.getMessage());
            ex.getCommandLine().getErr().println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
            return ErrorCode.INVALID_INPUT.exitCode();
        });
        try {
            return cl.execute(args);
        } finally {
            cl.getOut().flush();
            cl.getErr().flush();
        }
    }

    /** Commands with a --json option. */
    interface JsonCapable {
        boolean json();
    }
}
