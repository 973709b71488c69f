using Wirestack.Simulation.Scenarios;

namespace Wirestack.Tests.Scenarios;

public sealed class BacklogOverflowScenarioTests
{
    [Fact]
    [Trait("Seed", "004 §1.4, §3.1")]
    public void ClientsBeyondTheAcceptQueue_ThinkTheyAreConnected_ThenGetEconnreset()
    {
        ScenarioResult r = ScenarioAssert.RunTwiceIdentical("backlog-overflow");

        Assert.Equal(3, r.Facts["accept_queue"]); // backlog 2 holds 3, as in Linux
        Assert.Equal(3, r.Facts["phantom_clients"]);
        Assert.Equal(3, r.Facts["reset_clients"]);
        Assert.Equal(3, r.Errors.Count);
        Assert.All(r.Errors, e =>
        {
            Assert.Equal("ECONNRESET", e.Errno);
            Assert.Contains("connection reset by peer in ESTAB", e.Explanation);
        });
        // the RST comes only once the server no longer recognises the client (its SYN cookie expired, 2-3 minutes)
        Assert.InRange(r.Errors[0].T, 120, 300);
        Assert.True(r.Counter("server", "TcpExt", "ListenOverflows") >= 3);
        Assert.True(r.Counter("server", "TcpExt", "ListenDrops") >= 3);
        Assert.Equal(3, r.Counter("server", "TcpExt", "SyncookiesFailed"));
        Assert.Equal(3, r.Counter("client", "Tcp", "EstabResets"));
        // the listener's line in ss: Recv-Q is the accept queue, Send-Q the backlog
        var listen = Assert.Single(r.Sockets[0].Rows, row => row.State == "LISTEN");
        Assert.Equal((3, 2), (listen.RecvQ, listen.SendQ));
        Assert.All(r.Sockets[1].Rows, row => Assert.Equal("ESTAB", row.State));
    }

    [Fact]
    public void Reset_ExplanationPointsAtThePeersAcceptQueue()
    {
        ScenarioResult r = ScenarioAssert.Run("backlog-overflow");

        Assert.All(r.Errors, e => Assert.Contains("accept queue", e.Explanation));
    }
}
