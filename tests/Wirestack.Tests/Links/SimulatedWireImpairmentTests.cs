using Wirestack.Links;
using Wirestack.Time;

namespace Wirestack.Tests.Links;

/// <summary>Each impairment, shown statistically over many packets with a fixed seed.</summary>
public sealed class SimulatedWireImpairmentTests
{
    private const int Packets = 10_000;

    [Fact]
    public void Loss_TenPercent_LosesBetweenNineAndElevenPercent()
    {
        var harness = new WireHarness(new LinkImpairments { Loss = 0.10 }, seed: 4004, rxRingCapacity: Packets);

        harness.SendSeries(Packets);
        harness.Drain();

        long lost = harness.Wire.CountersAToB.Lost;
        Assert.InRange(lost, 900, 1100);
        Assert.Equal(Packets - lost, harness.ReceivedByB.Count);
        Assert.Equal(lost, harness.Wire.Counters.Lost);
        Assert.Equal(Packets, harness.Wire.A.Counters.TxPackets);   // lost on the wire, not refused by the port
        Assert.Equal(harness.ReceivedByB.Count, harness.Wire.B.Counters.RxPackets);
        Assert.Equal(harness.ReceivedByB.Select(p => p.Id).Order(), harness.ReceivedByB.Select(p => p.Id));
        harness.AssertNoLeaks();
    }

    [Fact]
    public void Loss_One_LosesEverything()
    {
        var harness = new WireHarness(new LinkImpairments { Loss = 1 });

        harness.SendSeries(100);
        harness.Drain();

        Assert.Empty(harness.ReceivedByB);
        Assert.Equal(100, harness.Wire.Counters.Lost);
        harness.AssertNoLeaks();
    }

    [Fact]
    public void Duplicate_FivePercent_DeliversThatManyIdenticalTwinsRightBehindTheOriginal()
    {
        var harness = new WireHarness(new LinkImpairments { Duplicate = 0.05, Delay = TimeSpan.FromMilliseconds(3) }, seed: 7, rxRingCapacity: Packets);

        harness.SendSeries(Packets);
        harness.Drain();

        long duplicated = harness.Wire.CountersAToB.Duplicated;
        Assert.InRange(duplicated, 450, 550);
        List<ReceivedPacket> received = harness.ReceivedByB;
        Assert.Equal(Packets + duplicated, received.Count);
        int twins = 0;
        for (int i = 1; i < received.Count; i++)
        {
            if (received[i].Id == received[i - 1].Id)
            {
                twins++;
                Assert.Equal(received[i - 1].Bytes, received[i].Bytes);
                Assert.Equal(received[i - 1].ArrivalUs, received[i].ArrivalUs);
            }
        }

        Assert.Equal(duplicated, twins);
        Assert.Equal(Enumerable.Range(0, Packets), received.Select(p => p.Id).Distinct());
        harness.AssertNoLeaks();
    }

    [Fact]
    public void Reorder_TenPercent_HoldsThatManyBackByReorderDelaySoLaterPacketsOvertakeThem()
    {
        var impairments = new LinkImpairments { Reorder = 0.10, Delay = TimeSpan.FromMilliseconds(5), ReorderDelay = TimeSpan.FromMilliseconds(1) };
        var harness = new WireHarness(impairments, seed: 99, rxRingCapacity: Packets);

        harness.SendSeries(Packets, spacingUs: 100);
        harness.Drain();

        long reordered = harness.Wire.CountersAToB.Reordered;
        Assert.InRange(reordered, 900, 1100);
        List<ReceivedPacket> received = harness.ReceivedByB;
        Assert.Equal(Packets, received.Count);
        List<ReceivedPacket> heldBack = received.Where(p => p.DelayUs == 6000).ToList();
        List<ReceivedPacket> onTime = received.Where(p => p.DelayUs == 5000).ToList();
        Assert.Equal(reordered, heldBack.Count);
        Assert.Equal(Packets - reordered, onTime.Count);
        // The packets not held back keep their order among themselves...
        Assert.Equal(onTime.Select(p => p.Id).Order(), onTime.Select(p => p.Id));
        // ...and a held-back packet is overtaken: something sent after it arrives before it.
        int overtaken = received.Select((p, index) => received.Skip(index + 1).Take(20).Count(later => later.Id < p.Id)).Sum();
        Assert.True(overtaken >= reordered, $"only {overtaken} packets arrived after a later one");
        Assert.Equal(received.OrderBy(p => p.ArrivalUs).Select(p => p.Id), received.Select(p => p.Id));
        harness.AssertNoLeaks();
    }

