using System.CommandLine;
using System.Text.Json.Nodes;
using Wirestack.Cli.Output;
using Wirestack.Simulation.Scenarios;

namespace Wirestack.Cli.Commands;

/// <summary><c>wirestack scenario list</c> and <c>wirestack scenario NAME</c>: the scenario library
/// (<see cref="ScenarioRegistry"/>), each story played in virtual time, told with its timeline, the errors the
/// sockets reported with their explanation, and the counters that tell it.</summary>
internal static class ScenarioCommand
{
    public static Command Create()
    {
        var name = new Argument<string?>("name")
        {
            Description = "The scenario to run (see 'wirestack scenario list').",
            Arity = ArgumentArity.ZeroOrOne,
        };
        name.Validators.Add(result =>
        {
            string? value = result.GetValueOrDefault<string?>();
            if (value is not null && ScenarioRegistry.Find(value) is null)
            {
                result.AddError($"unknown scenario '{value}' (see 'wirestack scenario list')");
            }
        });
        Option<int> seed = CliOptions.Seed();
        Option<string?> pcap = CliOptions.Pcap(". Defaults to wirestack-NAME.pcap in the current directory");
        Option<bool> json = CliOptions.Json();
        var profile = new Option<string>("--profile")
        {
            Description = "The hosts' TCP/IP defaults: linux (the default) or freebsd.",
            HelpName = "linux|freebsd",
            DefaultValueFactory = _ => "linux",
        };
        profile.Validators.Add(result =>
        {
            string? value = result.GetValueOrDefault<string>();
            if (value is null || !ScenarioOptions.Profiles.Contains(value))
            {
                result.AddError($"--profile: '{value}' is not a profile (expected {string.Join(" or ", ScenarioOptions.Profiles)})");
            }
        });
        var counters = new Option<bool>("--counters") { Description = "Also print every non-zero counter of every host (netstat -s style)." };
        var command = new Command("scenario",
            "Replay a failure story of a network stack in virtual time (a connect timing out, a full accept queue, ENOBUFS, a SYN flood...) " +
            "and explain it: the timeline, each error with its cause, the counters that tell it, and a pcap.")
        {
            name, seed, pcap, json, profile, counters,
        };
        command.Subcommands.Add(CreateList());
        command.SetAction(parsed =>
        {
            string? scenario = parsed.GetValue(name);
            if (scenario is null)
            {
                parsed.InvocationConfiguration.Error.WriteLine("wirestack scenario: name a scenario, or 'wirestack scenario list' to see them");
                return ExitCodes.Usage;
            }

            return Run(parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error, ScenarioRegistry.Find(scenario)!,
                parsed.GetValue(seed), parsed.GetValue(pcap), parsed.GetValue(json), parsed.GetValue(profile)!, parsed.GetValue(counters));
        });
        return command;
    }

    private static Command CreateList()
    {
        Option<bool> json = CliOptions.Json();
        var list = new Command("list", "List the scenarios, one line each.") { json };
        list.SetAction(parsed =>
        {
            TextWriter output = parsed.InvocationConfiguration.Output;
            if (parsed.GetValue(json))
            {
                var array = new JsonArray();
                foreach (IScenario s in ScenarioRegistry.All)
                {
                    array.Add(new JsonObject { ["name"] = s.Name, ["description"] = s.Description });
                }

                JsonOutput.Write(output, new JsonObject { ["scenarios"] = array });
                return ExitCodes.Success;
            }

            int width = ScenarioRegistry.All.Max(s => s.Name.Length) + 2;
            foreach (IScenario s in ScenarioRegistry.All)
            {
                output.WriteLine($"{s.Name.PadRight(width)}{s.Description}");
            }

            output.WriteLine();
            output.WriteLine("Run one: wirestack scenario NAME [--seed S] [--pcap FILE] [--json] [--profile linux|freebsd]");
            return ExitCodes.Success;
        });
        return list;
    }

    private static int Run(TextWriter stdout, TextWriter stderr, IScenario scenario, int seed, string? pcapPath, bool json, string profile, bool allCounters)
    {
        string path = Path.GetFullPath(pcapPath ?? $"wirestack-{scenario.Name}.pcap");
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new CommandFailedException($"cannot write the capture to '{pcapPath ?? path}': {ex.Message}", ex);
        }

        ScenarioResult result;
        using (file)
        {
            result = scenario.Run(new ScenarioOptions { Seed = seed, Profile = profile, PcapStream = file });
        }

        if (json)
        {
            JsonOutput.Write(stdout, ScenarioOutput.ToJson(result, path));
        }
        else
        {
            ScenarioOutput.Print(stdout, result, allCounters);
            stdout.WriteLine();
            stdout.WriteLine($"The capture: {path} ({result.PcapPackets:N0} packets, virtual time). Replay: wirestack scenario {scenario.Name} --seed {seed}" +
                (profile == "linux" ? "" : $" --profile {profile}"));
        }

        foreach (ScenarioCheck check in result.Checks.Where(c => !c.Passed))
        {
            stderr.WriteLine($"wirestack scenario {scenario.Name}: did not go as expected: {check.What}");
        }

        return result.Passed ? ExitCodes.Success : ExitCodes.Failure;
    }
}
