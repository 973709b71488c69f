using System.Globalization;
using System.Text.Json.Nodes;
using Wirestack.Simulation.Scenarios;

namespace Wirestack.Cli.Output;

/// <summary>A scenario's result for people (timeline, socket tables, the counters that tell it, the conclusion) and
/// as one JSON object: <c>{"scenario","seed","events":[{t,host,what}],"errors":[{t,socket,error,errno,explanation}],
/// "counters":{host:{group:{name:value}}}, ...}</c>.</summary>
internal static class ScenarioOutput
{
    public static void Print(TextWriter output, ScenarioResult result, bool allCounters)
    {
        output.WriteLine($"Scenario {result.Scenario} (seed {result.Seed}, profile {result.Profile})");
        output.WriteLine($"  {result.Description}");
        output.WriteLine();
        output.WriteLine("Timeline (virtual time):");
        output.Write(result.Timeline);
        foreach (ScenarioSockets sockets in result.Sockets)
        {
            output.WriteLine();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Sockets on {sockets.Host} at {sockets.T:0.000} s: {sockets.Title}"));
            new SocketTablePrinter(output) { Indent = "  " }.Print(sockets.Rows, sockets.Omitted);
        }

        if (result.KeyCounters.Count > 0)
        {
            output.WriteLine();
            output.WriteLine("The counters that tell it (Linux names: netstat -s, nstat, ethtool -S):");
            int name = result.KeyCounters.Max(k => k.Name.Length) + 2;
            int host = result.KeyCounters.Max(k => k.Host.Length) + 2;
            foreach (ScenarioCounter k in result.KeyCounters)
            {
                output.WriteLine($"  {k.Host.PadRight(host)}{k.Group,-8}{k.Name.PadRight(name)}{k.Value,10}   {k.Meaning}");
            }
        }

        if (allCounters)
        {
            output.WriteLine();
            output.WriteLine("Every counter that is not zero:");
            var printer = new CounterPrinter(output) { Indent = "  " };
            foreach ((string hostName, var groups) in result.Counters)
            {
                output.WriteLine($"  {hostName}:");
                printer.Print(groups, "    ");
            }
        }

        if (result.Summary.Count > 0)
        {
            output.WriteLine();
            output.WriteLine("What it shows:");
            foreach (string line in result.Summary)
            {
                output.WriteLine("  " + line);
            }
        }

        output.WriteLine();
        int failed = result.Checks.Count(c => !c.Passed);
        output.WriteLine(failed == 0
            ? $"All {result.Checks.Count} expectations of the story held."
            : $"{failed} of {result.Checks.Count} expectations did NOT hold:");
        foreach (ScenarioCheck check in result.Checks.Where(c => !c.Passed))
        {
            output.WriteLine("  - " + check.What);
        }
    }

    public static JsonObject ToJson(ScenarioResult result, string? pcap)
    {
        var events = new JsonArray();
        foreach (ScenarioEvent e in result.Events)
        {
            events.Add(new JsonObject { ["t"] = e.T, ["host"] = e.Host, ["what"] = e.What });
        }

        var errors = new JsonArray();
        foreach (ScenarioError e in result.Errors)
        {
            errors.Add(new JsonObject
            {
                ["t"] = e.T,
                ["host"] = e.Host,
                ["socket"] = e.Socket,
                ["error"] = e.Error,
                ["errno"] = e.Errno,
                ["explanation"] = e.Explanation,
            });
        }

        var counters = new JsonObject();
        foreach ((string host, var groups) in result.Counters)
        {
            var hostGroups = new JsonObject();
            foreach ((string group, var values) in groups)
            {
                var map = new JsonObject();
                foreach ((string name, long value) in values)
                {
                    map[name] = value;
                }

                hostGroups[group] = map;
            }

            counters[host] = hostGroups;
        }

        var keys = new JsonArray();
        foreach (ScenarioCounter k in result.KeyCounters)
        {
            keys.Add(new JsonObject { ["host"] = k.Host, ["group"] = k.Group, ["name"] = k.Name, ["value"] = k.Value, ["meaning"] = k.Meaning });
        }

        var sockets = new JsonArray();
        foreach (ScenarioSockets s in result.Sockets)
        {
            sockets.Add(new JsonObject
            {
                ["t"] = s.T,
                ["host"] = s.Host,
                ["title"] = s.Title,
                ["sockets"] = SocketTablePrinter.ToJson(s.Rows),
                ["omitted"] = s.Omitted,
            });
        }

        var facts = new JsonObject();
        foreach ((string name, double value) in result.Facts)
        {
            facts[name] = value;
        }

        var checks = new JsonArray();
        foreach (ScenarioCheck c in result.Checks)
        {
            checks.Add(new JsonObject { ["what"] = c.What, ["passed"] = c.Passed });
        }

        return new JsonObject
        {
            ["scenario"] = result.Scenario,
            ["description"] = result.Description,
            ["seed"] = result.Seed,
            ["profile"] = result.Profile,
            ["simulated_seconds"] = result.SimulatedSeconds,
            ["events"] = events,
            ["errors"] = errors,
            ["counters"] = counters,
            ["key_counters"] = keys,
            ["sockets"] = sockets,
            ["facts"] = facts,
            ["summary"] = JsonValueArray(result.Summary),
            ["checks"] = checks,
            ["passed"] = result.Passed,
            ["pcap"] = pcap,
            ["pcap_packets"] = result.PcapPackets,
        };
    }

    private static JsonArray JsonValueArray(IEnumerable<string> lines)
    {
        var array = new JsonArray();
        foreach (string line in lines)
        {
            array.Add(line);
        }

        return array;
    }
}
