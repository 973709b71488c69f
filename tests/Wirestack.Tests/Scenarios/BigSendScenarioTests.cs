using Wirestack.Simulation.Scenarios;

namespace Wirestack.Tests.Scenarios;

public sealed class BigSendScenarioTests
{
    [Fact]
    [Trait("Seed", "002")]
    public void KyuChunkSizesAndAHundredTransfers_AllIntact()
    {
        ScenarioResult r = ScenarioAssert.RunTwiceIdentical("big-send");

        foreach (int chunk in BigSendScenario.ChunkSizes)
        {
            Assert.Equal(1, r.Facts[$"chunk_{chunk}_ok"]);
        }

        Assert.Equal(BigSendScenario.Repeats, r.Facts["transfers_ok"]);
        Assert.Equal(BigSendScenario.Repeats, r.Counter("kyu", "Tcp", "PassiveOpens"));
        Assert.Equal(0, r.Counter("kyu", "Stack", "BudgetInUse"));
        Assert.Empty(r.Errors);
    }
}
