using System.Buffers.Binary;
using Wirestack.Buffers;
using Wirestack.IP;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tests.IP;

/// <summary>Seeded random input: the reassembler never throws, never exceeds its bounds, and never hands back a
/// malformed datagram.</summary>
public sealed class ReassemblerFuzzTests : FragmentTestBase
{
    private static readonly byte[] Protocols = [IPProtocol.Icmp, IPProtocol.Tcp, IPProtocol.Udp, 50];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Add_SeededRandomFragments_NeverThrowsAndStaysBounded(int seed)
    {
        const int maxBytes = 256 * 1024;
        const int maxDatagrams = 16;
        var random = new Random(seed);
        var reassembler = new Reassembler(Pool, TimeSpan.FromSeconds(2), maxBytes, maxDatagrams);
        var seen = new Dictionary<ReassemblyOutcome, int>();
        for (int i = 0; i < 20_000; i++)
        {
            Instant now = Instant.FromMilliseconds(i);
            if (i % 100 == 0)
            {
                reassembler.Expire(now);
            }

            byte[] bytes = random.Next(4) == 0 ? RandomHeader(random) : PlausibleFragment(random);
            if (IPv4Packet.TryCreate(bytes, out IPv4Packet packet) != HeaderError.None)
            {
                continue;
            }

            ReassemblyOutcome outcome = reassembler.Add(packet, now, out PacketBuffer? datagram);
            seen[outcome] = seen.GetValueOrDefault(outcome) + 1;
            Assert.Equal(outcome == ReassemblyOutcome.Complete, datagram is not null);
            if (datagram is not null)
            {
                AssertWellFormed(datagram);
                datagram.Dispose();
            }

            Assert.True(reassembler.DatagramCount <= maxDatagrams);
            Assert.True(reassembler.BytesHeld <= maxBytes);
            Assert.Equal(reassembler.BytesHeld, Budget.InUseFor(BudgetCause.Reassembly));
        }

        reassembler.Expire(Instant.FromSeconds(1000));
        Assert.Equal(0, reassembler.DatagramCount);
        Assert.True(seen.GetValueOrDefault(ReassemblyOutcome.Complete) > 0);
        Assert.True(seen.GetValueOrDefault(ReassemblyOutcome.DroppedOverlap) > 0);
        Assert.True(seen.GetValueOrDefault(ReassemblyOutcome.DroppedBadFragment) > 0);
    }

    private static void AssertWellFormed(PacketBuffer datagram)
    {
        Assert.Equal(HeaderError.None, IPv4Packet.TryCreate(datagram.Span, out IPv4Packet packet));
        Assert.Equal(datagram.Length, packet.TotalLength);
        Assert.True(packet.IsChecksumValid);
        Assert.False(packet.IsFragment);
    }

    /// <summary>Small ids and offsets, so fragments collide, overlap and sometimes complete.</summary>
    private static byte[] PlausibleFragment(Random random)
    {
        var id = (ushort)random.Next(0, 6);
        int offset = 8 * random.Next(0, 8);
        bool more = random.Next(3) != 0;
        int length = random.Next(8) == 0 ? random.Next(0, 40) : 8 * random.Next(1, 5);
        byte protocol = Protocols[random.Next(Protocols.Length)];
        byte[] data = new byte[length];
        data.AsSpan().Fill((byte)(id + offset));   // same range, same bytes: duplicates are exact
        return Fragment(id, offset, more, data, protocol);
    }

    /// <summary>A random IPv4 header (any IHL, flags, offset, protocol) with random data; checksum not fixed.</summary>
    private static byte[] RandomHeader(Random random)
    {
        var bytes = new byte[random.Next(20, 200)];
        random.NextBytes(bytes);
        bytes[0] = (byte)(0x40 | random.Next(5, 16));
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), (ushort)bytes.Length);
        if (random.Next(2) == 0)
        {
            // Mostly end of option list, so that some of these pass the view's option check.
            bytes.AsSpan(20, Math.Min(bytes.Length, (bytes[0] & 0x0F) * 4) - 20).Clear();
        }

        return bytes;
    }
}
