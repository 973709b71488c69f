using Wirestack.Buffers;
using Wirestack.IP;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tests.IP;

/// <summary>RFC 791 §3.2 reassembly timer and RFC 1122 §3.3.2 timeout handling; bounds under fragment floods.</summary>
public sealed class ReassemblerTimeoutTests : FragmentTestBase
{
    private static Instant Seconds(double s) => Instant.FromSeconds(s);

    [Fact]
    [Trait("Rfc", "1122 §3.3.2")]
    public void Expire_DropsDatagramsWhenTheirFirstFragmentIsTimeoutOld()
    {
        Reassembler reassembler = NewReassembler();
        Assert.Null(reassembler.NextExpiry);
        Add(reassembler, Fragment(1, 0, true, Data(16)), Seconds(0));
        Add(reassembler, Fragment(2, 0, true, Data(16)), Seconds(10));
        Add(reassembler, Fragment(1, 16, true, Data(16)), Seconds(25));   // later fragments do not extend the timer

        Assert.Equal(Seconds(30), reassembler.NextExpiry);
        Assert.Equal(0, reassembler.Expire(Seconds(30) - TimeSpan.FromMicroseconds(1)));
        Assert.Equal(1, reassembler.Expire(Seconds(30)));
        Assert.Equal(Seconds(40), reassembler.NextExpiry);
        Assert.Equal(1, reassembler.DatagramCount);
        Assert.Equal(1, reassembler.Timeouts);

        Assert.Equal(1, reassembler.Expire(Seconds(1000)));

        Assert.Null(reassembler.NextExpiry);
        Assert.Equal(0, reassembler.BytesHeld);
        Assert.Equal(2, reassembler.Timeouts);
        Assert.Equal(0, reassembler.Expire(Seconds(2000)));
    }

    [Fact]
    public void Expire_UsesTheConfiguredTimeout()
    {
        var reassembler = new Reassembler(Pool, TimeSpan.FromMilliseconds(500), Reassembler.DefaultMaxBytes, 8);
        Add(reassembler, Fragment(1, 0, true, Data(16)), Seconds(1));

        Assert.Equal(Seconds(1.5), reassembler.NextExpiry);
        Assert.Equal(1, reassembler.Expire(Seconds(1.5)));
    }

    [Fact]
    public void NextExpiry_AfterTheOldestCompletes_MovesToTheNext()
    {
        Reassembler reassembler = NewReassembler();
        byte[] data = Data(24);
        Add(reassembler, Fragment(1, 0, true, data.AsSpan(0, 16), ttl: 33), Seconds(1));
        Add(reassembler, Fragment(2, 0, true, Data(16)), Seconds(2));
        Add(reassembler, Fragment(3, 0, true, Data(16)), Seconds(3));

        Assert.Equal(ReassemblyOutcome.Complete, Add(reassembler, Fragment(1, 16, false, data.AsSpan(16), ttl: 33), Seconds(4), out PacketBuffer? datagram));
        AssertDatagram(datagram, data, 1);
        Assert.Equal(Seconds(32), reassembler.NextExpiry);

        Assert.Equal(ReassemblyOutcome.DroppedOverlap, Add(reassembler, Fragment(3, 8, true, Data(16)), Seconds(5)));
        Assert.Equal(Seconds(32), reassembler.NextExpiry);
        Assert.Equal(1, reassembler.Expire(Seconds(100)));
    }

    [Fact]
    public void NextExpiry_ClockGivenOutOfOrder_StaysTheEarliestDeadline()
    {
        Reassembler reassembler = NewReassembler();
        Add(reassembler, Fragment(1, 0, true, Data(16)), Seconds(10));
        Add(reassembler, Fragment(2, 0, true, Data(16)), Seconds(5));
        Add(reassembler, Fragment(3, 0, true, Data(16)), Seconds(7));

        Assert.Equal(Seconds(35), reassembler.NextExpiry);
        Assert.Equal(2, reassembler.Expire(Seconds(37)));
        Assert.Equal(Seconds(40), reassembler.NextExpiry);
        Assert.Equal(1, reassembler.Expire(Seconds(40)));
    }

    [Fact]
    [Trait("Rfc", "1122 §3.3.2")]
    public void Expire_WithFragmentZero_ReportsHeaderAndFirstEightOctets()
    {
        Reassembler reassembler = NewReassembler();
        byte[] first = Fragment(1, 0, true, Data(16));
        Add(reassembler, first, Seconds(0));
        Add(reassembler, Fragment(2, 8, true, Data(16)), Seconds(0));   // fragment zero never came
        var reports = new List<(IPv4Address Source, IPv4Address Destination, byte[] Prefix)>();

        int expired = reassembler.Expire(Seconds(30), (source, destination, prefix) => reports.Add((source, destination, prefix.ToArray())));

        Assert.Equal(2, expired);
        var report = Assert.Single(reports);
        Assert.Equal(Source, report.Source);
        Assert.Equal(Destination, report.Destination);
        Assert.Equal(first.AsSpan(0, IPv4Header.Length + 8).ToArray(), report.Prefix);
    }

    [Fact]
    public void Expire_ShortFirstFragment_ReportsOnlyWhatArrived()
    {
        // An unfragmented-looking first fragment with 8 data octets is the shortest allowed for UDP.
        Reassembler reassembler = NewReassembler();
        byte[] first = Fragment(1, 0, true, Data(8));
        Add(reassembler, first, Seconds(0));
        byte[]? prefix = null;

        reassembler.Expire(Seconds(30), (_, _, p) => prefix = p.ToArray());

        Assert.Equal(first, prefix);
    }

