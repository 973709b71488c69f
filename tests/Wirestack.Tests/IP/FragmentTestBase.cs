using Wirestack.Buffers;
using Wirestack.IP;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tests.IP;

/// <summary>
/// A pool and budget per test, and builders for fragments as raw bytes. Disposal checks that every test gave every
/// buffer back and left the budget at zero.
/// </summary>
public abstract class FragmentTestBase : IDisposable
{
    protected static readonly IPv4Address Source = new(192, 0, 2, 1);
    protected static readonly IPv4Address Destination = new(198, 51, 100, 7);

    protected FragmentTestBase(long budgetBytes = 256L * 1024 * 1024)
    {
        Budget = new MemoryBudget(budgetBytes);
        Pool = new PacketBufferPool(Budget);
    }

    protected MemoryBudget Budget { get; }

    protected PacketBufferPool Pool { get; }

    public void Dispose()
    {
        Assert.Equal(0, Pool.LeasedCount);
        Assert.Equal(0, Budget.InUse);
        GC.SuppressFinalize(this);
    }

    protected static void AssertAllReturned(PacketBufferPool pool)
    {
        Assert.Equal(0, pool.LeasedCount);
        Assert.Equal(0, pool.Budget.InUse);
    }

    protected Reassembler NewReassembler(int maxBytes = Reassembler.DefaultMaxBytes, int maxDatagrams = Reassembler.DefaultMaxDatagrams) =>
        new(Pool, Reassembler.DefaultTimeout, maxBytes, maxDatagrams);

    /// <summary>Bytes 0..length-1 of a seeded pseudo-random pattern (deterministic).</summary>
    protected static byte[] Data(int length, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>One fragment as it would arrive: a 20-octet header (checksum right) and its data.</summary>
    protected static byte[] Fragment(ushort id, int offset, bool more, ReadOnlySpan<byte> data, byte protocol = IPProtocol.Udp,
        IPv4Address? source = null, byte ttl = 64)
    {
        var bytes = new byte[IPv4Header.Length + data.Length];
        var header = new IPv4Header(source ?? Source, Destination, protocol, data.Length, ttl, Tos: 0x10, Identification: id,
            MoreFragments: more, FragmentOffset: offset);
        header.WriteTo(bytes);
        data.CopyTo(bytes.AsSpan(IPv4Header.Length));
        return bytes;
    }

    /// <summary>Fragments <paramref name="data"/> with <see cref="Fragmenter"/> and copies each fragment out.</summary>
    protected List<byte[]> FragmentsOf(ReadOnlySpan<byte> data, int mtu, ushort id = 7, byte protocol = IPProtocol.Udp)
    {
        var header = new IPv4Header(Source, Destination, protocol, data.Length, Ttl: 33, Tos: 0x10, Identification: id);
        var buffers = new List<PacketBuffer>();
        Assert.True(Fragmenter.TryFragment(header, data, mtu, Pool, buffers));
        var fragments = new List<byte[]>(buffers.Count);
        foreach (PacketBuffer buffer in buffers)
        {
            fragments.Add(buffer.Span.ToArray());
            buffer.Dispose();
        }

        return fragments;
    }

    protected static ReassemblyOutcome Add(Reassembler reassembler, byte[] fragment, Instant now, out PacketBuffer? datagram)
    {
        Assert.Equal(HeaderError.None, IPv4Packet.TryCreate(fragment, out IPv4Packet packet));
        return reassembler.Add(packet, now, out datagram);
    }

    /// <summary>Adds a fragment that must not complete anything, and returns the outcome.</summary>
    protected static ReassemblyOutcome Add(Reassembler reassembler, byte[] fragment, Instant now = default)
    {
        ReassemblyOutcome outcome = Add(reassembler, fragment, now, out PacketBuffer? datagram);
        Assert.Null(datagram);
        return outcome;
    }

    /// <summary>Checks a reassembled datagram: a fresh 20-octet header, MF clear, offset 0, right length and
    /// checksum, and the original data. Disposes it.</summary>
    protected static void AssertDatagram(PacketBuffer? datagram, ReadOnlySpan<byte> data, ushort id, byte protocol = IPProtocol.Udp, byte ttl = 33)
    {
        Assert.NotNull(datagram);
        using (datagram)
        {
            Assert.Equal(HeaderError.None, IPv4Packet.TryCreate(datagram.Span, out IPv4Packet packet));
            Assert.Equal(datagram.Length, packet.TotalLength);
            Assert.Equal(IPv4Header.Length, packet.HeaderLength);
            Assert.True(packet.IsChecksumValid);
            Assert.False(packet.MoreFragments);
            Assert.Equal(0, packet.FragmentOffset);
            Assert.False(packet.IsFragment);
            Assert.Equal(IPv4Header.Length + data.Length, packet.TotalLength);
            Assert.Equal(id, packet.Identification);
            Assert.Equal(protocol, packet.Protocol);
            Assert.Equal(ttl, packet.Ttl);
            Assert.Equal(0x10, packet.Tos);
            Assert.Equal(Source, packet.Source);
            Assert.Equal(Destination, packet.Destination);
            Assert.True(packet.Payload.SequenceEqual(data));
        }
    }
}
