using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Wirestack.Cli.Output;
using Wirestack.Cli.Scenarios;
using Wirestack.Links;
using Wirestack.Sockets;

namespace Wirestack.Cli.Commands;

/// <summary><c>wirestack transfer</c>: a TCP bulk transfer from host a to host b over an impaired simulated wire,
/// checked end to end with SHA-256.</summary>
internal static class TransferCommand
{
    /// <summary>Both sockets' buffers, so that the window is not the bottleneck: 4 MiB.</summary>
    public const int BufferBytes = 4 * 1024 * 1024;

    /// <summary>Receive ring slots of each port: enough for a full 4 MiB window of small segments, so that the
    /// ring does not become the bottleneck of an unlimited wire.</summary>
    public const int RxRingSlots = 4096;

    private sealed record Settings(long Bytes, LinkImpairments Impairments, int Seed, string? Pcap, bool Counters, bool Json);

    public static Command Create()
    {
        Option<long> bytes = CliOptions.Size("--bytes", "How much to send: 1000, 20MB, 1MiB.", minimum: 1);
        bytes.Required = true;
        Option<int> mtu = CliOptions.Mtu();
        Option<double> loss = CliOptions.Probability("--loss", "Packets lost, each direction (1% or 0.01). Defaults to 0.");
        Option<double> reorder = CliOptions.Probability("--reorder", "Packets held back 1 ms so later ones overtake them. Defaults to 0.");
        Option<double> dup = CliOptions.Probability("--dup", "Packets delivered twice. Defaults to 0.");
        Option<double> corrupt = CliOptions.Probability("--corrupt", "Packets with one bit flipped. Defaults to 0.");
        Option<TimeSpan> delay = CliOptions.Duration("--delay", "One-way delay: 20ms, 1s. Defaults to 1ms.");
        Option<TimeSpan> jitter = CliOptions.Duration("--jitter", "Random extra delay, up to this much (never reorders). Defaults to 0.");
        Option<long> rate = CliOptions.Rate("--rate", "Line rate, each direction: 10Mbit, 1Gbit. Defaults to unlimited.");
        Option<long> queue = CliOptions.Size("--queue", "Queue limit of a rate-limited wire: 64KiB. Defaults to 256KiB.", 1, int.MaxValue);
        Option<int> seed = CliOptions.Seed();
        Option<string?> pcap = CliOptions.Pcap(" (large for large transfers)");
        Option<bool> counters = new("--counters") { Description = "Also print both hosts' non-zero counters (netstat -s style)." };
        Option<bool> json = CliOptions.Json();
        var command = new Command("transfer", "Send random bytes from host a to host b over TCP across an impaired simulated wire, and check them with SHA-256.")
        {
            bytes, mtu, loss, reorder, dup, corrupt, delay, jitter, rate, queue, seed, pcap, counters, json,
        };
        command.SetAction(parsed =>
        {
            var impairments = new LinkImpairments
            {
                Mtu = parsed.GetValue(mtu),
                Loss = parsed.GetValue(loss),
                Reorder = parsed.GetValue(reorder),
                Duplicate = parsed.GetValue(dup),
                Corrupt = parsed.GetValue(corrupt),
                Delay = parsed.ValueOr(delay, TimeSpan.FromMilliseconds(1)),
                Jitter = parsed.GetValue(jitter),
                RateBitsPerSecond = parsed.GetValue(rate),
                QueueLimitBytes = (int)parsed.ValueOr(queue, LinkImpairments.DefaultQueueLimitBytes),
            };
            var settings = new Settings(parsed.GetValue(bytes), impairments, parsed.GetValue(seed), parsed.GetValue(pcap),
                parsed.GetValue(counters), parsed.GetValue(json));
            return Run(parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error, settings);
        });
        return command;
    }

