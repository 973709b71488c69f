using Wirestack.Simulation.Scenarios;

namespace Wirestack.Tests.Scenarios;

public sealed class RingOverflowScenarioTests
{
    [Fact]
    [Trait("Seed", "004 §2.1")]
    public void BurstBeyondTheRing_CountsRxMissedErrors_AndTcpRecovers()
    {
        ScenarioResult r = ScenarioAssert.RunTwiceIdentical("ring-overflow");

        long missed = r.Counter("receiver", "Link", "rx_missed_errors");
        Assert.True(missed > 0);
        Assert.Equal(missed, r.Facts["rx_missed_errors"]);
        Assert.True(r.Facts["largest_burst"] > RingOverflowScenario.RingSlots);
        Assert.True(r.Counter("sender", "Tcp", "RetransSegs") >= missed);
        Assert.Equal(RingOverflowScenario.TransferBytes, r.Facts["bytes"]);
        Assert.Contains("the ring holds 64", r.Timeline);
        Assert.Empty(r.Errors);
    }
}
