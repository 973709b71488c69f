using Wirestack.Buffers;
using Wirestack.Links;
using Wirestack.Time;

namespace Wirestack.Tests.Links;

public sealed class LoopbackLinkTests
{
    private readonly PacketBufferPool _pool = new(new MemoryBudget(1024 * 1024));

    [Fact]
    public void Transmit_ThenTryReceive_ReturnsTheSameBufferWithoutACopy()
    {
        var lo = new LoopbackLink();
        PacketBuffer sent = Packet(100);

        lo.Transmit(sent, new Instant(7));

        Assert.Equal(Instant.FromMilliseconds(0) + TimeSpan.FromMicroseconds(7), lo.PollAt);
        Assert.True(lo.TryReceive(new Instant(8), out PacketBuffer? received));
        Assert.Same(sent, received);
        Assert.Equal(7, received.Timestamp);
        Assert.Null(lo.PollAt);
        Assert.False(lo.TryReceive(new Instant(9), out _));
        received.Dispose();
        Assert.Equal(1, lo.Counters.TxPackets);
        Assert.Equal(100, lo.Counters.TxBytes);
        Assert.Equal(1, lo.Counters.RxPackets);
        Assert.Equal(100, lo.Counters.RxBytes);
        Assert.Equal(0, _pool.LeasedCount);
    }

    [Fact]
    public void Defaults_AreLoIpMediumMtu65535()
    {
        var lo = new LoopbackLink();

        Assert.Equal("lo", lo.Name);
        Assert.Equal(LinkMedium.Ip, lo.Medium);
        Assert.Equal(65535, lo.Mtu);
        Assert.Equal(1200, new LoopbackLink(mtu: 1200).Mtu);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LoopbackLink(mtu: 67));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LoopbackLink(queueCapacity: 0));
    }

    [Fact]
    public void Transmit_OverMtu_DropsAndCountsTxDropped()
    {
        var lo = new LoopbackLink(mtu: 576);

        lo.Transmit(Packet(577), Instant.Zero);
        lo.Transmit(Packet(576), Instant.Zero);

        Assert.Equal(1, lo.Counters.TxDropped);
        Assert.Equal(1, lo.Count);
        Assert.True(lo.TryReceive(Instant.Zero, out PacketBuffer? packet));
        Assert.Equal(576, packet.Length);
        packet.Dispose();
        Assert.Equal(0, _pool.LeasedCount);
    }

    [Fact]
    public void Transmit_QueueFull_DropsAndCountsOverflow()
    {
        var lo = new LoopbackLink(queueCapacity: 3);

        for (int i = 1; i <= 5; i++)
        {
            lo.Transmit(Packet(i * 10), new Instant(i));
        }

        Assert.Equal(3, lo.Count);
        Assert.Equal(5, lo.Counters.TxPackets);
        Assert.Equal(3, lo.Counters.RxPackets);
        Assert.Equal(2, lo.Counters.RxMissed);
        Assert.Equal(2, lo.Counters.RxFifoErrors);
        for (int i = 1; i <= 3; i++)
        {
            Assert.True(lo.TryReceive(Instant.Zero, out PacketBuffer? packet));
            Assert.Equal(i * 10, packet.Length);
            packet.Dispose();
        }

        Assert.Equal(0, _pool.LeasedCount);
        Assert.Equal(0, _pool.Budget.InUse);
    }

    private PacketBuffer Packet(int length)
    {
        Assert.True(_pool.TryRent(length, BudgetCause.PacketTx, out PacketBuffer? packet));
        packet.Append(length);
        return packet;
    }
}
