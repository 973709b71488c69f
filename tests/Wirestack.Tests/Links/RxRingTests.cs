using Wirestack.Buffers;
using Wirestack.Links;

namespace Wirestack.Tests.Links;

public sealed class RxRingTests
{
    private readonly PacketBufferPool _pool = new(new MemoryBudget(1024 * 1024));

    [Fact]
    public void TryEnqueue_UntilFull_KeepsFifoOrderAndCountsRxPacketsAndBytes()
    {
        var counters = new LinkCounters();
        var ring = new RxRing(4, counters);

        for (int i = 1; i <= 4; i++)
        {
            Assert.True(ring.TryEnqueue(Packet(i)));
        }

        Assert.Equal(4, ring.Count);
        Assert.Equal(4, ring.Capacity);
        Assert.Equal(4, counters.RxPackets);
        Assert.Equal(1 + 2 + 3 + 4, counters.RxBytes);
        for (int i = 1; i <= 4; i++)
        {
            Assert.True(ring.TryDequeue(out PacketBuffer? packet));
            Assert.Equal(i, packet.Length);
            packet.Dispose();
        }

        Assert.False(ring.TryDequeue(out PacketBuffer? none));
        Assert.Null(none);
        Assert.Equal(0, _pool.LeasedCount);
    }

    [Fact]
    public void TryEnqueue_WhenFull_DisposesPacketAndCountsMissedAndFifoErrors()
    {
        var counters = new LinkCounters();
        var ring = new RxRing(2, counters);
        Assert.True(ring.TryEnqueue(Packet(10)));
        Assert.True(ring.TryEnqueue(Packet(20)));

        Assert.False(ring.TryEnqueue(Packet(30)));
        Assert.False(ring.TryEnqueue(Packet(40)));

        Assert.Equal(2, ring.Count);
        Assert.Equal(2, counters.RxPackets);
        Assert.Equal(30, counters.RxBytes);
        Assert.Equal(2, counters.RxMissed);
        Assert.Equal(2, counters.RxFifoErrors);
        Assert.Equal(2, _pool.LeasedCount);   // the two refused packets went back to the pool
        Drain(ring);
        Assert.Equal(0, _pool.LeasedCount);
        Assert.Equal(0, _pool.Budget.InUse);
    }

    [Fact]
    public void Ring_WrapsAroundManyTimes_StaysInOrder()
    {
        var ring = new RxRing(3, new LinkCounters());
        int next = 1;
        for (int round = 0; round < 100; round++)
        {
            Assert.True(ring.TryEnqueue(Packet(1 + (round * 2 % 50))));
            Assert.True(ring.TryEnqueue(Packet(1 + ((round * 2 + 1) % 50))));
            for (int k = 0; k < 2; k++)
            {
                Assert.True(ring.TryDequeue(out PacketBuffer? packet));
                Assert.Equal(1 + ((next - 1) % 50), packet.Length);
                next++;
                packet.Dispose();
            }
        }

        Assert.Equal(0, ring.Count);
    }

    [Fact]
    public void TryPeek_ShowsOldestWithoutTakingIt()
    {
        var ring = new RxRing(2, new LinkCounters());
        Assert.False(ring.TryPeek(out _));
        ring.TryEnqueue(Packet(5));
        ring.TryEnqueue(Packet(6));

        Assert.True(ring.TryPeek(out PacketBuffer? peeked));
        Assert.Equal(5, peeked.Length);
        Assert.Equal(2, ring.Count);
        Drain(ring);
    }

    [Fact]
    public void Constructor_NonPositiveCapacity_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RxRing(0, new LinkCounters()));
    }

    private PacketBuffer Packet(int length)
    {
        Assert.True(_pool.TryRent(length, BudgetCause.PacketRx, out PacketBuffer? packet));
        packet.Append(length).Fill((byte)length);
        return packet;
    }

    private static void Drain(RxRing ring)
    {
        while (ring.TryDequeue(out PacketBuffer? packet))
        {
            packet.Dispose();
        }
    }
}
