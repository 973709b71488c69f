using System.Text.Json;
using Wirestack.Cli.Tests.Support;

namespace Wirestack.Cli.Tests;

/// <summary>The demo ends with two stories of the scenario library; its JSON gains a "scenarios" field.</summary>
public sealed class DemoScenariosTests
{
    [Fact]
    public void Demo_Json_HasTheScenariosItRan()
    {
        using var pcap = new TempFile("demo.pcap");

        CliRun run = CliRun.Of("demo", "--json", "--pcap", pcap.Path);

        Assert.True(run.ExitCode == 0, run.Stderr);
        JsonElement[] scenarios = run.Json().GetProperty("scenarios").EnumerateArray().ToArray();
        Assert.Equal(["backlog-overflow", "larval"], scenarios.Select(s => s.GetProperty("name").GetString()));
        Assert.All(scenarios, s => Assert.True(s.GetProperty("passed").GetBoolean()));
        JsonElement reset = scenarios[0].GetProperty("errors")[0];
        Assert.Equal("ECONNRESET", reset.GetProperty("errno").GetString());
        Assert.NotEmpty(scenarios[1].GetProperty("summary").EnumerateArray());
    }

    [Fact]
    public void Demo_Human_EndsWithTheScenarioSection()
    {
        using var pcap = new TempFile("demo.pcap");

        CliRun run = CliRun.Of("demo", "--pcap", pcap.Path);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("6. Two stories from the scenario library", run.Stdout);
        Assert.Contains("ECONNRESET on c4", run.Stdout);
        Assert.Contains("wirestack scenario larval --seed 1", run.Stdout);
    }
}
