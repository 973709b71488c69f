using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Wirestack.Cli.Output;
using Wirestack.Simulation.Soak;

namespace Wirestack.Cli.Commands;

/// <summary><c>wirestack soak</c>: seed 002's soak — thousands of 200 KB transfers back to back between two simulated
/// hosts across an impaired wire, each checked with SHA-256, none allowed to hang, both stacks' budgets back to zero
/// at the end.</summary>
internal static class SoakCommand
{
    public static Command Create()
    {
        Option<int> count = CliOptions.Integer("--count", "Transfers to run, back to back.", 5000, 1);
        Option<long> bytes = CliOptions.Size("--bytes", "Bytes per transfer: 200KiB (seed 002's 200 K), 1MB. Defaults to 200KiB.", 1, int.MaxValue);
        Option<double> loss = CliOptions.Probability("--loss", "Packets lost, each direction. Defaults to 1%.");
        Option<double> reorder = CliOptions.Probability("--reorder", "Packets held back 1 ms so later ones overtake them. Defaults to 1%.");
        Option<double> dup = CliOptions.Probability("--dup", "Packets delivered twice. Defaults to 1%.");
        Option<double> corrupt = CliOptions.Probability("--corrupt", "Packets with one bit flipped. Defaults to 0.5%.");
        Option<int> seed = CliOptions.Integer("--seed", "Seed of every random choice: the same seed replays the same soak. Defaults to 2 (seed 002).", 2, int.MinValue);
        Option<bool> noSack = new("--no-sack") { Description = "Turn SACK off on both hosts (it is on by default, as in Linux)." };
        Option<bool> halfClose = new("--half-close")
        {
            Description = "The client shuts down its sending side after the request, as 'ncat host 114 < /dev/null' did in seed 002.",
        };
        Option<bool> json = CliOptions.Json();
        var command = new Command("soak",
            "Run thousands of 200 KB transfers back to back between two simulated hosts across a lossy, reordering, duplicating, " +
            "corrupting wire (seed 002); check every one with SHA-256 and both stacks' budgets at the end.")
        {
            count, bytes, loss, reorder, dup, corrupt, seed, noSack, halfClose, json,
        };
        command.SetAction(parsed =>
        {
            var options = new SoakOptions
            {
                Count = parsed.GetValue(count),
                Bytes = (int)parsed.ValueOr(bytes, 200 * 1024),
                Loss = parsed.ValueOr(loss, 0.01),
                Reorder = parsed.ValueOr(reorder, 0.01),
                Duplicate = parsed.ValueOr(dup, 0.01),
                Corrupt = parsed.ValueOr(corrupt, 0.005),
                Seed = parsed.GetValue(seed),
                Sack = !parsed.GetValue(noSack),
                HalfClose = parsed.GetValue(halfClose),
            };
            return Run(parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error, options, parsed.GetValue(json));
        });
        return command;
    }

    private static int Run(TextWriter stdout, TextWriter stderr, SoakOptions options, bool json)
    {
        TextWriter human = json ? TextWriter.Null : stdout;
        human.WriteLine($"soak: {options.Count:N0} transfers of {Units.FormatBytes(options.Bytes)} from server 10.0.0.2:{SoakRunner.Port} to client 10.0.0.1, simulated");
        human.WriteLine($"  wire, each direction: delay {Units.FormatDuration(options.Delay)}, loss {Units.FormatProbability(options.Loss)}, " +
            $"reorder {Units.FormatProbability(options.Reorder)}, dup {Units.FormatProbability(options.Duplicate)}, " +
            $"corrupt {Units.FormatProbability(options.Corrupt)}; SACK {(options.Sack ? "on" : "off")}; seed {options.Seed}");
        var progress = new ProgressBar(stderr, options.Count, "transfers");
        var wall = Stopwatch.StartNew();
        SoakResult result = new SoakRunner(options).Run((done, failed) => progress.Report(done, failed));
        wall.Stop();
        progress.Finish();

        if (json)
        {
            var failures = new JsonArray();
            foreach (string failure in result.Failures.Take(20))
            {
                failures.Add(failure);
            }

            JsonOutput.Write(stdout, new JsonObject
            {
                ["count"] = result.Count,
                ["ok"] = result.Ok,
                ["failed"] = result.Failed,
                ["bytes"] = result.Bytes,
                ["simulated_seconds"] = JsonOutput.Seconds(result.Simulated),
                ["wall_seconds"] = Math.Round(wall.Elapsed.TotalSeconds, 3),
                ["retransmits"] = result.Retransmits,
                ["budget_in_use_end"] = result.BudgetInUseEnd,
                ["connections_left"] = result.ConnectionsLeft,
                ["failures"] = failures,
            });
        }
        else
        {
            double seconds = result.Simulated.TotalSeconds;
            human.WriteLine();
            human.WriteLine($"  transfers    {result.Ok:N0} ok, {result.Failed:N0} failed, of {result.Count:N0}");
            human.WriteLine($"  received     {Units.FormatBytes(result.Bytes)}, every transfer checked with SHA-256");
            human.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  time         {seconds:0.###} s simulated, {wall.Elapsed.TotalSeconds:0.000} s wall"));
            human.WriteLine($"  retransmits  {result.Retransmits:N0} segments (both hosts)");
            human.WriteLine($"  at the end   {result.BudgetInUseEnd} bytes of budget in use, {result.ConnectionsLeft} connections left (both must be 0)");
        }

        foreach (string failure in result.Failures.Take(5))
        {
            stderr.WriteLine($"wirestack soak: {failure}");
        }

        if (result.Failures.Count > 5)
        {
            stderr.WriteLine($"wirestack soak: ... and {result.Failures.Count - 5} more");
        }

        if (!result.Passed)
        {
            stderr.WriteLine($"wirestack soak: FAILED: {result.Failed} of {result.Count} transfers failed, " +
                $"{result.BudgetInUseEnd} bytes of budget and {result.ConnectionsLeft} connections left at the end");
            return ExitCodes.Failure;
        }

        return ExitCodes.Success;
    }
}
