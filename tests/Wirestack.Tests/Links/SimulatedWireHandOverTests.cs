using Wirestack.Links;
using Wirestack.Time;

namespace Wirestack.Tests.Links;

/// <summary><see cref="SimulatedWire.CopyPackets"/> off: the sender's buffer itself travels (no copy), stays
/// leased from the sender's pool until the receiver disposes it, and every impairment still applies.</summary>
public sealed class SimulatedWireHandOverTests
{
    [Fact]
    public void HandOver_KeepsTheSendersBufferLeasedUntilReceivedAndUsesNoWireBuffer()
    {
        var harness = new WireHarness(new LinkImpairments { Delay = TimeSpan.FromSeconds(1) });
        harness.Wire.CopyPackets = false;

        harness.Send(harness.Wire.A, 1, 100, Instant.Zero);

        Assert.Equal(1, harness.SenderPool.LeasedCount);
        Assert.Equal(0, harness.Wire.Pool.LeasedCount);
        harness.Drain();
        ReceivedPacket packet = Assert.Single(harness.ReceivedByB);
        Assert.Equal(WireHarness.Payload(1, 0, 100), packet.Bytes);
        Assert.Equal(1_000_000, packet.DelayUs);
        harness.AssertNoLeaks();
    }

    [Fact]
    public void HandOver_SameSeed_DeliversWhatTheCopyingWireDelivers()
    {
        var impairments = new LinkImpairments
        {
            Loss = 0.05, Duplicate = 0.05, Reorder = 0.05, Corrupt = 0.02, Delay = TimeSpan.FromMilliseconds(5),
            Jitter = TimeSpan.FromMilliseconds(1), RateBitsPerSecond = 100_000_000, QueueLimitBytes = 64 * 1024,
        };
        var copying = new WireHarness(impairments, seed: 9);
        var handing = new WireHarness(impairments, seed: 9);
        handing.Wire.CopyPackets = false;

        copying.SendSeries(2000, length: 200);
        handing.SendSeries(2000, length: 200);
        copying.Drain();
        handing.Drain();

        Assert.True(handing.Wire.Counters.Lost > 0 && handing.Wire.Counters.Duplicated > 0 && handing.Wire.Counters.Corrupted > 0);
        Assert.Equal(copying.ReceivedByB.Select(p => (p.ArrivalUs, Convert.ToHexString(p.Bytes))),
            handing.ReceivedByB.Select(p => (p.ArrivalUs, Convert.ToHexString(p.Bytes))));
        handing.AssertNoLeaks();
    }
}
