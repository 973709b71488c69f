using Wirestack.Buffers;
using Wirestack.IP;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tests.IP;

/// <summary>RFC 791 §3.2: whatever order fragments arrive in, reassembly gives back the datagram that was fragmented.</summary>
public sealed class ReassemblerRoundTripTests : FragmentTestBase
{
    public enum Order
    {
        InOrder,
        Reverse,
        Shuffled,
    }

    public static TheoryData<int, int, Order> Sizes()
    {
        var data = new TheoryData<int, int, Order>();
        int[] sizes = [1, 7, 8, 9, 16, 100, 1472, 1479, 1480, 1481, 2959, 2960, 2961, 4440, 8192, 9000, 32768, 44400, 65000, 65512, 65513, 65515];
        foreach (int size in sizes)
        {
            foreach (Order order in Enum.GetValues<Order>())
            {
                data.Add(size, 1500, order);
            }
        }

        // Small MTUs: many small fragments, exact multiples of the block size, one octet either side.
        foreach (int size in new[] { 8, 48, 49, 96, 552, 553, 576, 1103, 1104, 2000 })
        {
            data.Add(size, 68, Order.Shuffled);
            data.Add(size, 576, Order.Reverse);
        }

        data.Add(64, 28, Order.Shuffled);
        return data;
    }

    [Theory]
    [Trait("Rfc", "791 §3.2")]
    [MemberData(nameof(Sizes))]
    public void FragmentThenReassemble_AnyOrder_GivesTheDatagramBack(int size, int mtu, Order order)
    {
        byte[] data = Data(size, seed: size);
        List<byte[]> fragments = FragmentsOf(data, mtu, id: (ushort)size);
        Reassembler reassembler = NewReassembler();
        if (order == Order.Reverse)
        {
            fragments.Reverse();
        }
        else if (order == Order.Shuffled)
        {
            Shuffle(fragments, new Random(size * 31 + mtu));
        }

        PacketBuffer? datagram = FeedAll(reassembler, fragments, Instant.Zero);

        AssertDatagram(datagram, data, (ushort)size);
        Assert.Equal(0, reassembler.DatagramCount);
        Assert.Equal(0, reassembler.BytesHeld);
        Assert.Null(reassembler.NextExpiry);
        Assert.Equal(1, reassembler.Reassembled);
    }

    [Theory]
    [Trait("Rfc", "791 §3.2")]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void FragmentThenReassemble_RandomSizesShuffledWithDuplicates_GivesTheDatagramBack(int seed)
    {
        var random = new Random(seed);
        Reassembler reassembler = NewReassembler();
        for (int round = 0; round < 40; round++)
        {
            int size = random.Next(1, Reassembler.MaxDataLength + 1);
            int mtu = random.Next(0, 3) switch { 0 => 1500, 1 => 1280, _ => 9000 };
            byte[] data = Data(size, seed: seed * 1000 + round);
            var id = (ushort)random.Next(0, 65536);
            List<byte[]> fragments = FragmentsOf(data, mtu, id);
            Shuffle(fragments, random);
            int duplicates = WithDuplicates(fragments, random);
            long duplicatesBefore = reassembler.Duplicates;

            PacketBuffer? datagram = FeedAll(reassembler, fragments, Instant.FromSeconds(round));

            AssertDatagram(datagram, data, id);
            Assert.Equal(0, reassembler.DatagramCount);
            Assert.Equal(duplicates, reassembler.Duplicates - duplicatesBefore);
        }

        Assert.Equal(0, reassembler.BytesHeld);
    }

    [Fact]
    [Trait("Rfc", "791 §3.2")]
    public void FragmentThenReassemble_ManyTinyFragmentsAboveTheDefaultCap_WorksWhenTheCapIsRaised()
    {
        // 65515 octets at the minimum MTU of 68 are 1365 fragments of 48 octets.
        byte[] data = Data(Reassembler.MaxDataLength);
        List<byte[]> fragments = FragmentsOf(data, 68, id: 99, protocol: IPProtocol.Tcp);
        Shuffle(fragments, new Random(68));
        Reassembler reassembler = NewReassembler();
        reassembler.MaxFragmentsPerDatagram = 2000;

        PacketBuffer? datagram = FeedAll(reassembler, fragments, Instant.Zero);

        Assert.Equal(1365, fragments.Count);
        AssertDatagram(datagram, data, 99, IPProtocol.Tcp);
    }

