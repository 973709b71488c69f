using Wirestack.Buffers;
using Wirestack.Links;
using Wirestack.Time;

namespace Wirestack.Tests.Links;

/// <summary><see cref="PacketBuffer.ChecksumTrusted"/> (Linux's CHECKSUM_UNNECESSARY): kept by a wire that hands the
/// bytes over unchanged, cleared on a packet the wire corrupts, never set on a buffer that was just rented.</summary>
public sealed class ChecksumTrustTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void CleanWire_KeepsTheMark_CopiedOrHandedOver(bool copyPackets)
    {
        var wire = new SimulatedWire(new Random(1), LinkImpairments.None, LinkImpairments.None) { CopyPackets = copyPackets };

        Assert.True(Send(wire, trusted: true).ChecksumTrusted);
        Assert.False(Send(wire, trusted: false).ChecksumTrusted);
    }

    [Fact]
    public void CorruptingWire_ClearsTheMark_SoTheReceiverVerifies()
    {
        var wire = new SimulatedWire(new Random(2), new LinkImpairments { Corrupt = 1.0 }, LinkImpairments.None);

        PacketBuffer received = Send(wire, trusted: true);

        Assert.False(received.ChecksumTrusted);
        Assert.Equal(1, wire.Counters.Corrupted);
    }

    [Fact]
    public void DuplicatedPacket_TwinCarriesTheSameMark()
    {
        var wire = new SimulatedWire(new Random(3), new LinkImpairments { Duplicate = 1.0 }, LinkImpairments.None);
        wire.A.Transmit(Packet(wire.Pool, trusted: true), Instant.Zero);
        wire.DeliverDue(Instant.Zero);

        Assert.True(wire.B.TryReceive(Instant.Zero, out PacketBuffer? first));
        Assert.True(wire.B.TryReceive(Instant.Zero, out PacketBuffer? twin));
        Assert.True(first.ChecksumTrusted);
        Assert.True(twin.ChecksumTrusted);
    }

    [Fact]
    public void RentedBuffer_IsNotTrusted_EvenWhenItsLastHolderWas()
    {
        var pool = new PacketBufferPool(new MemoryBudget(1 << 20));
        PacketBuffer first = Packet(pool, trusted: true);
        first.Dispose();

        Assert.True(pool.TryRent(64, BudgetCause.PacketRx, out PacketBuffer? again));
        Assert.False(again.ChecksumTrusted);
        again.Dispose();
    }

    private static PacketBuffer Send(SimulatedWire wire, bool trusted)
    {
        wire.A.Transmit(Packet(wire.Pool, trusted), Instant.Zero);
        wire.DeliverDue(Instant.Zero);
        Assert.True(wire.B.TryReceive(Instant.Zero, out PacketBuffer? received));
        return received;
    }

    private static PacketBuffer Packet(PacketBufferPool pool, bool trusted)
    {
        Assert.True(pool.TryRent(64, BudgetCause.PacketTx, out PacketBuffer? packet));
        byte[] bytes = TestPackets.Udp(64);
        bytes.CopyTo(packet.Append(bytes.Length));
        packet.ChecksumTrusted = trusted;
        return packet;
    }
}
