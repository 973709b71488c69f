using Wirestack.Simulation.Scenarios;

namespace Wirestack.Tests.Scenarios;

public sealed class ScenarioRegistryTests
{
    [Fact]
    public void Registry_HoldsEveryStoryOnce()
    {
        string[] expected =
        [
            "syn-timeout", "refused", "backlog-overflow", "broken-pipe", "udp-rcvbuf", "ring-overflow", "enobufs",
            "half-open-limit", "big-send", "larval", "zero-window", "keepalive", "syn-flood",
        ];
        Assert.Equal(expected, ScenarioRegistry.All.Select(s => s.Name));
        Assert.All(ScenarioRegistry.All, s => Assert.False(string.IsNullOrWhiteSpace(s.Description)));
        Assert.Same(ScenarioRegistry.All[0], ScenarioRegistry.Find("SYN-TIMEOUT"));
        Assert.Null(ScenarioRegistry.Find("nope"));
    }

    [Fact]
    public void UnknownProfile_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => ScenarioRegistry.Find("refused")!.Run(new ScenarioOptions { Profile = "windows" }));
    }

    [Fact]
    public void DifferentSeeds_GiveDifferentPortsButTheSameStory()
    {
        ScenarioResult a = ScenarioAssert.Run("refused", seed: 1);
        ScenarioResult b = ScenarioAssert.Run("refused", seed: 2);

        Assert.NotEqual(a.Errors[0].Socket, b.Errors[0].Socket);
        Assert.Equal(a.Facts, b.Facts);
    }
}
