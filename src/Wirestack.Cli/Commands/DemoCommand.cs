using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Wirestack.Cli.Output;
using Wirestack.Cli.Scenarios;
using Wirestack.Sockets;

namespace Wirestack.Cli.Commands;

/// <summary><c>wirestack demo</c>: the guided tour (<see cref="DemoScript"/>), told step by step in virtual time.</summary>
internal static class DemoCommand
{
    public const string DefaultPcap = "wirestack-demo.pcap";

    public static Command Create()
    {
        Option<int> seed = CliOptions.Seed();
        Option<string?> pcap = CliOptions.Pcap($". Defaults to {DefaultPcap} in the current directory");
        Option<bool> json = CliOptions.Json();
        var command = new Command("demo", "A guided tour: ping, UDP echo, a TCP transfer over a lossy wire and two failing connects " +
            "between simulated hosts, narrated in virtual time, with the counters that tell it and a pcap of every packet; " +
            "then two stories from the scenario library, and an ASP.NET Core endpoint answering HttpClient over HTTPS (TLS 1.3) " +
            "across a lossy wire, in real time.")
        {
            seed, pcap, json,
        };
        command.SetAction(parsed => Run(
            parsed.InvocationConfiguration.Output,
            parsed.InvocationConfiguration.Error,
            parsed.GetValue(seed),
            parsed.GetValue(pcap),
            parsed.GetValue(json)));
        return command;
    }

    private static int Run(TextWriter stdout, TextWriter stderr, int seed, string? pcapPath, bool json)
    {
        var say = new Narrator(json ? TextWriter.Null : stdout);
        var wall = Stopwatch.StartNew();
        var script = new DemoScript(seed, say);
        string path = pcapPath ?? DefaultPcap;
        using PcapCapture capture = PcapCapture.Start(script.Sim, path);
        Introduce(say, seed, pcapPath is null ? $"{path} (the default; --pcap FILE to change it)" : path);
        script.Run();
        script.PrintCounters();
        script.RunScenarios();
        script.RunHttps();
        long packets = capture.Finish();
        wall.Stop();

        if (json)
        {
            JsonOutput.Write(stdout, ToJson(script, capture.Path));
        }
        else
        {
            say.Line();
            say.Line($"The capture: {capture.Path} ({packets:N0} packets, stamped with virtual time to the nanosecond).");
            say.Line("  It records packets as they arrive, so the ones the wire lost are not in it.");
            say.Line($"  Read it with: tcpdump -nn -r {Quote(path)}    or open it in Wireshark.");
            say.Line(string.Create(CultureInfo.InvariantCulture,
                $"All this took {script.Sim.Now.TotalSeconds:0.###} s of virtual time and {wall.Elapsed.TotalSeconds:0.00} s of real time. " +
                $"Replay it exactly: wirestack demo --seed {seed}"));
        }

        foreach (string surprise in script.Surprises)
        {
            stderr.WriteLine($"wirestack demo: did not go as expected: {surprise}");
        }

        return script.Surprises.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
    }

    private static void Introduce(Narrator say, int seed, string pcap)
    {
        say.Line($"Wirestack demo (seed {seed})");
        say.Line();
        say.Line($"  alice 10.0.0.1 ─── {Units.FormatDuration(DemoScript.WireDelay)} ─── bob 10.0.0.2");
        say.Line($"  alice 10.0.1.1 ─── {Units.FormatDuration(DemoScript.WireDelay)} ─── carol 10.0.1.3 (silent: she has no routes, so she never answers)");
        say.Line();
        say.Line("Three hosts, each a full Wirestack TCP/IP stack, live in this process and talk over simulated wires;");
        say.Line("your own network is not touched. Time is virtual: the clock jumps from one event to the next, so waiting");
        say.Line("costs nothing, and the same seed replays the same run, packet for packet.");
        say.Line($"Every packet is captured to {pcap}.");
    }

    private static JsonObject ToJson(DemoScript script, string pcap)
    {
        PingResult? ping = script.Ping;
        UdpOutcome? udp = script.Udp;
        TransferResult? tcp = script.Tcp;
        var stories = new JsonArray();
        foreach (StoryOutcome story in script.Stories)
        {
            stories.Add(new JsonObject
            {
                ["name"] = story.Name,
                ["error"] = story.Error.ToString(),
                ["errno"] = SocketErrors.ToErrno(story.Error),
                ["explanation"] = story.Explanation,
                ["simulated_seconds"] = JsonOutput.Seconds(story.Simulated),
            });
        }

        return new JsonObject
        {
            ["seed"] = script.Seed,
            ["ping"] = new JsonObject
            {
                ["sent"] = ping?.Sent ?? 0,
                ["received"] = ping?.Received ?? 0,
                ["rtt_ms"] = JsonOutput.Array(ping?.Rtts.Select(JsonOutput.Milliseconds) ?? []),
            },
            ["udp"] = new JsonObject
            {
                ["port"] = DemoScript.EchoPort,
                ["bytes_sent"] = udp?.BytesSent ?? 0,
                ["bytes_echoed"] = udp?.BytesEchoed ?? 0,
                ["match"] = udp?.Match ?? false,
                ["rtt_ms"] = JsonOutput.Milliseconds(udp?.RoundTrip ?? TimeSpan.Zero),
            },
            ["tcp"] = new JsonObject
            {
                ["bytes"] = tcp?.BytesReceived ?? 0,
                ["sha256_ok"] = tcp?.HashesMatch ?? false,
                ["retransmits"] = tcp?.Retransmits ?? 0,
                ["wire_lost"] = script.TcpWireLost,
                ["simulated_seconds"] = JsonOutput.Seconds(tcp?.Simulated ?? TimeSpan.Zero),
            },
            ["stories"] = stories,
            ["counters"] = JsonOutput.Counters(script.Sim.Hosts),
            ["scenarios"] = Scenarios(script),
            ["http"] = new JsonObject
            {
                ["status"] = script.Https?.StatusCode ?? 0,
                ["tls"] = script.Https?.TlsProtocol.ToString() ?? "None",
                ["bytes"] = script.Https?.BytesReceived ?? 0,
                ["verified"] = script.Https?.BodyVerified ?? false,
            },
            ["pcap"] = pcap,
        };
    }

    /// <summary>The library scenarios the demo ends with: name, outcome, errors and conclusion.</summary>
    private static JsonArray Scenarios(DemoScript script)
    {
        var array = new JsonArray();
        foreach (Simulation.Scenarios.ScenarioResult result in script.ScenarioResults)
        {
            var errors = new JsonArray();
            foreach (Simulation.Scenarios.ScenarioError error in result.Errors)
            {
                errors.Add(new JsonObject
                {
                    ["t"] = error.T,
                    ["socket"] = error.Socket,
                    ["error"] = error.Error,
                    ["errno"] = error.Errno,
                    ["explanation"] = error.Explanation,
                });
            }

            var summary = new JsonArray();
            foreach (string line in result.Summary)
            {
                summary.Add(line);
            }

            array.Add(new JsonObject
            {
                ["name"] = result.Scenario,
                ["passed"] = result.Passed,
                ["simulated_seconds"] = result.SimulatedSeconds,
                ["errors"] = errors,
                ["summary"] = summary,
            });
        }

        return array;
    }

    private static string Quote(string path) => path.Contains(' ', StringComparison.Ordinal) ? $"'{path}'" : path;
}
