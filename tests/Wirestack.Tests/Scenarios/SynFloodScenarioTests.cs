using Wirestack.Simulation.Scenarios;

namespace Wirestack.Tests.Scenarios;

public sealed class SynFloodScenarioTests
{
    [Fact]
    [Trait("Seed", "004 §4.4")]
    public void SpoofedSyns_FillTheQueue_CookiesLetClientsIn_TransferKeepsGoing()
    {
        ScenarioResult r = ScenarioAssert.RunTwiceIdentical("syn-flood");

        Assert.Equal(2000, r.Facts["forged_syns"]);
        Assert.Equal(SynFloodScenario.LegitClients, r.Facts["legit_connected"]);
        Assert.Equal(1, r.Facts["upload_ok"]);
        Assert.True(r.Counter("server", "TcpExt", "SyncookiesSent") >= 2000 - SynFloodScenario.Backlog);
        Assert.Equal(SynFloodScenario.LegitClients, r.Counter("server", "TcpExt", "SyncookiesRecv"));
        Assert.Equal(0, r.Counter("server", "TcpExt", "SyncookiesFailed"));
        Assert.True(r.Counter("mallory", "Ip", "InAddrErrors") >= 2000 - SynFloodScenario.Backlog);
        var synRecv = r.Sockets[0].Rows.Where(row => row.State == "SYN-RECV").ToList();
        Assert.NotEmpty(synRecv);
        Assert.Equal(SynFloodScenario.Backlog, synRecv.Count + r.Sockets[0].Omitted);
        Assert.Empty(r.Errors);
    }
}