    [Fact]
    public void Delay_Fixed_DeliversExactlyThenAndNotBefore()
    {
        var harness = new WireHarness(new LinkImpairments { Delay = TimeSpan.FromMilliseconds(20) });
        SimulatedWire wire = harness.Wire;

        harness.Send(wire.A, 1, 64, Instant.FromMilliseconds(3));

        Assert.Equal(Instant.FromMilliseconds(23), wire.NextDeliveryAt);
        Assert.Equal(Instant.FromMilliseconds(23), wire.B.PollAt);
        Assert.Null(wire.A.PollAt);
        wire.DeliverDue(Instant.FromMilliseconds(23) - TimeSpan.FromMicroseconds(1));
        Assert.False(wire.B.TryReceive(Instant.FromMilliseconds(23) - TimeSpan.FromMicroseconds(1), out _));
        Assert.Equal(1, wire.InFlightCount);

        harness.Drain();

        ReceivedPacket packet = Assert.Single(harness.ReceivedByB);
        Assert.Equal(23_000, packet.ArrivalUs);
        Assert.Equal(20_000, packet.DelayUs);
        Assert.Null(wire.NextDeliveryAt);
        harness.AssertNoLeaks();
    }

    [Fact]
    public void Jitter_WithoutReorder_SpreadsDelaysButKeepsFifoOrder()
    {
        var impairments = new LinkImpairments { Delay = TimeSpan.FromMilliseconds(10), Jitter = TimeSpan.FromMilliseconds(5) };
        var harness = new WireHarness(impairments, seed: 3, rxRingCapacity: Packets);

        harness.SendSeries(Packets, spacingUs: 100);   // far closer together than the jitter
        harness.Drain();

        List<ReceivedPacket> received = harness.ReceivedByB;
        Assert.Equal(Enumerable.Range(0, Packets), received.Select(p => p.Id));
        Assert.All(received, p => Assert.InRange(p.DelayUs, 10_000, 15_000));
        Assert.True(received.Select(p => p.DelayUs).Distinct().Count() > 1000, "jitter should spread the delays");
        Assert.Equal(0, harness.Wire.Counters.Reordered);
        harness.AssertNoLeaks();
    }

    [Fact]
    public void Corrupt_OnePercent_FlipsExactlyOneBitInThatManyPackets()
    {
        var harness = new WireHarness(new LinkImpairments { Corrupt = 0.01 }, seed: 11, rxRingCapacity: Packets);

        harness.SendSeries(Packets, length: 200);
        harness.Drain();

        long corrupted = harness.Wire.CountersAToB.Corrupted;
        Assert.InRange(corrupted, 80, 120);
        Assert.Equal(Packets, harness.ReceivedByB.Count);
        int damaged = 0;
        for (int i = 0; i < Packets; i++)
        {
            byte[] expected = WireHarness.Payload(i, i * 10, 200);
            byte[] actual = harness.ReceivedByB[i].Bytes;
            int flippedBits = expected.Zip(actual, (x, y) => System.Numerics.BitOperations.PopCount((uint)(x ^ y))).Sum();
            Assert.InRange(flippedBits, 0, 1);
            damaged += flippedBits;
        }

        Assert.Equal(corrupted, damaged);
        harness.AssertNoLeaks();
    }

