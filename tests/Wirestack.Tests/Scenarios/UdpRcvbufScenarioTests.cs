using Wirestack.Simulation.Scenarios;

namespace Wirestack.Tests.Scenarios;

public sealed class UdpRcvbufScenarioTests
{
    [Fact]
    [Trait("Seed", "004 §3.2")]
    public void SlowReaderDropsCountAsRcvbufErrors_CorruptionAsInCsumErrors()
    {
        ScenarioResult r = ScenarioAssert.RunTwiceIdentical("udp-rcvbuf");

        long rcvbuf = r.Counter("reader", "Udp", "RcvbufErrors");
        long csum = r.Counter("reader", "Udp", "InCsumErrors");
        long header = r.Counter("reader", "Ip", "InHdrErrors");
        Assert.True(rcvbuf > 100, $"RcvbufErrors {rcvbuf}");
        Assert.True(csum > 0, $"InCsumErrors {csum}");
        Assert.Equal(r.Counter("reader", "Udp", "InErrors"), rcvbuf + csum);
        Assert.Equal(r.Facts["wire_corrupted"], csum + header);
        Assert.Equal(400, r.Facts["received"] + rcvbuf + csum + header);
        Assert.Equal(r.Facts["received"], r.Counter("reader", "Udp", "InDatagrams"));
        Assert.True(r.Facts["peak_recv_q"] <= UdpRcvbufScenario.ReceiveBuffer);
        var udp = Assert.Single(r.Sockets[0].Rows);
        Assert.Equal("udp", udp.Protocol);
        Assert.True(udp.Drops > 0);
        Assert.Empty(r.Errors);
    }
}
