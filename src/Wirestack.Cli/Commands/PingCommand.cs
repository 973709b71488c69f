using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Wirestack.Cli.Output;
using Wirestack.Cli.Scenarios;
using Wirestack.Links;
using Wirestack.Sockets;

namespace Wirestack.Cli.Commands;

/// <summary><c>wirestack ping</c>: ping(8) from host a (10.0.0.1) to host b (10.0.0.2) over a simulated wire.</summary>
internal static class PingCommand
{
    public static Command Create()
    {
        Option<int> count = CliOptions.Integer("--count", "Echo requests to send, one a second.", 4, 1);
        Option<double> loss = CliOptions.Probability("--loss", "Packet loss on the wire, each direction (1% or 0.01). Defaults to 0.");
        Option<TimeSpan> delay = CliOptions.Duration("--delay", "One-way delay of the wire: 20ms, 1s. Defaults to 5ms.");
        Option<int> seed = CliOptions.Seed();
        Option<string?> pcap = CliOptions.Pcap("");
        Option<bool> counters = new("--counters") { Description = "Also print host a's non-zero counters (netstat -s style)." };
        Option<bool> json = CliOptions.Json();
        var command = new Command("ping", "Ping host b (10.0.0.2) from host a (10.0.0.1) across a simulated wire, in virtual time.")
        {
            count, loss, delay, seed, pcap, counters, json,
        };
        command.SetAction(parsed => Run(
            parsed.InvocationConfiguration.Output,
            parsed.InvocationConfiguration.Error,
            parsed.GetValue(count),
            new LinkImpairments { Loss = parsed.GetValue(loss), Delay = parsed.ValueOr(delay, TimeSpan.FromMilliseconds(5)) },
            parsed.GetValue(seed),
            parsed.GetValue(pcap),
            parsed.GetValue(counters),
            parsed.GetValue(json)));
        return command;
    }

    private static int Run(TextWriter stdout, TextWriter stderr, int count, LinkImpairments impairments, int seed, string? pcapPath,
        bool showCounters, bool json)
    {
        var pair = new SimulatedPair(seed, impairments);
        PcapCapture? capture = null;
        try
        {
            if (pcapPath is not null)
            {
                capture = PcapCapture.Start(pair.Sim, pcapPath);
            }

            TextWriter human = json ? TextWriter.Null : stdout;
            string target = SimulatedPair.AddressB.ToString();
            human.WriteLine($"PING {target} from {SimulatedPair.AddressA}: {PingRun.PayloadBytes}({PingRun.PayloadBytes + 28}) bytes of data " +
                $"(simulated: {Units.FormatDuration(impairments.Delay)} each way, loss {Units.FormatProbability(impairments.Loss)}, seed {seed})");
            var run = new PingRun(pair.Sim, pair.A, SimulatedPair.AddressB)
            {
                OnReply = (_, sequence, rtt) => human.WriteLine(
                    $"{PingRun.PayloadBytes + 8} bytes from {target}: icmp_seq={sequence} time={Ms(rtt)} ms"),
                OnSendError = (_, sequence, error) => stderr.WriteLine(
                    $"ping: icmp_seq={sequence}: {SocketErrors.ToErrno(error)} ({error})"),
            };
            PingResult result = run.Run(count);

            long packets = capture?.Finish() ?? 0;
            if (json)
            {
                JsonOutput.Write(stdout, new JsonObject
                {
                    ["sent"] = result.Sent,
                    ["received"] = result.Received,
                    ["rtt_ms"] = JsonOutput.Array(result.Rtts.Select(JsonOutput.Milliseconds)),
                    ["counters"] = JsonOutput.Counters(pair.A),
                });
            }
            else
            {
                PrintSummary(human, target, result);
                if (showCounters)
                {
                    human.WriteLine();
                    new CounterPrinter(human).Print(pair.A);
                }
            }

            if (capture is not null)
            {
                (json ? stderr : stdout).WriteLine($"capture: {packets} packets written to {capture.Path} (as delivered: packets the wire lost are not in it)");
            }

            if (result.Received == 0)
            {
                stderr.WriteLine($"wirestack ping: no reply from {target} ({result.Sent} sent)");
                return ExitCodes.Failure;
            }

            return ExitCodes.Success;
        }
        finally
        {
            capture?.Finish();
        }
    }

    private static void PrintSummary(TextWriter output, string target, PingResult result)
    {
        output.WriteLine();
        output.WriteLine($"--- {target} ping statistics ---");
        string errors = result.Errors > 0 ? $", +{result.Errors} errors" : "";
        output.WriteLine($"{result.Sent} packets transmitted, {result.Received} received{errors}, " +
            $"{result.LossPercent.ToString("0.#", CultureInfo.InvariantCulture)}% packet loss, time {result.Elapsed.TotalMilliseconds:0}ms (virtual)");
        if (result.Received > 0)
        {
            double[] ms = result.Rtts.Select(r => r.TotalMilliseconds).ToArray();
            double average = ms.Average();
            double mdev = Math.Sqrt(Math.Max(0, ms.Average(v => v * v) - average * average));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"rtt min/avg/max/mdev = {ms.Min():0.000}/{average:0.000}/{ms.Max():0.000}/{mdev:0.000} ms"));
        }
    }

    private static string Ms(TimeSpan span) => span.TotalMilliseconds.ToString(span.TotalMilliseconds < 100 ? "0.0##" : "0", CultureInfo.InvariantCulture);
}
