using Wirestack.Buffers;
using Wirestack.IP;
using Wirestack.Wire;

namespace Wirestack.Tests.IP;

/// <summary>RFC 791 §3.2, fragmentation procedure.</summary>
public sealed class FragmenterTests : FragmentTestBase
{
    private static IPv4Header Header(int payloadLength, ushort id = 0x1234) =>
        new(Source, Destination, IPProtocol.Udp, payloadLength, Ttl: 33, Tos: 0x10, Identification: id);

    private static List<(int Offset, int Length, bool More)> Describe(List<PacketBuffer> fragments, int mtu, ushort id)
    {
        var described = new List<(int, int, bool)>();
        foreach (PacketBuffer fragment in fragments)
        {
            Assert.True(fragment.Length <= mtu);
            Assert.Equal(HeaderError.None, IPv4Packet.TryCreate(fragment.Span, out IPv4Packet packet));
            Assert.Equal(HeaderError.None, IPv4Header.TryParse(packet, out IPv4Header header));
            Assert.Equal(fragment.Length, packet.TotalLength);
            Assert.Equal(id, header.Identification);
            Assert.Equal(33, header.Ttl);
            Assert.Equal(0x10, header.Tos);
            Assert.Equal(IPProtocol.Udp, header.Protocol);
            Assert.False(header.DontFragment);
            described.Add((header.FragmentOffset, header.PayloadLength, header.MoreFragments));
        }

        return described;
    }

    [Fact]
    [Trait("Rfc", "791 §3.2")]
    public void TryFragment_LargePayload_SplitsIntoEightOctetAlignedFragments()
    {
        byte[] data = Data(2000);
        var output = new List<PacketBuffer>();

        Assert.True(Fragmenter.TryFragment(Header(data.Length), data, 576, Pool, output));

        // (576 - 20) rounded down to 8 octets = 552.
        Assert.Equal([(0, 552, true), (552, 552, true), (1104, 552, true), (1656, 344, false)], Describe(output, 576, 0x1234));
        var joined = output.SelectMany(f => f.Span[IPv4Header.Length..].ToArray()).ToArray();
        Assert.Equal(data, joined);
        output.ForEach(f => f.Dispose());
        AssertAllReturned(Pool);
    }

    [Theory]
    [Trait("Rfc", "791 §3.2")]
    [InlineData(1499, 1472)]
    [InlineData(1500, 1480)]
    [InlineData(68, 48)]
    [InlineData(28, 8)]
    public void TryFragment_MtuNotBlockAligned_RoundsDataDownToEightOctets(int mtu, int perFragment)
    {
        byte[] data = Data(perFragment * 3 + 1);
        var output = new List<PacketBuffer>();

        Assert.True(Fragmenter.TryFragment(Header(data.Length), data, mtu, Pool, output));

        var described = Describe(output, mtu, 0x1234);
        Assert.Equal(4, described.Count);
        Assert.All(described.Take(3), d => Assert.Equal(perFragment, d.Length));
        Assert.Equal((perFragment * 3, 1, false), described[3]);
        output.ForEach(f => f.Dispose());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1480)]
    public void TryFragment_PayloadFits_GivesOneUnfragmentedPacket(int length)
    {
        byte[] data = Data(length);
        var output = new List<PacketBuffer>();

        Assert.True(Fragmenter.TryFragment(Header(length), data, 1500, Pool, output));

        Assert.Equal([(0, length, false)], Describe(output, 1500, 0x1234));
        output.ForEach(f => f.Dispose());
    }

    [Fact]
    [Trait("Rfc", "791 §3.2")]
    public void TryFragment_AFragmentAgain_KeepsItsOffsetAndMoreFragments()
    {
        byte[] data = Data(1480);
        IPv4Header header = Header(data.Length) with { FragmentOffset = 1480, MoreFragments = true };
        var output = new List<PacketBuffer>();

        Assert.True(Fragmenter.TryFragment(header, data, 576, Pool, output));

        Assert.Equal([(1480, 552, true), (2032, 552, true), (2584, 376, true)], Describe(output, 576, 0x1234));
        output.ForEach(f => f.Dispose());
    }

    [Fact]
    public void TryFragment_PoolExhausted_DisposesItsOwnAndKeepsTheRest()
    {
        var budget = new MemoryBudget(2 * (PacketBufferPool.DefaultHeadroom + 552) + 100);
        var pool = new PacketBufferPool(budget);
        Assert.True(pool.TryRent(8, BudgetCause.PacketTx, out PacketBuffer? earlier));
        var output = new List<PacketBuffer> { earlier };
        byte[] data = Data(2000);

        Assert.False(Fragmenter.TryFragment(Header(data.Length), data, 576, pool, output));

        Assert.Same(earlier, Assert.Single(output));
        Assert.Equal(1, pool.LeasedCount);
        earlier.Dispose();
        AssertAllReturned(pool);
        Assert.Equal(1, budget.FailuresFor(BudgetCause.PacketTx));
    }

    [Fact]
    public void TryFragment_BadArguments_Throw()
    {
        var output = new List<PacketBuffer>();
        byte[] data = Data(100);

        Assert.Throws<ArgumentException>(() => Fragmenter.TryFragment(Header(100) with { DontFragment = true }, data, 68, Pool, output));
        Assert.Throws<ArgumentOutOfRangeException>(() => Fragmenter.TryFragment(Header(100), data, 27, Pool, output));
        Assert.Throws<ArgumentException>(() => Fragmenter.TryFragment(Header(100) with { FragmentOffset = 65512 }, data, 1500, Pool, output));
        Assert.Throws<ArgumentException>(() => Fragmenter.TryFragment(Header(65516), new byte[65516], 1500, Pool, output));
        Assert.Empty(output);
    }

    [Fact]
    public void TryFragment_PoolWithoutHeadroom_WritesHeaderInline()
    {
        var pool = new PacketBufferPool(new MemoryBudget(1 << 20), headroom: 0);
        byte[] data = Data(100);
        var output = new List<PacketBuffer>();

        Assert.True(Fragmenter.TryFragment(Header(100), data, 68, pool, output));

        Assert.Equal([(0, 48, true), (48, 48, true), (96, 4, false)], Describe(output, 68, 0x1234));
        output.ForEach(f => f.Dispose());
        AssertAllReturned(pool);
    }
}
