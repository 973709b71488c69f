using Wirestack.Simulation.Scenarios;

namespace Wirestack.Tests.Scenarios;

public sealed class HalfOpenLimitScenarioTests
{
    [Fact]
    [Trait("Seed", "000")]
    public void ConnectsGoOutTenAtATime_AndDeadPeersHoldTheSlots()
    {
        ScenarioResult r = ScenarioAssert.RunTwiceIdentical("half-open-limit");

        Assert.Equal(10, r.Facts["a_max_half_open"]);
        Assert.Equal(0.04, r.Facts["a_all_connected_s"]); // four waves of one round trip
        Assert.Equal(127.01, r.Facts["b_live_connected_s"]);
        Assert.Equal(30 + 5, r.Counter("client", "TcpExt", "HalfOpenQueued"));
        Assert.Equal(10, r.Counter("client", "Tcp", "AttemptFails"));
        ScenarioError dead = ScenarioAssert.SingleError(r, "ETIMEDOUT");
        Assert.Equal(128.04, dead.T);
        Assert.Contains("no answer after 127 s", dead.Explanation);
        Assert.Contains("10 connected, 10 in SYN-SENT, 20 queued", r.Timeline);
        Assert.Contains(r.Sockets[0].Rows, row => row.State == "CONNECT-QUEUED");
    }
}
