using Wirestack.Buffers;
using Wirestack.Links;
using Wirestack.Time;

using Wirestack.Tests.Support;

namespace Wirestack.Tests.Links;

public sealed class SimulatedWireTests
{
    private static readonly LinkImpairments s_everything = new()
    {
        Loss = 0.05,
        Duplicate = 0.03,
        Reorder = 0.05,
        Corrupt = 0.02,
        Delay = TimeSpan.FromMilliseconds(10),
        Jitter = TimeSpan.FromMilliseconds(2),
        RateBitsPerSecond = 100_000_000,
        QueueLimitBytes = 32 * 1024,
    };

    [Fact]
    public void PerfectWire_DeliversEveryPacketIntactInOrderAtOnce()
    {
        var harness = new WireHarness(LinkImpairments.None);
        SimulatedWire wire = harness.Wire;

        harness.SendSeries(100, length: 300);
        harness.Send(wire.B, 7, 40, new Instant(5));
        harness.Drain();

        Assert.Equal(Enumerable.Range(0, 100), harness.ReceivedByB.Select(p => p.Id));
        Assert.All(harness.ReceivedByB, p => Assert.Equal(WireHarness.Payload(p.Id, p.SentUs, 300), p.Bytes));
        Assert.All(harness.ReceivedByB, p => Assert.Equal(0, p.DelayUs));
        Assert.Equal(7, Assert.Single(harness.ReceivedByA).Id);
        Assert.Equal(100, wire.A.Counters.TxPackets);
        Assert.Equal(30_000, wire.A.Counters.TxBytes);
        Assert.Equal(100, wire.B.Counters.RxPackets);
        Assert.Equal(30_000, wire.B.Counters.RxBytes);
        Assert.Equal(1, wire.A.Counters.RxPackets);
        Assert.Equal(101, wire.Counters.Delivered);
        Assert.Equal(100, wire.CountersAToB.Delivered);
        Assert.Equal(1, wire.CountersBToA.Delivered);
        harness.AssertNoLeaks();
    }

    [Fact]
    public void Ports_AreIpMediumDevicesNamedAfterTheWire()
    {
        var wire = new SimulatedWire(new Random(1), LinkImpairments.None, LinkImpairments.None, name: "eth");

        Assert.Equal("eth.a", wire.A.Name);
        Assert.Equal("eth.b", wire.B.Name);
        Assert.Equal(LinkMedium.Ip, wire.A.Medium);
        Assert.Equal(1500, wire.B.Mtu);
        Assert.Same(wire, wire.A.Wire);
        Assert.Equal(256, wire.A.RxRing.Capacity);
        Assert.Null(wire.NextDeliveryAt);
    }

    [Fact]
    public void Transmit_DisposesTheCallersBufferAtOnce()
    {
        var harness = new WireHarness(new LinkImpairments { Delay = TimeSpan.FromSeconds(1) });

        harness.Send(harness.Wire.A, 1, 100, Instant.Zero);

        Assert.Equal(0, harness.SenderPool.LeasedCount);
        Assert.Equal(1, harness.Wire.Pool.LeasedCount);
        harness.Drain();
        harness.AssertNoLeaks();
    }

    [Fact]
    public void Determinism_SameSeedAndTraffic_DeliverByteIdenticalSequencesAtIdenticalTimes()
    {
        List<(long At, byte[] Bytes)> first = RunEverything(seed: 2024, out List<ReceivedPacket> firstB, out List<ReceivedPacket> firstA);
        List<(long At, byte[] Bytes)> second = RunEverything(seed: 2024, out List<ReceivedPacket> secondB, out List<ReceivedPacket> secondA);
        List<(long At, byte[] Bytes)> other = RunEverything(seed: 2025, out _, out _);

        Assert.True(first.Count > 1000);
        Assert.Equal(first.Count, second.Count);
        for (int i = 0; i < first.Count; i++)
        {
            Assert.Equal(first[i].At, second[i].At);
            Assert.Equal(first[i].Bytes, second[i].Bytes);
        }

        Assert.Equal(firstB, secondB, ReceivedEquals);
        Assert.Equal(firstA, secondA, ReceivedEquals);
        Assert.False(first.Count == other.Count && first.Zip(other).All(pair => pair.First.At == pair.Second.At && pair.First.Bytes.SequenceEqual(pair.Second.Bytes)),
            "a different seed should give a different outcome");
    }