    [Fact]
    public void Flood_TenThousandIncompleteDatagrams_HeldCountStaysBounded()
    {
        Reassembler reassembler = NewReassembler();   // Linux-like: 30 s, 4 MiB, 64 datagrams
        byte[] data = Data(1480);
        int pending = 0;
        int refused = 0;
        for (int i = 0; i < 10_000; i++)
        {
            byte[] fragment = Fragment((ushort)i, 0, true, data, source: new IPv4Address(0x0A00_0000u + (uint)(i / 65536)));
            ReassemblyOutcome outcome = Add(reassembler, fragment, Instant.FromMilliseconds(i));
            pending += outcome == ReassemblyOutcome.Pending ? 1 : 0;
            refused += outcome == ReassemblyOutcome.DroppedTooManyDatagrams ? 1 : 0;
            Assert.True(reassembler.DatagramCount <= Reassembler.DefaultMaxDatagrams);
        }

        Assert.Equal(64, pending);
        Assert.Equal(10_000 - 64, refused);
        Assert.Equal(64 * (Pool.Headroom + 1480), reassembler.BytesHeld);
        Assert.Equal(reassembler.BytesHeld, Budget.InUseFor(BudgetCause.Reassembly));

        Assert.Equal(64, reassembler.Expire(Instant.FromMilliseconds(63) + Reassembler.DefaultTimeout));

        Assert.Equal(0, Budget.InUse);
        Assert.Equal(0, Pool.LeasedCount);
    }

    [Fact]
    public void Flood_ByteLimitReached_RefusesNewFragmentsUntilExpiry()
    {
        const int maxBytes = 1 << 20;
        Reassembler reassembler = NewReassembler(maxBytes: maxBytes, maxDatagrams: 100_000);
        byte[] data = Data(1480);
        long startHighWater = Budget.HighWater;
        int pending = 0;
        int refused = 0;
        for (int i = 0; i < 10_000; i++)
        {
            ReassemblyOutcome outcome = Add(reassembler, Fragment((ushort)i, 0, true, data), Instant.FromMilliseconds(i));
            pending += outcome == ReassemblyOutcome.Pending ? 1 : 0;
            refused += outcome == ReassemblyOutcome.DroppedNoBuffers ? 1 : 0;
            Assert.True(reassembler.BytesHeld <= maxBytes);
        }

        int perDatagram = Pool.Headroom + 1480;
        Assert.Equal(maxBytes / perDatagram, pending);
        Assert.Equal(10_000 - pending, refused);
        Assert.True(Budget.HighWater <= Math.Max(startHighWater, maxBytes));

        // A legitimate datagram cannot get in during the flood, and can once the flood has timed out.
        List<byte[]> legit = FragmentsOf(Data(2960), 1500, id: 40_000);
        Assert.Equal(ReassemblyOutcome.DroppedNoBuffers, Add(reassembler, legit[0], Instant.FromSeconds(20)));
        Assert.Equal(pending, reassembler.Expire(Instant.FromSeconds(60)));
        Assert.Equal(0, Budget.InUse);
        Assert.Equal(ReassemblyOutcome.Pending, Add(reassembler, legit[0], Instant.FromSeconds(61)));
        Assert.Equal(ReassemblyOutcome.Complete, Add(reassembler, legit[1], Instant.FromSeconds(61), out PacketBuffer? datagram));
        AssertDatagram(datagram, Data(2960), 40_000);
    }

    [Fact]
    public void Flood_WithPeriodicExpiry_NeverHoldsMoreThanTheLimits()
    {
        // The stack calls Expire at NextExpiry; 10,000 datagrams arrive 10 ms apart over 100 s.
        var reassembler = new Reassembler(Pool, Reassembler.DefaultTimeout, 512 * 1024, 64);
        byte[] data = Data(1480);
        int expired = 0;
        for (int i = 0; i < 10_000; i++)
        {
            Instant now = Instant.FromMilliseconds(i * 10L);
            if (reassembler.NextExpiry is { } due && due <= now)
            {
                expired += reassembler.Expire(now);
            }

            Add(reassembler, Fragment((ushort)i, 0, true, data), now);
            Assert.True(reassembler.DatagramCount <= 64);
            Assert.True(reassembler.BytesHeld <= 512 * 1024);
            Assert.True(Budget.InUse <= 512 * 1024);
        }

        expired += reassembler.Expire(Instant.FromSeconds(1000));
        Assert.Equal(reassembler.Timeouts, expired);
        Assert.True(expired > 64);
    }

    [Fact]
    public void Flood_ManyPiecesOfOneDatagram_IsCutAtThePieceLimit()
    {
        Reassembler reassembler = NewReassembler();
        byte[] data = Data(8);
        var outcomes = new Dictionary<ReassemblyOutcome, int>();
        for (int i = 0; i < 10_000; i++)
        {
            // Every other 8-octet block, so pieces never touch: the worst case for a hole list.
            int offset = ((i * 2) + 1) * 8 % (Reassembler.MaxDataLength - 16);
            offset -= offset % 8;
            ReassemblyOutcome outcome = Add(reassembler, Fragment(1, offset, true, data), Instant.Zero);
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            Assert.True(reassembler.BytesHeld <= Reassembler.DefaultMaxFragmentsPerDatagram * (Pool.Headroom + 8));
        }

        Assert.True(outcomes.GetValueOrDefault(ReassemblyOutcome.DroppedBadFragment) > 100);
        reassembler.Clear();
    }
}
