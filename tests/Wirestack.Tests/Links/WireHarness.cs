using System.Buffers.Binary;
using Wirestack.Buffers;
using Wirestack.Links;
using Wirestack.Time;

namespace Wirestack.Tests.Links;

/// <summary>One packet as a port received it.</summary>
internal sealed record ReceivedPacket(int Id, long SentUs, long ArrivalUs, byte[] Bytes)
{
    public long DelayUs => ArrivalUs - SentUs;
}

/// <summary>
/// Drives a <see cref="SimulatedWire"/> the way a simulator would: sends numbered packets from a pool of its own
/// (bytes 0..3 = id, 4..11 = send time in µs, then a pattern), jumps from one <see cref="SimulatedWire.NextDeliveryAt"/>
/// to the next, and collects what each port receives.
/// </summary>
internal sealed class WireHarness
{
    public const int HeaderLength = 12;

    public WireHarness(LinkImpairments aToB, int seed = 1, LinkImpairments? bToA = null, int rxRingCapacity = 1024, long memoryLimitBytes = SimulatedWire.DefaultMemoryLimitBytes)
    {
        Wire = new SimulatedWire(new Random(seed), aToB, bToA ?? LinkImpairments.None, rxRingCapacity, "test", memoryLimitBytes);
    }

    public SimulatedWire Wire { get; }

    /// <summary>The senders' pool: its buffers must all come back too.</summary>
    public PacketBufferPool SenderPool { get; } = new(new MemoryBudget(64L * 1024 * 1024));

    public List<ReceivedPacket> ReceivedByA { get; } = [];

    public List<ReceivedPacket> ReceivedByB { get; } = [];

    public static byte[] Payload(int id, long sentUs, int length)
    {
        byte[] bytes = new byte[length];
        if (length >= HeaderLength)
        {
            BinaryPrimitives.WriteInt32BigEndian(bytes, id);
            BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(4), sentUs);
        }

        for (int i = Math.Min(HeaderLength, length); i < length; i++)
        {
            bytes[i] = (byte)(id * 31 + i);
        }

        return bytes;
    }

    public PacketBuffer Rent(ReadOnlySpan<byte> bytes)
    {
        Assert.True(SenderPool.TryRent(bytes.Length, BudgetCause.PacketTx, out PacketBuffer? packet));
        bytes.CopyTo(packet.Append(bytes.Length));
        return packet;
    }

    public void Send(SimulatedPort from, int id, int length, Instant now) => from.Transmit(Rent(Payload(id, now.Microseconds, length)), now);

    /// <summary>Sends <paramref name="count"/> packets A → B, one every <paramref name="spacingUs"/> from t = 0.</summary>
    public void SendSeries(int count, int length = 100, long spacingUs = 10)
    {
        for (int i = 0; i < count; i++)
        {
            Send(Wire.A, i, length, new Instant(i * spacingUs));
        }
    }

    /// <summary>Runs the wire until nothing is in flight, receiving at every delivery time.</summary>
    public void Drain()
    {
        while (Wire.NextDeliveryAt is Instant next)
        {
            Wire.DeliverDue(next);
            ReceiveAll(next);
        }

        ReceiveAll(Instant.MaxValue);
    }

    public void ReceiveAll(Instant now)
    {
        Collect(Wire.A, now, ReceivedByA);
        Collect(Wire.B, now, ReceivedByB);
    }

    public void AssertNoLeaks()
    {
        Assert.Equal(0, Wire.InFlightCount);
        Assert.Equal(0, Wire.Pool.LeasedCount);
        Assert.Equal(0, Wire.Pool.Budget.InUse);
        Assert.Equal(0, SenderPool.LeasedCount);
        Assert.Equal(0, SenderPool.Budget.InUse);
    }

    private static void Collect(SimulatedPort port, Instant now, List<ReceivedPacket> into)
    {
        while (port.TryReceive(now, out PacketBuffer? packet))
        {
            using (packet)
            {
                byte[] bytes = packet.Span.ToArray();
                int id = bytes.Length >= HeaderLength ? BinaryPrimitives.ReadInt32BigEndian(bytes) : -1;
                long sentUs = bytes.Length >= HeaderLength ? BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(4)) : 0;
                into.Add(new ReceivedPacket(id, sentUs, packet.Timestamp, bytes));
            }
        }
    }
}