    [Fact]
    public void AllImpairments_AfterDraining_EveryBufferIsBackAndTheBudgetsAreEmpty()
    {
        var harness = new WireHarness(s_everything, seed: 5, bToA: s_everything, rxRingCapacity: 64);
        SimulatedWire wire = harness.Wire;

        for (int i = 0; i < 3000; i++)
        {
            var now = new Instant(i * 20);
            harness.Send(i % 3 == 0 ? wire.B : wire.A, i, 64 + (i % 1400), now);
            if (i % 7 == 0)
            {
                wire.DeliverDue(now);
                harness.ReceiveAll(now);
            }
        }

        harness.Drain();

        WireCounters total = wire.Counters;
        Assert.Equal(total.Sent + total.Duplicated, total.Lost + total.Delivered);
        Assert.Equal(total.Delivered, wire.A.Counters.RxPackets + wire.A.Counters.RxMissed + wire.B.Counters.RxPackets + wire.B.Counters.RxMissed);
        Assert.Equal(3000, total.Sent + total.QueueDrops + wire.A.Counters.TxDropped + wire.B.Counters.TxDropped);
        Assert.True(total.Lost > 0 && total.Duplicated > 0 && total.Reordered > 0 && total.Corrupted > 0);
        harness.AssertNoLeaks();
    }

    [Fact]
    public void PortRxRing_Overflow_IsCountedAsMissedAndTheBuffersGoBack()
    {
        var harness = new WireHarness(LinkImpairments.None, rxRingCapacity: 4);
        SimulatedWire wire = harness.Wire;
        for (int i = 0; i < 10; i++)
        {
            harness.Send(wire.A, i, 100, Instant.Zero);
        }

        wire.DeliverDue(Instant.Zero);

        Assert.Equal(4, wire.B.RxRing.Count);
        Assert.Equal(6, wire.B.Counters.RxMissed);
        Assert.Equal(6, wire.B.Counters.RxFifoErrors);
        Assert.Equal(4, wire.B.Counters.RxPackets);
        Assert.Equal(10, wire.Counters.Delivered);
        Assert.Equal(4, wire.Pool.LeasedCount);
        harness.Drain();
        Assert.Equal([0, 1, 2, 3], harness.ReceivedByB.Select(p => p.Id));
        harness.AssertNoLeaks();
    }

    [Fact]
    public void WireBudget_WhenSpent_DropsAndCountsInsteadOfFailing()
    {
        // Each 1000-byte packet is charged 160 B headroom + 1000 B; 4 KiB holds three of them.
        var harness = new WireHarness(new LinkImpairments { Delay = TimeSpan.FromMilliseconds(1) }, memoryLimitBytes: 4096);
        SimulatedWire wire = harness.Wire;

        for (int i = 0; i < 5; i++)
        {
            harness.Send(wire.A, i, 1000, Instant.Zero);
        }

        Assert.Equal(3, wire.A.Counters.TxPackets);
        Assert.Equal(2, wire.A.Counters.TxDropped);
        Assert.Equal(2, wire.CountersAToB.NoBufferDrops);
        Assert.Equal(2, wire.Pool.Budget.Failures);
        harness.Drain();
        harness.Send(wire.A, 9, 1000, new Instant(5000));
        harness.Drain();
        Assert.Equal([0, 1, 2, 9], harness.ReceivedByB.Select(p => p.Id));
        harness.AssertNoLeaks();
    }

