using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Wirestack.Cli.Output;
using Wirestack.Conformance;

namespace Wirestack.Cli.Commands;

/// <summary>
/// <c>wirestack conformance PATH... [--json] [--tolerance-us N] [--expected-failures FILE] [--verbose]</c>: runs
/// packetdrill scripts (files, or directories searched recursively for *.pkt) against a fresh stack each, in virtual
/// time. One line per script (<c>PASS path</c>, <c>FAIL path: detail</c>, <c>SKIP path: feature</c>), then
/// <c>N passed, N failed, N skipped</c>. Exit code 0 when no script failed unexpectedly (failures listed in FILE are
/// expected), 1 otherwise, 2 for bad arguments.
/// </summary>
internal static class ConformanceCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("PATH")
        {
            Description = "Script files, or directories to search recursively for *.pkt.",
            Arity = ArgumentArity.OneOrMore,
        };
        Option<bool> json = CliOptions.Json();
        var tolerance = new Option<long?>("--tolerance-us")
        {
            Description = "Timing tolerance in microseconds, overriding each script's --tolerance_usecs (packetdrill's default is 4000).",
            HelpName = "N",
            CustomParser = result =>
            {
                string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long us))
                {
                    result.AddError($"--tolerance-us: '{text}' is not a whole number of microseconds");
                    return null;
                }

                return us;
            },
        };
        var expected = new Option<string?>("--expected-failures")
        {
            Description = "A list of scripts known to fail ('path reason' per line, paths relative to the corpus): their failures " +
                          "are reported but do not fail the run.",
            HelpName = "FILE",
        };
        var verbose = new Option<bool>("--verbose") { Description = "Trace every event, injected packet and packet the stack sent, on stderr." };
        var command = new Command("conformance", "Run packetdrill scripts against the stack, in virtual time.")
        {
            paths, json, tolerance, expected, verbose,
        };
        command.SetAction(parsed => Run(
            parsed.InvocationConfiguration.Output,
            parsed.InvocationConfiguration.Error,
            parsed.GetValue(paths) ?? [],
            parsed.GetValue(json),
            parsed.GetValue(tolerance),
            parsed.GetValue(expected),
            parsed.GetValue(verbose)));
        return command;
    }

    private static int Run(TextWriter stdout, TextWriter stderr, IReadOnlyList<string> paths, bool json, long? toleranceUs,
        string? expectedFailuresFile, bool verbose)
    {
        foreach (string path in paths.Where(p => !File.Exists(p) && !Directory.Exists(p)))
        {
            stderr.WriteLine($"wirestack conformance: {path}: no such file or directory");
            return ExitCodes.Usage;
        }

        ExpectedFailures known;
        try
        {
            known = expectedFailuresFile is null ? ExpectedFailures.Empty : ExpectedFailures.Load(expectedFailuresFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            throw new CommandFailedException($"cannot read the expected-failure list {expectedFailuresFile}: {e.Message}", e);
        }

        TextWriter? trace = verbose ? stderr : null;
        var options = new ConformanceOptions { ToleranceMicroseconds = toleranceUs, Trace = trace };
        var results = new List<ScriptResult>();
        foreach (string script in PacketdrillRunner.FindScripts(paths))
        {
            trace?.WriteLine($"== {script}");
            ScriptResult result = PacketdrillRunner.Run(script, options);
            results.Add(result);
            if (!json)
            {
                string? reason = result.Outcome == ScriptOutcome.Fail ? known.ReasonFor(script) : null;
                stdout.WriteLine(reason is null ? result.ToString() : $"{result} [expected: {reason}]");
            }
        }

        int passed = results.Count(r => r.Outcome == ScriptOutcome.Pass);
        int failed = results.Count(r => r.Outcome == ScriptOutcome.Fail);
        int skipped = results.Count(r => r.Outcome == ScriptOutcome.Skip);
        int unexpected = results.Count(r => r.Outcome == ScriptOutcome.Fail && known.Find(r.Path) is null);
        if (json)
        {
            var scripts = new JsonArray();
            foreach (ScriptResult r in results)
            {
                var entry = new JsonObject
                {
                    ["path"] = r.Path,
                    ["result"] = r.Outcome.ToString().ToLowerInvariant(),
                    ["detail"] = r.Detail,
                };
                if (r.Outcome == ScriptOutcome.Fail && known.ReasonFor(r.Path) is { } reason)
                {
                    entry["expected"] = reason;
                }

                scripts.Add(entry);
            }

            JsonOutput.Write(stdout, new JsonObject { ["scripts"] = scripts, ["passed"] = passed, ["failed"] = failed, ["skipped"] = skipped });
        }
        else
        {
            stdout.WriteLine($"{passed} passed, {failed} failed, {skipped} skipped");
            if (failed > unexpected)
            {
                stdout.WriteLine($"{failed - unexpected} of the failures are expected ({expectedFailuresFile})");
            }
        }

        return unexpected == 0 ? ExitCodes.Success : ExitCodes.Failure;
    }
}
