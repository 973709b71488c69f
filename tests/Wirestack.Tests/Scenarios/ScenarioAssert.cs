using System.Text.Json;
using Wirestack.Simulation.Scenarios;

namespace Wirestack.Tests.Scenarios;

/// <summary>Runs scenarios for tests: the story's own checks must all pass, and a second run with the same seed must
/// give the same result, byte for byte (events, errors, counters, facts, pcap).</summary>
internal static class ScenarioAssert
{
    public static ScenarioResult Run(string name, int seed = 1, string profile = "linux", params string[] knownStackBugs)
    {
        IScenario scenario = ScenarioRegistry.Find(name) ?? throw new InvalidOperationException($"no scenario '{name}'");
        ScenarioResult result = scenario.Run(new ScenarioOptions { Seed = seed, Profile = profile });
        AssertPassed(result, knownStackBugs);
        return result;
    }

    /// <summary>Every check of the story passed, except those naming a known stack bug (each of which has its own
    /// skipped test asserting the correct behaviour).</summary>
    public static void AssertPassed(ScenarioResult result, params string[] knownStackBugs)
    {
        var failed = result.Checks.Where(c => !c.Passed && !knownStackBugs.Any(k => c.What.Contains(k, StringComparison.Ordinal))).ToList();
        Assert.True(failed.Count == 0, Describe(result));
    }

    /// <summary>Runs twice with the same seed, capturing pcaps, and asserts both runs are identical.</summary>
    public static ScenarioResult RunTwiceIdentical(string name, int seed = 1, string profile = "linux", params string[] knownStackBugs)
    {
        IScenario scenario = ScenarioRegistry.Find(name) ?? throw new InvalidOperationException($"no scenario '{name}'");
        using var pcap1 = new MemoryStream();
        using var pcap2 = new MemoryStream();
        ScenarioResult first = scenario.Run(new ScenarioOptions { Seed = seed, Profile = profile, PcapStream = pcap1 });
        ScenarioResult second = scenario.Run(new ScenarioOptions { Seed = seed, Profile = profile, PcapStream = pcap2 });
        AssertPassed(first, knownStackBugs);
        Assert.Equal(Canonical(first), Canonical(second));
        Assert.True(pcap1.Length > 24, "the pcap holds packets");
        Assert.Equal(pcap1.ToArray(), pcap2.ToArray());
        Assert.Equal(first.PcapPackets, second.PcapPackets);
        return first;
    }

    /// <summary>Everything a run reports, as one JSON text.</summary>
    public static string Canonical(ScenarioResult r) => JsonSerializer.Serialize(new
    {
        r.Scenario, r.Seed, r.Profile, r.SimulatedSeconds, r.Events, r.Errors, r.Counters, r.KeyCounters, r.Facts, r.Summary, r.Checks,
        Sockets = r.Sockets.Select(s => new { s.T, s.Host, s.Title, s.Omitted, Rows = s.Rows.Select(row => row.ToString()) }),
        r.Timeline,
    });

    public static string Describe(ScenarioResult r) =>
        $"{r.Scenario}: failed checks: {string.Join("; ", r.Checks.Where(c => !c.Passed).Select(c => c.What))}\n{r.Timeline}\n" +
        string.Join("\n", r.KeyCounters.Select(k => $"{k.Host} {k.Group} {k.Name} = {k.Value}")) + "\n" +
        string.Join("\n", r.Facts.Select(f => $"{f.Key} = {f.Value}"));

    public static ScenarioError SingleError(ScenarioResult r, string errno) => Assert.Single(r.Errors, e => e.Errno == errno);

    public static bool Passed(ScenarioResult r, string checkContains) =>
        Assert.Single(r.Checks, c => c.What.Contains(checkContains, StringComparison.Ordinal)).Passed;
}
