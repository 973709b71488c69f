using Wirestack.Simulation.Scenarios;

namespace Wirestack.Tests.Scenarios;

public sealed class BrokenPipeScenarioTests
{
    [Fact]
    [Trait("Seed", "004 §3.3")]
    public void WriteAfterPeerClosed_IsAccepted_ThenTheResetSurfacesAsEconnreset()
    {
        ScenarioResult r = ScenarioAssert.RunTwiceIdentical("broken-pipe");

        Assert.True(ScenarioAssert.Passed(r, "first write after the peer's FIN is accepted"));
        ScenarioError first = r.Errors[0];
        Assert.EndsWith("write #2", first.Socket);
        Assert.Equal("ECONNRESET", first.Errno);
        Assert.Contains("connection reset by peer in CLOSE-WAIT", first.Explanation);
        Assert.Equal(1, r.Counter("server", "TcpExt", "TCPAbortOnData"));
        Assert.Equal(1, r.Counter("server", "Tcp", "OutRsts"));
        Assert.Equal(1, r.Counter("client", "Tcp", "EstabResets"));
        Assert.Contains("receives RST from 10.0.0.2:80", r.Timeline);
    }

    [Fact]
    [Trait("Seed", "004 §3.3")]
    public void WritesAfterTheFirstError_ReportEpipe()
    {
        ScenarioResult r = ScenarioAssert.Run("broken-pipe");

        Assert.Equal(["ECONNRESET", "EPIPE", "EPIPE"], r.Errors.Select(e => e.Errno));
        Assert.Equal(1, r.Facts["write2_epipe"]);
    }
}
