using Wirestack.Simulation.Scenarios;

namespace Wirestack.Tests.Scenarios;

public sealed class LarvalScenarioTests
{
    [Fact]
    [Trait("Seed", "003")]
    public void NonBlockingConnectReturnsAtOnce_SynsDroppedOrQueuedUntilTheRouteIsReady()
    {
        ScenarioResult r = ScenarioAssert.RunTwiceIdentical("larval");

        // a. LarvalDrop on, non-blocking
        Assert.Equal(0, r.Facts["a_connect_returned_s"]);
        Assert.Equal(2, r.Facts["a_syns_dropped"]);
        Assert.Equal(3.01, r.Facts["a_established_s"]);
        // b. LarvalDrop off, non-blocking
        Assert.Equal(0, r.Facts["b_connect_returned_s"]);
        Assert.Equal(0, r.Facts["b_syns_dropped"]);
        Assert.Equal(2, r.Facts["b_syns_queued"]);
        Assert.Equal(2.51, r.Facts["b_established_s"]);
        // c. blocking
        Assert.Equal(3.01, r.Facts["c_connect_returned_s"]);
        Assert.Equal(4, r.Counter("client", "Ip", "OutLarvalDrops"));
        Assert.Equal(2, r.Counter("client", "Ip", "OutLarvalQueued"));
        Assert.Contains("SA established: the route is ready; 2 held packet(s) leave now", r.Timeline);
        Assert.Empty(r.Errors);
    }
}
