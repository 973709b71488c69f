using Wirestack.Simulation.Scenarios;

namespace Wirestack.Tests.Scenarios;

public sealed class SynTimeoutScenarioTests
{
    [Fact]
    [Trait("Seed", "004 §1.3.2")]
    public void Linux_SevenSynsThenEtimedoutAt127s_SameSeedSameRun()
    {
        ScenarioResult r = ScenarioAssert.RunTwiceIdentical("syn-timeout");

        Assert.Equal([0.0, 1, 3, 7, 15, 31, 63], Enumerable.Range(1, 7).Select(i => r.Facts[$"syn{i}_s"]));
        Assert.Equal(127, r.Facts["connect_s"]);
        ScenarioError error = ScenarioAssert.SingleError(r, "ETIMEDOUT");
        Assert.Equal("TimedOut", error.Error);
        Assert.Equal(127, error.T);
        Assert.Contains("7 SYNs sent at 0,1,3,7,15,31,63 s", error.Explanation);
        Assert.Equal(6, r.Counter("client", "TcpExt", "TCPSynRetrans"));
        Assert.Equal(1, r.Counter("client", "Tcp", "AttemptFails"));
        Assert.Equal(7, r.Counter("silent", "Tcp", "InSegs"));
        Assert.Equal(7, r.Counter("silent", "Ip", "OutNoRoutes"));
        Assert.Contains("rexmit SYN #7", r.Timeline);
    }

    [Fact]
    [Trait("Seed", "004 §1.3.2")]
    public void FreeBsd_KeepinitEndsTheAttemptAt75s()
    {
        ScenarioResult r = ScenarioAssert.Run("syn-timeout", profile: "freebsd");

        Assert.Equal(75, r.Facts["connect_s"]);
        Assert.Equal(7, r.Facts["syns"]);
        Assert.Equal("ETIMEDOUT", ScenarioAssert.SingleError(r, "ETIMEDOUT").Errno);
    }

    [Fact]
    public void FreeBsd_StillFailsWithEtimedoutAndExplainsIt()
    {
        ScenarioResult r = ScenarioAssert.Run("syn-timeout", profile: "freebsd");

        Assert.Equal("freebsd", r.Profile);
        Assert.Contains("SYNs sent at 0,1,3.2,7.4,15.6,31.8,64", ScenarioAssert.SingleError(r, "ETIMEDOUT").Explanation);
    }
}