    private static int Run(TextWriter stdout, TextWriter stderr, Settings settings)
    {
        var pair = new SimulatedPair(settings.Seed, settings.Impairments, RxRingSlots);
        PcapCapture? capture = settings.Pcap is null ? null : PcapCapture.Start(pair.Sim, settings.Pcap);
        try
        {
            TextWriter human = settings.Json ? TextWriter.Null : stdout;
            human.WriteLine($"TCP transfer of {Units.FormatBytes(settings.Bytes)} from a ({SimulatedPair.AddressA}) to b ({SimulatedPair.AddressB}), simulated");
            human.WriteLine($"  wire, each direction: {Describe(settings.Impairments)}; seed {settings.Seed}");
            human.WriteLine();
            var wall = Stopwatch.StartNew();
            var transfer = new BulkTransfer(pair.Sim, pair.A, pair.B, SimulatedPair.AddressB) { BufferBytes = BufferBytes };
            TransferResult result = transfer.Run(settings.Bytes, settings.Seed);
            wall.Stop();
            long packets = capture?.Finish() ?? 0;

            if (settings.Json)
            {
                JsonOutput.Write(stdout, new JsonObject
                {
                    ["bytes_sent"] = result.BytesSent,
                    ["bytes_received"] = result.BytesReceived,
                    ["sha256_sent"] = Convert.ToHexStringLower(result.ShaSent),
                    ["sha256_received"] = Convert.ToHexStringLower(result.ShaReceived),
                    ["simulated_seconds"] = JsonOutput.Seconds(result.Simulated),
                    ["wall_seconds"] = Math.Round(wall.Elapsed.TotalSeconds, 3),
                    ["retransmits"] = result.Retransmits,
                    ["counters"] = JsonOutput.Counters(pair.Sim.Hosts),
                });
            }
            else
            {
                PrintSummary(human, result, wall.Elapsed, pair.Wire.Counters);
                if (settings.Counters)
                {
                    human.WriteLine();
                    var printer = new CounterPrinter(human);
                    printer.Print(pair.A);
                    printer.Print(pair.B);
                }
            }

            if (capture is not null)
            {
                (settings.Json ? stderr : stdout).WriteLine($"capture: {packets} packets written to {capture.Path} (as delivered: packets the wire lost are not in it)");
            }

            return Verdict(stderr, result);
        }
        finally
        {
            capture?.Finish();
        }
    }

    private static int Verdict(TextWriter stderr, TransferResult result)
    {
        if (result.Error != System.Net.Sockets.SocketError.Success)
        {
            string cause = result.Cause is null ? "" : $": {result.Cause}";
            stderr.WriteLine($"wirestack transfer: failed after {Units.FormatBytes(result.BytesSent)} sent and {Units.FormatBytes(result.BytesReceived)} received: " +
                $"{SocketErrors.ToErrno(result.Error)} ({result.Error}){cause}");
            return ExitCodes.Failure;
        }

        if (!result.HashesMatch)
        {
            stderr.WriteLine($"wirestack transfer: the data differ: {Units.FormatBytes(result.BytesSent)} sent, {Units.FormatBytes(result.BytesReceived)} received, SHA-256 mismatch");
            return ExitCodes.Failure;
        }

        return ExitCodes.Success;
    }

    private static void PrintSummary(TextWriter output, TransferResult result, TimeSpan wall, WireCounters wire)
    {
        output.WriteLine($"  sent         {Units.FormatBytes(result.BytesSent)}");
        output.WriteLine($"  received     {Units.FormatBytes(result.BytesReceived)}");
        string verdict = result.HashesMatch ? "identical" : result.Completed ? "DIFFERENT" : "(incomplete: the transfer failed)";
        output.WriteLine($"  sha256 sent      {Convert.ToHexStringLower(result.ShaSent)}");
        output.WriteLine($"  sha256 received  {Convert.ToHexStringLower(result.ShaReceived)}  {verdict}");
        double seconds = result.Simulated.TotalSeconds;
        string throughput = result.Completed && seconds > 0 ? $" ({Units.FormatRate(result.BytesReceived * 8 / seconds)} of payload)" : "";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  time         {seconds:0.000###} s simulated{throughput}, {wall.TotalSeconds:0.000} s wall"));
        output.WriteLine($"  retransmits  {result.Retransmits} segments (Tcp RetransSegs on a)");
        output.WriteLine($"  the wire     carried {wire.Sent:N0} packets (both directions): lost {wire.Lost:N0}, reordered {wire.Reordered:N0}, " +
            $"duplicated {wire.Duplicated:N0}, corrupted {wire.Corrupted:N0}, dropped at the queue {wire.QueueDrops:N0}");
    }

    private static string Describe(LinkImpairments w)
    {
        string rate = w.RateBitsPerSecond > 0
            ? $"rate {Units.FormatRate(w.RateBitsPerSecond)} (queue {Units.FormatSize(w.QueueLimitBytes)})"
            : "rate unlimited";
        string jitter = w.Jitter > TimeSpan.Zero ? $" + up to {Units.FormatDuration(w.Jitter)} jitter" : "";
        return $"mtu {w.Mtu}, delay {Units.FormatDuration(w.Delay)}{jitter}, {rate}, loss {Units.FormatProbability(w.Loss)}, " +
            $"reorder {Units.FormatProbability(w.Reorder)}, dup {Units.FormatProbability(w.Duplicate)}, corrupt {Units.FormatProbability(w.Corrupt)}";
    }
}
