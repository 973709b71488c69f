using System.CommandLine;
using System.Text.Json.Nodes;
using Wirestack.Cli.Bench;
using Wirestack.Cli.Output;

namespace Wirestack.Cli.Commands;

/// <summary>
/// <c>wirestack bench</c>: Wirestack against the kernel's loopback (System.Net.Sockets, iperf3) and the lwIP anchor,
/// side by side in one run: bulk throughput (1 and 16 connections, MTU 1500 and 65535), connection rate, ping-pong
/// latency, memory per idle connection, a simulated 1 Gbit/s transfer, and the machine's memcpy and checksum limits.
/// <c>wirestack bench-baseline</c> (hidden) is the kernel side of one measurement, run as a subprocess inside a
/// network namespace.
/// </summary>
internal static class BenchCommand
{
    /// <summary>Adds <c>bench</c> and <c>bench-baseline</c> to the root command.</summary>
    public static void Register(RootCommand root)
    {
        root.Subcommands.Add(Create());
        root.Subcommands.Add(CreateBaseline());
        root.Subcommands.Add(CreateWirestackOnly());
    }

    public static Command Create()
    {
        Option<bool> quick = new("--quick") { Description = "Shorter runs: the whole bench in under two minutes." };
        Option<bool> smoke = new("--smoke")
        {
            Description = "Every measurement for a moment, in this process, without network namespaces, iperf3 or lwIP: checks that it runs (CI), not how fast.",
        };
        Option<bool> json = CliOptions.Json();
        Option<bool> markdown = new("--markdown") { Description = "Print the figures as a Markdown table (for docs/PERFORMANCE.md)." };
        Option<string[]> only = new("--only")
        {
            Description = $"Run only these measurement groups: {string.Join(", ", BenchRunner.Groups)}.",
            HelpName = "GROUP",
            AllowMultipleArgumentsPerToken = true,
        };
        only.AcceptOnlyFromAmong(BenchRunner.Groups);
        Option<int> connections = CliOptions.Integer("--connections",
            "Idle connections opened for the memory figure (default 100000; try 1000000).", 0, 0);
        var command = new Command("bench",
            "Measure Wirestack against the kernel's loopback (System.Net.Sockets, iperf3) and the lwIP anchor: throughput, connection rate, latency, memory per connection, machine limits.")
        {
            quick, smoke, json, markdown, only, connections,
        };
        command.SetAction(parsed =>
        {
            BenchSettings settings = parsed.GetValue(smoke) ? BenchSettings.Smoke : parsed.GetValue(quick) ? BenchSettings.Quick : BenchSettings.Full;
            if (parsed.GetValue(connections) is > 0 and var n)
            {
                settings = settings with { IdleConnections = n };
            }

            TextWriter stdout = parsed.InvocationConfiguration.Output;
            TextWriter stderr = parsed.InvocationConfiguration.Error;
            BenchReport report = new BenchRunner(settings, parsed.GetValue(only) ?? [], stderr).Run();
            if (parsed.GetValue(json))
            {
                report.WriteJson(stdout);
            }
            else if (parsed.GetValue(markdown))
            {
                report.WriteMarkdown(stdout);
            }
            else
            {
                report.WriteTable(stdout);
            }

            return ExitCodes.Success;
        });
        return command;
    }