    [Fact]
    [Trait("Rfc", "791 §3.2")]
    public void Interleaved_DatagramsWithDifferentKeys_AreKeptApart()
    {
        // RFC 791 §3.2: fragments belong together when source, destination, protocol and identification match.
        byte[] udp = Data(3000, 1);
        byte[] tcp = Data(3000, 2);
        byte[] other = Data(3000, 3);
        List<byte[]> a = FragmentsOf(udp, 1500, id: 5);
        List<byte[]> b = FragmentsOf(tcp, 1500, id: 5, protocol: IPProtocol.Tcp);
        List<byte[]> c = FragmentsOf(other, 1500, id: 6);
        Reassembler reassembler = NewReassembler();

        for (int i = 0; i < a.Count - 1; i++)
        {
            Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, a[i]));
            Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, b[i]));
            Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, c[i]));
        }

        Assert.Equal(3, reassembler.DatagramCount);
        Assert.Equal(ReassemblyOutcome.Complete, Add(reassembler, b[^1], Instant.Zero, out PacketBuffer? fromB));
        AssertDatagram(fromB, tcp, 5, IPProtocol.Tcp);
        Assert.Equal(ReassemblyOutcome.Complete, Add(reassembler, c[^1], Instant.Zero, out PacketBuffer? fromC));
        AssertDatagram(fromC, other, 6);
        Assert.Equal(ReassemblyOutcome.Complete, Add(reassembler, a[^1], Instant.Zero, out PacketBuffer? fromA));
        AssertDatagram(fromA, udp, 5);
    }

    [Fact]
    [Trait("Rfc", "791 §3.2")]
    public void FirstFragmentWithOptions_OptionsAreDroppedAndHeaderRebuilt()
    {
        byte[] data = Data(24);
        byte[] first = FirstFragmentWithOptions(id: 3, data.AsSpan(0, 16));
        Reassembler reassembler = NewReassembler();

        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, Fragment(3, 16, more: false, data.AsSpan(16), ttl: 33)));
        Assert.Equal(ReassemblyOutcome.Complete, Add(reassembler, first, Instant.Zero, out PacketBuffer? datagram));

        AssertDatagram(datagram, data, 3);
    }

    [Fact]
    public void Duplicate_AfterCompletion_StartsANewDatagramThatExpires()
    {
        List<byte[]> fragments = FragmentsOf(Data(3000), 1500, id: 8);
        Reassembler reassembler = NewReassembler();
        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, fragments[0]));
        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, fragments[1]));
        Assert.Equal(ReassemblyOutcome.Complete, Add(reassembler, fragments[2], Instant.Zero, out PacketBuffer? datagram));
        datagram!.Dispose();

        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, fragments[0], Instant.FromSeconds(1)));

        Assert.Equal(1, reassembler.DatagramCount);
        Assert.Equal(1, reassembler.Expire(Instant.FromSeconds(31)));
    }

    [Fact]
    public void Clear_ReleasesEverythingWithoutCountingTimeouts()
    {
        Reassembler reassembler = NewReassembler();
        for (ushort id = 0; id < 10; id++)
        {
            Add(reassembler, Fragment(id, 0, more: true, Data(64)));
        }

        Assert.Equal(10, reassembler.Clear());

        Assert.Equal(0, reassembler.DatagramCount);
        Assert.Equal(0, reassembler.BytesHeld);
        Assert.Equal(0, reassembler.Timeouts);
    }

    /// <summary>Feeds fragments in order; only the last may complete the datagram.</summary>
    private static PacketBuffer? FeedAll(Reassembler reassembler, List<byte[]> fragments, Instant now)
    {
        for (int i = 0; i < fragments.Count; i++)
        {
            ReassemblyOutcome outcome = Add(reassembler, fragments[i], now, out PacketBuffer? datagram);
            if (i < fragments.Count - 1)
            {
                Assert.Equal(ReassemblyOutcome.Pending, outcome);
                Assert.Null(datagram);
            }
            else
            {
                Assert.Equal(ReassemblyOutcome.Complete, outcome);
                return datagram;
            }
        }

        return null;
    }

    private static void Shuffle(List<byte[]> items, Random random)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>Inserts exact copies of some fragments after their first appearance but before the last fragment,
    /// which is the one that completes. Returns how many were inserted.</summary>
    private static int WithDuplicates(List<byte[]> fragments, Random random)
    {
        int count = 0;
        int copies = fragments.Count < 2 ? 0 : random.Next(1, 4);
        for (int c = 0; c < copies; c++)
        {
            int original = random.Next(0, fragments.Count - 1);
            int at = random.Next(original + 1, fragments.Count);
            fragments.Insert(at, (byte[])fragments[original].Clone());
            count++;
        }

        return count;
    }

    /// <summary>A first fragment whose header is 24 octets: four octets of options (NOP, NOP, NOP, EOL).</summary>
    private static byte[] FirstFragmentWithOptions(ushort id, ReadOnlySpan<byte> data)
    {
        byte[] plain = Fragment(id, 0, more: true, data, ttl: 33);
        var bytes = new byte[plain.Length + 4];
        plain.AsSpan(0, IPv4Header.Length).CopyTo(bytes);
        bytes[0] = 0x46;
        bytes[2] = (byte)(bytes.Length >> 8);
        bytes[3] = (byte)bytes.Length;
        bytes[10] = 0;
        bytes[11] = 0;
        bytes.AsSpan(20, 4).Fill(1);
        bytes[23] = 0;
        data.CopyTo(bytes.AsSpan(24));
        ushort checksum = InternetChecksum.Compute(bytes.AsSpan(0, 24));
        bytes[10] = (byte)(checksum >> 8);
        bytes[11] = (byte)checksum;
        Assert.Equal(HeaderError.None, IPv4Packet.TryCreate(bytes, out IPv4Packet packet));
        Assert.True(packet.IsChecksumValid);
        Assert.Equal(24, packet.HeaderLength);
        return bytes;
    }
}
