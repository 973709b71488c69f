using Wirestack.Simulation.Scenarios;

namespace Wirestack.Tests.Scenarios;

public sealed class ZeroWindowScenarioTests
{
    [Fact]
    [Trait("Seed", "004 §4.6")]
    public void PeerNeverReads_ProbesAreAnswered_UserTimeoutEndsIt()
    {
        ScenarioResult r = ScenarioAssert.RunTwiceIdentical("zero-window");

        ScenarioError error = ScenarioAssert.SingleError(r, "ETIMEDOUT");
        Assert.Contains("kept its window at zero", error.Explanation);
        Assert.Contains("TCP_USER_TIMEOUT 60 s", error.Explanation);
        Assert.InRange(r.Facts["ended_after_s"], 60, 120);
        Assert.True(r.Counter("client", "TcpExt", "TCPWinProbe") > 3);
        Assert.Equal(r.Facts["probes"], r.Counter("client", "TcpExt", "TCPWinProbe"));
        Assert.Equal(1, r.Counter("server", "TcpExt", "TCPToZeroWindowAdv"));
        Assert.Equal("persist", r.Sockets[0].Rows.Single(row => row.State == "ESTAB").Timer);
    }

    [Fact]
    [Trait("Seed", "004 §4.6")]
    public void Probes_BackOff()
    {
        ScenarioResult r = ScenarioAssert.Run("zero-window");

        Assert.True(r.Facts["probe3_s"] - r.Facts["probe2_s"] > r.Facts["probe2_s"] - r.Facts["probe1_s"]);
        Assert.True(ScenarioAssert.Passed(r, "the probes back off"));
    }
}