    [Fact]
    public void Rate_QueuesPacketsBehindEachOtherAndDropsWhatOverflowsTheQueue()
    {
        // 8 Mbit/s = 1 byte per µs: a 1000-byte packet takes exactly 1 ms; the queue holds 10 of them.
        var impairments = new LinkImpairments { RateBitsPerSecond = 8_000_000, QueueLimitBytes = 10_000, Delay = TimeSpan.FromMilliseconds(2) };
        var harness = new WireHarness(impairments);
        SimulatedWire wire = harness.Wire;

        for (int i = 0; i < 20; i++)
        {
            harness.Send(wire.A, i, 1000, Instant.Zero);
        }

        Assert.Equal(10, wire.A.Counters.TxQueueDrops);
        Assert.Equal(10, wire.CountersAToB.QueueDrops);
        Assert.Equal(10, wire.A.Counters.TxPackets);

        // At 4.5 ms four packets have left the queue, so four more fit, then the fifth is dropped.
        for (int i = 20; i < 25; i++)
        {
            harness.Send(wire.A, i, 1000, new Instant(4_500));
        }

        Assert.Equal(11, wire.A.Counters.TxQueueDrops);
        harness.Drain();

        Assert.Equal(Enumerable.Range(0, 10).Concat(Enumerable.Range(20, 4)), harness.ReceivedByB.Select(p => p.Id));
        // Packet k (0-based on the line) finishes serializing at (k + 1) ms and arrives 2 ms later.
        Assert.Equal(Enumerable.Range(0, 14).Select(k => (long)(k + 1) * 1000 + 2000), harness.ReceivedByB.Select(p => p.ArrivalUs));
        harness.AssertNoLeaks();
    }

    [Fact]
    public void Rate_SustainedLoad_DeliversAtTheLineRate()
    {
        // 10 Mbit/s, 1250-byte packets = 1 ms each; offered at twice the rate for one second.
        var impairments = new LinkImpairments { RateBitsPerSecond = 10_000_000, QueueLimitBytes = 12_500 };
        var harness = new WireHarness(impairments, rxRingCapacity: 4096);

        harness.SendSeries(2000, length: 1250, spacingUs: 500);
        harness.Drain();

        Assert.InRange(harness.ReceivedByB.Count, 1000, 1011);   // one second of line time, plus the queue
        Assert.Equal(2000 - harness.ReceivedByB.Count, harness.Wire.A.Counters.TxQueueDrops);
        long[] gaps = harness.ReceivedByB.Zip(harness.ReceivedByB.Skip(1), (a, b) => b.ArrivalUs - a.ArrivalUs).ToArray();
        Assert.All(gaps.Skip(20), gap => Assert.Equal(1000, gap));
        harness.AssertNoLeaks();
    }

    [Fact]
    public void Mtu_PacketOverIt_IsDroppedAndCountedAsTxDropped()
    {
        var harness = new WireHarness(new LinkImpairments { Mtu = 1280 }, bToA: new LinkImpairments { Mtu = 9000 });
        SimulatedWire wire = harness.Wire;

        harness.Send(wire.A, 1, 1280, Instant.Zero);
        harness.Send(wire.A, 2, 1281, Instant.Zero);
        harness.Send(wire.B, 3, 9000, Instant.Zero);
        harness.Drain();

        Assert.Equal(1280, wire.A.Mtu);
        Assert.Equal(9000, wire.B.Mtu);
        Assert.Equal(1, wire.A.Counters.TxDropped);
        Assert.Equal(1, wire.A.Counters.TxPackets);
        Assert.Equal(1280, wire.A.Counters.TxBytes);
        Assert.Equal(0, wire.B.Counters.TxDropped);
        Assert.Equal([1], harness.ReceivedByB.Select(p => p.Id));
        Assert.Equal([3], harness.ReceivedByA.Select(p => p.Id));
        harness.AssertNoLeaks();
    }
}
