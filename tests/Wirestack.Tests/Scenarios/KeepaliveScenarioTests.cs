using Wirestack.Simulation.Scenarios;

namespace Wirestack.Tests.Scenarios;

public sealed class KeepaliveScenarioTests
{
    [Fact]
    [Trait("Seed", "004 §4.3")]
    public void VanishedPeer_DetectedByUnansweredKeepaliveProbes()
    {
        ScenarioResult r = ScenarioAssert.RunTwiceIdentical("keepalive");

        ScenarioError error = ScenarioAssert.SingleError(r, "ETIMEDOUT");
        Assert.Contains("3 keep-alive probes unanswered (idle 10 s, interval 2 s)", error.Explanation);
        Assert.Equal(26.02, r.Facts["detected_s"]);
        Assert.Equal(1, r.Facts["probes_answered"]);
        Assert.Equal(4, r.Counter("client", "TcpExt", "TCPKeepAlive"));
        Assert.Equal("keepalive", Assert.Single(r.Sockets[0].Rows).Timer);
        Assert.Contains("sends keep-alive probe #4: no answer comes back", r.Timeline);
    }
}
