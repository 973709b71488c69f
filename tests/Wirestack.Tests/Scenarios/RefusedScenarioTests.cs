using Wirestack.Simulation.Scenarios;

namespace Wirestack.Tests.Scenarios;

public sealed class RefusedScenarioTests
{
    [Fact]
    [Trait("Seed", "004 §1.3.1")]
    public void RstAck_RefusesBlockingAndNonBlockingConnects()
    {
        ScenarioResult r = ScenarioAssert.RunTwiceIdentical("refused");

        Assert.Equal(2, r.Errors.Count);
        Assert.All(r.Errors, e =>
        {
            Assert.Equal("ECONNREFUSED", e.Errno);
            Assert.Equal("ConnectionRefused", e.Error);
            Assert.Contains("answered the SYN with RST,ACK", e.Explanation);
        });
        Assert.Equal(10, r.Facts["blocking_connect_ms"]); // one round trip on a 5 ms wire
        Assert.Equal(0.01, r.Errors[0].T);
        Assert.Equal(2, r.Counter("server", "Tcp", "OutRsts"));
        Assert.Equal(2, r.Counter("client", "Tcp", "AttemptFails"));
        Assert.Contains("receives RST,ACK from 10.0.0.2:81", r.Timeline);
    }
}