    public static Command CreateBaseline()
    {
        Argument<string> kind = new("kind") { Description = "bulk, rate, latency, memory or simulated." };
        kind.AcceptOnlyFromAmong("bulk", "rate", "latency", "memory", "simulated");
        Option<int> connections = CliOptions.Integer("--connections", "Connections (bulk, memory).", 1, 1);
        Option<double> seconds = new("--seconds") { Description = "Measured seconds (bulk, rate).", DefaultValueFactory = _ => 1.0 };
        Option<double> warmup = new("--warmup") { Description = "Warm-up seconds (bulk, rate).", DefaultValueFactory = _ => 0.2 };
        Option<int> count = CliOptions.Integer("--count", "Round trips (latency).", 10_000, 10);
        var command = new Command("bench-baseline",
            "The kernel side of one 'wirestack bench' measurement over 127.0.0.1 with System.Net.Sockets; prints one JSON object.")
        {
            Hidden = true,
        };
        command.Arguments.Add(kind);
        command.Options.Add(connections);
        command.Options.Add(seconds);
        command.Options.Add(warmup);
        command.Options.Add(count);
        command.SetAction(parsed =>
        {
            var result = BenchRunner.Baseline(parsed.GetValue(kind)!, parsed.GetValue(connections),
                TimeSpan.FromSeconds(parsed.GetValue(seconds)), TimeSpan.FromSeconds(parsed.GetValue(warmup)), parsed.GetValue(count));
            JsonOutput.Write(parsed.InvocationConfiguration.Output, result.AsObject());
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary><c>wirestack bench-wirestack</c> (hidden): Wirestack's side of one measurement alone, for a
    /// profiler (<c>perf record</c>, <c>dotnet-trace</c>); prints one JSON object.</summary>
    public static Command CreateWirestackOnly()
    {
        Argument<string> kind = new("kind") { Description = "bulk, rate, latency, memory or simulated." };
        kind.AcceptOnlyFromAmong("bulk", "rate", "latency", "memory", "simulated");
        Option<int> connections = CliOptions.Integer("--connections", "Connections (bulk, memory).", 1, 1);
        Option<int> mtu = CliOptions.Mtu();
        Option<double> seconds = new("--seconds") { Description = "Measured seconds (bulk, rate).", DefaultValueFactory = _ => 10.0 };
        Option<int> count = CliOptions.Integer("--count", "Round trips (latency).", 1_000_000, 10);
        Option<long> buffer = CliOptions.Size("--buffer", "Socket buffer size of each bulk connection (default 4MiB).", 4096, int.MaxValue);
        Option<int> gso = CliOptions.Integer("--gso", "bulk: the wire's segmentation offload in bytes (0: off).", WirestackPair.DefaultGsoMaxSize, 0);
        Option<int> rxUsecs = CliOptions.Integer("--rx-usecs", "simulated: receive interrupt moderation of the simulated NICs in µs (ethtool -C rx-usecs; 0: off).", 0, 0);
        Option<bool> gro = new("--gro") { Description = "simulated: generic receive offload on the simulated NICs." };
        Option<bool> tso = new("--tso") { Description = "simulated: with --gso, the NICs cut large segments into MSS frames on the line (TCP segmentation offload)." };
        Option<int> repeat = CliOptions.Integer("--repeat", "simulated: timed transfers after the warm-ups; each one's wall time goes to stderr, the JSON is the median's.", 1, 1);
        Option<bool> ephemeral = new("--ephemeral") { Description = "rate: let connect pick random ephemeral ports instead of round-robin binds." };
        Option<bool> allocations = new("--allocations") { Description = "Sample what allocates (GCAllocationTick events) and print the top kinds on stderr." };
        var command = new Command("bench-wirestack", "Wirestack's side of one 'wirestack bench' measurement alone (for profiling); prints one JSON object.")
        {
            Hidden = true,
        };
        command.Arguments.Add(kind);
        command.Options.Add(connections);
        command.Options.Add(mtu);
        command.Options.Add(seconds);
        command.Options.Add(count);
        command.Options.Add(allocations);
        command.Options.Add(buffer);
        command.Options.Add(ephemeral);
        command.Options.Add(gso);
        command.Options.Add(rxUsecs);
        command.Options.Add(gro);
        command.Options.Add(tso);
        command.Options.Add(repeat);
        command.SetAction(parsed =>
        {
            using AllocationSampler? sampler = parsed.GetValue(allocations) ? new AllocationSampler() : null;
            TimeSpan time = TimeSpan.FromSeconds(parsed.GetValue(seconds));
            TimeSpan warmup = TimeSpan.FromSeconds(0.5);
            var result = parsed.GetValue(kind) switch
            {
                "bulk" => WirestackBenchmarks.Bulk(parsed.GetValue(mtu), parsed.GetValue(connections), warmup, time,
                    (int)parsed.ValueOr(buffer, WirestackBenchmarks.BulkBufferBytes), parsed.GetValue(gso)).ToJson(),
                "rate" => WirestackBenchmarks.ConnectionRate(warmup, time, parsed.GetValue(ephemeral)).ToJson(),
                "memory" => WirestackBenchmarks.IdleMemory(parsed.GetValue(connections), parsed.InvocationConfiguration.Error.WriteLine).ToJson(),
                "simulated" => Simulated((long)(parsed.GetValue(seconds) * 1e8), new SimulatedNics(
                    parsed.GetResult(gso) is { Implicit: false } ? parsed.GetValue(gso) : 0,
                    TimeSpan.FromMicroseconds(parsed.GetValue(rxUsecs)), parsed.GetValue(gro), parsed.GetValue(tso)),
                    parsed.GetValue(repeat), parsed.InvocationConfiguration.Error),
                _ => WirestackBenchmarks.PingPong(parsed.GetValue(count), warmup).ToJson(),
            };
            JsonOutput.Write(parsed.InvocationConfiguration.Output, result);
            parsed.InvocationConfiguration.Error.WriteLine($"steps during stalls over 100 ms: {WirestackBenchmarks.SlowSteps}");
            foreach ((string kind, double share) in sampler?.Top(15) ?? [])
            {
                parsed.InvocationConfiguration.Error.WriteLine($"{share,7:P1}  {kind}");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The simulated transfer as the bench measures it: after an untimed warm-up of 0.1 GB (or the bytes, when fewer)
    /// (at most 0.1 GB), so that a profile shows the optimised code. <c>--gso</c> only when given (default: off).</summary>
    private static JsonObject Simulated(long bytes, SimulatedNics nics, int repeat, TextWriter log)
    {
        using var path = new SimulatedPath(nics);
        WirestackBenchmarks.SimulatedWarmUp(bytes, path);
        var runs = new List<JsonObject>(repeat);
        for (int i = 0; i < repeat; i++)
        {
            TimeSpan threadStart = CpuTime.Thread();
            long allocatedStart = GC.GetTotalAllocatedBytes(precise: true);
            int gen0Start = GC.CollectionCount(0), gen2Start = GC.CollectionCount(2);
            TimeSpan pauseStart = GC.GetTotalPauseDuration();
            SimulatedFigure figure = WirestackBenchmarks.SimulatedGigabit(bytes, path);
            JsonObject result = figure.ToJson();
            result["thread_cpu_seconds"] = (CpuTime.Thread() - threadStart).TotalSeconds; // the simulator's thread alone
            result["allocated_bytes"] = GC.GetTotalAllocatedBytes(precise: true) - allocatedStart;
            result["gen0_collections"] = GC.CollectionCount(0) - gen0Start;
            result["gen2_collections"] = GC.CollectionCount(2) - gen2Start;
            result["gc_pause_seconds"] = (GC.GetTotalPauseDuration() - pauseStart).TotalSeconds;
            if (repeat > 1)
            {
                log.WriteLine(FormattableString.Invariant($"run {i + 1}: {figure.WallSeconds:0.0000} s wall, {figure.SimulatedSeconds / figure.WallSeconds:0.0}× real time"));
            }

            runs.Add(result);
        }

        runs.Sort((x, y) => ((double)x["wall_seconds"]!).CompareTo((double)y["wall_seconds"]!));
        return runs[(runs.Count - 1) / 2];
    }
}