    [Fact]
    public void DeliverDue_BothDirections_TapSeesPacketsInArrivalThenSendOrder()
    {
        var wire = new SimulatedWire(new Random(1), new LinkImpairments { Delay = TimeSpan.FromMilliseconds(2) }, new LinkImpairments { Delay = TimeSpan.FromMilliseconds(1) });
        var seen = new List<(long At, byte First)>();
        wire.Tap = (bytes, at) => seen.Add((at.Microseconds, bytes[0]));

        wire.A.Transmit(PacketBuffer.FromBytes([1]), Instant.Zero);                     // arrives at 2 ms
        wire.B.Transmit(PacketBuffer.FromBytes([2]), Instant.Zero);                     // arrives at 1 ms
        wire.B.Transmit(PacketBuffer.FromBytes([3]), Instant.FromMilliseconds(1));      // arrives at 2 ms, sent after 1
        wire.A.Transmit(PacketBuffer.FromBytes([4]), Instant.FromMilliseconds(5));      // arrives at 7 ms

        Assert.Equal(Instant.FromMilliseconds(1), wire.NextDeliveryAt);
        wire.DeliverDue(Instant.FromMilliseconds(6));

        Assert.Equal([(1000L, (byte)2), (2000L, (byte)1), (2000L, (byte)3)], seen);
        Assert.Equal(Instant.FromMilliseconds(7), wire.NextDeliveryAt);
        Assert.True(wire.B.TryReceive(Instant.FromMilliseconds(6), out PacketBuffer? atB));
        Assert.Equal(2000, atB.Timestamp);
        atB.Dispose();
        Assert.Equal(Instant.FromMilliseconds(7), wire.B.PollAt);
        Assert.Equal(Instant.FromMilliseconds(1), wire.A.PollAt);   // two packets wait in A's ring since 1 ms
        wire.DeliverDue(Instant.MaxValue);
        Assert.Equal(4, seen.Count);
        DrainPort(wire.A);
        DrainPort(wire.B);
        Assert.Equal(0, wire.Pool.LeasedCount);
    }

    [Fact]
    public void TryReceive_BringsInItsOwnDuePacketsWithoutDeliverDue()
    {
        var wire = new SimulatedWire(new Random(1), new LinkImpairments { Delay = TimeSpan.FromMilliseconds(1) }, LinkImpairments.None);
        wire.A.Transmit(PacketBuffer.FromBytes([42]), Instant.Zero);

        Assert.False(wire.B.TryReceive(new Instant(999), out _));
        Assert.True(wire.B.TryReceive(new Instant(1000), out PacketBuffer? packet));

        Assert.Equal(42, packet.Span[0]);
        packet.Dispose();
        Assert.Equal(0, wire.Pool.LeasedCount);
    }

    [Fact]
    public void SteadyState_SendAndReceive_AllocatesNothing()
    {
        var harness = new WireHarness(s_everything with { Duplicate = 0.01 }, seed: 8);
        SimulatedWire wire = harness.Wire;
        byte[] payload = WireHarness.Payload(1, 0, 1000);
        long t = 0;
        void Run(int packets)
        {
            for (int i = 0; i < packets; i++, t += 100)
            {
                var now = new Instant(t);
                Assert.True(harness.SenderPool.TryRent(payload.Length, BudgetCause.PacketTx, out PacketBuffer? packet));
                payload.CopyTo(packet.Append(payload.Length));
                wire.A.Transmit(packet, now);
                wire.DeliverDue(now);
                while (wire.B.TryReceive(now, out PacketBuffer? received))
                {
                    received.Dispose();
                }
            }
        }

        Run(5000);   // warm up: pools, arrays and the JIT settle
        long allocated = Allocation.Least(() => Run(5000));

        Assert.Equal(0, allocated);
        harness.Drain();
        harness.AssertNoLeaks();
    }

    private static List<(long At, byte[] Bytes)> RunEverything(int seed, out List<ReceivedPacket> receivedByB, out List<ReceivedPacket> receivedByA)
    {
        var harness = new WireHarness(s_everything, seed, bToA: s_everything with { Loss = 0.2 }, rxRingCapacity: 128);
        var tapped = new List<(long, byte[])>();
        harness.Wire.Tap = (bytes, at) => tapped.Add((at.Microseconds, bytes.ToArray()));
        for (int i = 0; i < 2000; i++)
        {
            var now = new Instant(i * 50);
            harness.Send(i % 4 == 0 ? harness.Wire.B : harness.Wire.A, i, 40 + (i * 37 % 1460), now);
            if (i % 10 == 0)
            {
                harness.Wire.DeliverDue(now);
                harness.ReceiveAll(now);
            }
        }

        harness.Drain();
        harness.AssertNoLeaks();
        receivedByB = harness.ReceivedByB;
        receivedByA = harness.ReceivedByA;
        return tapped;
    }

    private static bool ReceivedEquals(ReceivedPacket x, ReceivedPacket y) =>
        x.Id == y.Id && x.ArrivalUs == y.ArrivalUs && x.Bytes.AsSpan().SequenceEqual(y.Bytes);

    private static void DrainPort(SimulatedPort port)
    {
        while (port.TryReceive(Instant.MaxValue, out PacketBuffer? packet))
        {
            packet.Dispose();
        }
    }
}
