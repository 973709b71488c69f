using Wirestack.Simulation.Scenarios;

namespace Wirestack.Tests.Scenarios;

public sealed class EnobufsScenarioTests
{
    [Fact]
    [Trait("Seed", "000")]
    public void RelayOnASmallBudget_GetsEnobufs_OthersKeepMoving_AllRecovers()
    {
        ScenarioResult r = ScenarioAssert.RunTwiceIdentical("enobufs");

        Assert.True(r.Facts["enobufs"] > 0);
        ScenarioError first = r.Errors[0];
        Assert.Equal("ENOBUFS", first.Errno);
        Assert.Equal("NoBufferSpaceAvailable", first.Error);
        Assert.Contains("memory budget is spent", first.Explanation);
        Assert.Equal(EnobufsScenario.FastUsers, r.Facts["fast_users_finished_during_pressure"]);
        Assert.Equal(EnobufsScenario.Users, r.Facts["intact_streams"]);
        Assert.True(r.Counter("relay", "Stack", "ENOBUFS.SendBuffer") > 0);
        Assert.Equal(0, r.Counter("relay", "Stack", "BudgetInUse"));
        Assert.Equal(0, r.Counter("users", "Stack", "BudgetInUse"));
        Assert.Equal(0, r.Counter("origin", "Stack", "BudgetInUse"));
        Assert.Equal(EnobufsScenario.Users, r.Counter("relay", "Tcp", "PassiveOpens"));
    }

    [Fact]
    public void Enobufs_CarriesTheStacksOwnExplanation()
    {
        ScenarioResult r = ScenarioAssert.Run("enobufs");

        Assert.DoesNotContain("the relay's memory budget", r.Errors[0].Explanation); // the scenario's fallback, not the stack's words
    }
}
