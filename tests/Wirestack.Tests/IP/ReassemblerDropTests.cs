using Wirestack.Buffers;
using Wirestack.IP;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tests.IP;

/// <summary>Every way a fragment is refused, and what each refusal discards.</summary>
public sealed class ReassemblerDropTests : FragmentTestBase
{
    private static byte[] F(int offset, int length, bool more, ushort id = 1, byte protocol = IPProtocol.Udp, int seed = 0) =>
        Fragment(id, offset, more, Data(length, seed + offset), protocol);

    private static void AssertNothingHeld(Reassembler reassembler)
    {
        Assert.Equal(0, reassembler.DatagramCount);
        Assert.Equal(0, reassembler.BytesHeld);
        Assert.Null(reassembler.NextExpiry);
    }

    [Theory]
    [Trait("Rfc", "5722 §4")]
    [InlineData(8, 16)]   // straddles the end of the first piece
    [InlineData(24, 16)]  // straddles the start of the second piece
    [InlineData(0, 48)]   // covers everything held
    [InlineData(8, 8)]    // inside the first piece
    [InlineData(0, 8)]    // same start, shorter
    [InlineData(32, 16)]  // same start as the second piece, longer
    public void Add_OverlappingFragment_DiscardsTheWholeDatagram(int offset, int length)
    {
        Reassembler reassembler = NewReassembler();
        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, F(0, 16, more: true)));
        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, F(32, 8, more: true)));

        Assert.Equal(ReassemblyOutcome.DroppedOverlap, Add(reassembler, F(offset, length, more: true)));

        AssertNothingHeld(reassembler);
    }

    [Fact]
    [Trait("Rfc", "5722 §4")]
    public void Add_SameRangeDifferentBytes_IsAnOverlap()
    {
        Reassembler reassembler = NewReassembler();
        Add(reassembler, F(0, 16, more: true, seed: 1));

        Assert.Equal(ReassemblyOutcome.DroppedOverlap, Add(reassembler, F(0, 16, more: true, seed: 2)));

        AssertNothingHeld(reassembler);
    }

    [Fact]
    [Trait("Rfc", "5722 §4")]
    public void Add_SameRangeAndBytesButOtherMoreFragments_IsAnOverlap()
    {
        Reassembler reassembler = NewReassembler();
        Add(reassembler, F(0, 16, more: true));
        Add(reassembler, F(16, 8, more: true));

        Assert.Equal(ReassemblyOutcome.DroppedOverlap, Add(reassembler, F(16, 8, more: false)));

        AssertNothingHeld(reassembler);
    }

    [Fact]
    public void Add_ExactDuplicate_IsIgnoredAndCounted()
    {
        Reassembler reassembler = NewReassembler();
        byte[] last = F(24, 5, more: false);   // leaves a hole at 16..24
        Add(reassembler, F(0, 16, more: true));
        Add(reassembler, last);
        int held = reassembler.BytesHeld;

        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, F(0, 16, more: true)));
        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, last));

        Assert.Equal(2, reassembler.Duplicates);
        Assert.Equal(held, reassembler.BytesHeld);
        Assert.Equal(1, reassembler.Clear());
    }

    [Fact]
    public void Add_AdjacentFragments_DoNotOverlap()
    {
        Reassembler reassembler = NewReassembler();
        Add(reassembler, F(8, 8, more: true));
        Add(reassembler, F(24, 8, more: true));

        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, F(16, 8, more: true)));

        Assert.Equal(1, reassembler.Clear());
    }

    [Fact]
    public void Add_AfterOverlapDiscard_RemainingFragmentsStartOverAndNeverComplete()
    {
        byte[] data = Data(40);
        Reassembler reassembler = NewReassembler();
        Add(reassembler, Fragment(1, 0, true, data.AsSpan(0, 16)));
        Assert.Equal(ReassemblyOutcome.DroppedOverlap, Add(reassembler, Fragment(1, 8, true, data.AsSpan(8, 16))));

        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, Fragment(1, 16, true, data.AsSpan(16, 16))));
        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, Fragment(1, 32, false, data.AsSpan(32))));

        Assert.Equal(1, reassembler.DatagramCount);
        Assert.Equal(1, reassembler.Expire(Instant.FromSeconds(30)));
    }

    [Theory]
    [Trait("Rfc", "791 §3.1")]
    [InlineData(65512, 8, true)]
    [InlineData(65528, 8, false)]
    [InlineData(65504, 12, false)]
    [InlineData(8, 65508, false)]
    public void Add_DataEndingPast65515_IsTooLarge(int offset, int length, bool more)
    {
        Reassembler reassembler = NewReassembler();
        byte[] kept = F(0, 16, more: true);
        Add(reassembler, kept);

        Assert.Equal(ReassemblyOutcome.DroppedTooLarge, Add(reassembler, F(offset, length, more)));

        // Only the fragment is dropped.
        Assert.Equal(1, reassembler.DatagramCount);
        Assert.Equal(1, reassembler.Clear());
    }

    [Fact]
    [Trait("Rfc", "791 §3.1")]
    public void Add_DataEndingExactlyAt65515_IsAccepted()
    {
        Reassembler reassembler = NewReassembler();

        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, F(65504, 11, more: false)));

        Assert.Equal(1, reassembler.Clear());
    }

    [Theory]
    [Trait("Rfc", "1858 §3.2")]
    [InlineData(IPProtocol.Tcp, 8, 16, true)]    // FO=1 for TCP
    [InlineData(IPProtocol.Tcp, 8, 5, false)]    // FO=1 for TCP, even as the last fragment
    [InlineData(IPProtocol.Tcp, 0, 16, true)]    // first fragment without room for the 20-octet TCP header
    [InlineData(IPProtocol.Tcp, 0, 8, true)]
    [InlineData(IPProtocol.Udp, 0, 4, true)]     // first fragment shorter than the 8-octet UDP header
    [InlineData(IPProtocol.Icmp, 0, 7, true)]
    [InlineData(IPProtocol.Icmp, 0, 1, true)]
    public void Add_TinyFragment_IsDropped(byte protocol, int offset, int length, bool more)
    {
        Reassembler reassembler = NewReassembler();

        Assert.Equal(ReassemblyOutcome.DroppedTinyFragment, Add(reassembler, F(offset, length, more, protocol: protocol)));

        AssertNothingHeld(reassembler);
    }

    [Theory]
    [Trait("Rfc", "1858 §3.2")]
    [InlineData(IPProtocol.Tcp, 0, 24, true)]
    [InlineData(IPProtocol.Tcp, 16, 8, true)]
    [InlineData(IPProtocol.Udp, 8, 8, true)]
    [InlineData(IPProtocol.Udp, 0, 8, true)]
    [InlineData(IPProtocol.Icmp, 0, 8, true)]
    public void Add_FragmentJustAboveTheTinyLimits_IsHeld(byte protocol, int offset, int length, bool more)
    {
        Reassembler reassembler = NewReassembler();

        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, F(offset, length, more, protocol: protocol)));

        Assert.Equal(1, reassembler.Clear());
    }

    [Theory]
    [Trait("Rfc", "791 §3.2")]
    [InlineData(16, 12, true)]  // non-final, not a multiple of 8
    [InlineData(16, 1, true)]
    [InlineData(16, 0, true)]   // empty
    [InlineData(16, 0, false)]
    public void Add_MalformedFragment_IsDroppedAlone(int offset, int length, bool more)
    {
        Reassembler reassembler = NewReassembler();
        Add(reassembler, F(0, 16, more: true));

        Assert.Equal(ReassemblyOutcome.DroppedBadFragment, Add(reassembler, F(offset, length, more)));

        Assert.Equal(1, reassembler.DatagramCount);
        Assert.Equal(1, reassembler.Clear());
    }

    [Fact]
    [Trait("Rfc", "791 §3.2")]
    public void Add_LastFragmentEndingBeforeHeldData_DiscardsTheDatagram()
    {
        Reassembler reassembler = NewReassembler();
        Add(reassembler, F(32, 8, more: true));

        Assert.Equal(ReassemblyOutcome.DroppedBadFragment, Add(reassembler, F(8, 8, more: false)));

        AssertNothingHeld(reassembler);
    }

    [Fact]
    [Trait("Rfc", "791 §3.2")]
    public void Add_SecondLastFragmentWithAnotherEnd_DiscardsTheDatagram()
    {
        Reassembler reassembler = NewReassembler();
        Add(reassembler, F(16, 8, more: false));

        Assert.Equal(ReassemblyOutcome.DroppedBadFragment, Add(reassembler, F(32, 3, more: false)));

        AssertNothingHeld(reassembler);
    }

    [Fact]
    [Trait("Rfc", "791 §3.2")]
    public void Add_FragmentBeyondTheKnownEnd_DiscardsTheDatagram()
    {
        Reassembler reassembler = NewReassembler();
        Add(reassembler, F(16, 8, more: false));

        Assert.Equal(ReassemblyOutcome.DroppedBadFragment, Add(reassembler, F(24, 8, more: true)));

        AssertNothingHeld(reassembler);
    }

    [Fact]
    public void Add_MorePiecesThanAllowed_DiscardsTheDatagram()
    {
        Reassembler reassembler = NewReassembler();
        reassembler.MaxFragmentsPerDatagram = 4;
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, F(i * 16, 8, more: true)));
        }

        // A duplicate at the cap is still just a duplicate.
        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, F(0, 8, more: true)));
        Assert.Equal(ReassemblyOutcome.DroppedBadFragment, Add(reassembler, F(200, 8, more: true)));

        AssertNothingHeld(reassembler);
    }

    [Fact]
    public void Add_OverTheByteLimit_DiscardsTheDatagram()
    {
        int perPiece = Pool.Headroom + 8;
        Reassembler reassembler = NewReassembler(maxBytes: 2 * perPiece);
        Add(reassembler, F(0, 8, more: true));
        Add(reassembler, F(8, 8, more: true));
        Assert.Equal(2 * perPiece, reassembler.BytesHeld);

        Assert.Equal(ReassemblyOutcome.DroppedNoBuffers, Add(reassembler, F(16, 8, more: false)));

        AssertNothingHeld(reassembler);
    }

    [Fact]
    public void Add_BudgetSpentForAPiece_DiscardsTheDatagram()
    {
        List<byte[]> fragments = FragmentsOf(Data(2960), 1500);
        var budget = new MemoryBudget(PacketBufferPool.DefaultHeadroom + 1480 + 10) { TransitReserve = 0 };
        var pool = new PacketBufferPool(budget);
        var reassembler = new Reassembler(pool, Reassembler.DefaultTimeout, Reassembler.DefaultMaxBytes, 64);
        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, fragments[0]));

        Assert.Equal(ReassemblyOutcome.DroppedNoBuffers, Add(reassembler, fragments[1]));

        AssertNothingHeld(reassembler);
        AssertAllReturned(pool);
        Assert.Equal(1, budget.FailuresFor(BudgetCause.Reassembly));
    }

    [Fact]
    public void Add_BudgetSpentForTheWholeDatagram_DiscardsTheDatagram()
    {
        List<byte[]> fragments = FragmentsOf(Data(2960), 1500);
        var budget = new MemoryBudget(2 * (PacketBufferPool.DefaultHeadroom + 1480) + 100) { TransitReserve = 0 };
        var pool = new PacketBufferPool(budget);
        var reassembler = new Reassembler(pool, Reassembler.DefaultTimeout, Reassembler.DefaultMaxBytes, 64);
        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, fragments[0]));

        Assert.Equal(ReassemblyOutcome.DroppedNoBuffers, Add(reassembler, fragments[1], Instant.Zero, out PacketBuffer? datagram));

        Assert.Null(datagram);
        AssertNothingHeld(reassembler);
        AssertAllReturned(pool);
        Assert.Equal(1, budget.FailuresFor(BudgetCause.Reassembly));
    }

    [Fact]
    public void Add_NewDatagramBeyondTheLimit_IsDroppedAndOthersKept()
    {
        byte[] data = Data(24);
        Reassembler reassembler = NewReassembler(maxDatagrams: 2);
        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, Fragment(1, 0, true, data.AsSpan(0, 16), ttl: 33)));
        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, F(0, 16, more: true, id: 2)));

        Assert.Equal(ReassemblyOutcome.DroppedTooManyDatagrams, Add(reassembler, F(0, 16, more: true, id: 3)));

        Assert.Equal(2, reassembler.DatagramCount);
        Assert.Equal(ReassemblyOutcome.Complete, Add(reassembler, Fragment(1, 16, false, data.AsSpan(16), ttl: 33), Instant.Zero, out PacketBuffer? datagram));
        AssertDatagram(datagram, data, 1);
        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, F(0, 16, more: true, id: 3)));
        Assert.Equal(2, reassembler.Clear());
    }

    [Fact]
    public void Add_ZeroDatagramsAllowed_RefusesEveryFragment()
    {
        Reassembler reassembler = NewReassembler(maxDatagrams: 0);

        Assert.Equal(ReassemblyOutcome.DroppedTooManyDatagrams, Add(reassembler, F(0, 16, more: true)));

        AssertNothingHeld(reassembler);
    }

    [Fact]
    public void Add_SameIdentificationOtherSource_IsAnotherDatagram()
    {
        Reassembler reassembler = NewReassembler();
        Add(reassembler, F(0, 16, more: true));

        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, Fragment(1, 0, true, Data(16, 9), source: new IPv4Address(192, 0, 2, 2))));

        Assert.Equal(2, reassembler.DatagramCount);
        Assert.Equal(2, reassembler.Clear());
    }
}
