// The `wirestack` command line: every command runs hosts on simulated wires in virtual time. Exit codes: 0 success,
// 1 runtime failure (a transfer that failed, pings that got no answer), 2 usage (bad arguments). Human output goes to
// stdout, diagnostics to stderr; with --json, stdout carries one JSON object and nothing else.
using System.CommandLine;
using System.CommandLine.Parsing;
using Wirestack.Cli.Commands;

namespace Wirestack.Cli;

public static class Program
{
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Runs the CLI in-process with the given writers (the tests' entry point); returns the exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        RootCommand root = BuildRootCommand();
        if (args.Length == 0)
        {
            stderr.WriteLine("wirestack: no command given; try 'wirestack demo', or 'wirestack --help' for the list");
            return ExitCodes.Usage;
        }

        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            stderr.WriteLine($"{CommandPath(parsed)}: {FirstError(parsed)}");
            return ExitCodes.Usage;
        }

        try
        {
            return parsed.Invoke(new InvocationConfiguration
            {
                Output = stdout,
                Error = stderr,
                EnableDefaultExceptionHandler = false,
            });
        }
        catch (CommandFailedException ex)
        {
            stderr.WriteLine($"{CommandPath(parsed)}: {OneLine(ex.Message)}");
            return ExitCodes.Failure;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A bug or an environment problem the command did not expect: say what it was, in one line.
            stderr.WriteLine($"{CommandPath(parsed)}: failed: {ex.GetType().Name}: {OneLine(ex.Message)}");
            return ExitCodes.Failure;
        }
    }

    public static RootCommand BuildRootCommand()
    {
        var root = new RootCommand(
            "Wirestack: a user-space TCP/IP stack. These commands run hosts on simulated wires in virtual time, " +
            "deterministically by seed.")
        {
            HelpName = "wirestack",
        };
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(PingCommand.Create());
        root.Subcommands.Add(TransferCommand.Create());
        root.Subcommands.Add(ConformanceCommand.Create());
        root.Subcommands.Add(ScenarioCommand.Create());
        BenchCommand.Register(root);
        root.Subcommands.Add(SoakCommand.Create());
        root.Subcommands.Add(TunCommand.Create());
        return root;
    }

    /// <summary>"wirestack", "wirestack ping", "wirestack tun serve": the command as typed, subcommands included.</summary>
    private static string CommandPath(ParseResult parsed)
    {
        var names = new List<string>();
        for (SymbolResult? result = parsed.CommandResult; result is CommandResult { Command: not RootCommand } command; result = result.Parent)
        {
            names.Insert(0, command.Command.Name);
        }

        return string.Join(' ', names.Prepend("wirestack"));
    }

    /// <summary>The error that says most: an unknown word before "a command is required".</summary>
    private static string FirstError(ParseResult parsed)
    {
        if (parsed.UnmatchedTokens.Count > 0)
        {
            return $"unknown command or argument '{parsed.UnmatchedTokens[0]}' (see 'wirestack --help')";
        }

        if (parsed.CommandResult.Command is RootCommand && parsed.Errors.Count == 1 && !parsed.CommandResult.Children.Any())
        {
            IEnumerable<string> names = parsed.RootCommandResult.Command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name);
            return $"a command is required: {string.Join(", ", names)} (see 'wirestack --help')";
        }

        return OneLine(parsed.Errors[0].Message);
    }

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim();
}
