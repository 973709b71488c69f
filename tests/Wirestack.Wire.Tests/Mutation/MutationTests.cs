namespace Wirestack.Wire.Tests;

/// <summary>
/// STYLE §3.7: a seeded mutation loop over a corpus asserts that wire code never throws on untrusted bytes and never
/// hands out a span outside them. One million mutated packets per protocol; the loop itself allocates nothing.
/// Set WIRESTACK_SEED to replay a run with another seed.
/// </summary>
public sealed class MutationTests
{
    private const int Iterations = 1_000_000;
    private const int FormatterIterations = 200_000;

    private delegate void Check(ReadOnlySpan<byte> input, ref ulong sink);

    private static readonly Field[] s_ipv4Fields =
    [
        new(0, FieldKind.LowNibble), new(0, FieldKind.Byte), new(2, FieldKind.UInt16), new(6, FieldKind.UInt16), new(9, FieldKind.Byte),
        new(20, FieldKind.Byte), new(21, FieldKind.Byte), new(24, FieldKind.UInt16), new(32, FieldKind.HighNibble), new(41, FieldKind.Byte),
    ];

    private static readonly Field[] s_udpFields = [new(4, FieldKind.UInt16), new(6, FieldKind.UInt16)];

    private static readonly Field[] s_tcpFields =
    [
        new(12, FieldKind.HighNibble), new(20, FieldKind.Byte), new(21, FieldKind.Byte), new(22, FieldKind.Byte), new(23, FieldKind.Byte),
        new(25, FieldKind.Byte), new(27, FieldKind.Byte), new(29, FieldKind.Byte), new(31, FieldKind.Byte),
    ];

    private static readonly Field[] s_icmpFields = [new(0, FieldKind.Byte), new(1, FieldKind.Byte), new(8, FieldKind.LowNibble), new(10, FieldKind.UInt16)];

    private static readonly Field[] s_ethernetFields =
    [
        new(12, FieldKind.UInt16), new(14, FieldKind.LowNibble), new(16, FieldKind.UInt16), new(18, FieldKind.Byte), new(19, FieldKind.Byte),
        new(46, FieldKind.HighNibble),
    ];

    private static readonly Field[] s_arpFields =
    [
        new(0, FieldKind.UInt16), new(2, FieldKind.UInt16), new(4, FieldKind.Byte), new(5, FieldKind.Byte), new(6, FieldKind.UInt16),
    ];

    [Fact]
    public void IPv4_MutatedDatagrams_NeverThrowAndStayInBounds() =>
        Run(MutationCorpus.IPv4, s_ipv4Fields, optionAreaStart: 20, seed: 791, Iterations, ViewChecks.IPv4);

    [Fact]
    public void Udp_MutatedDatagrams_NeverThrowAndStayInBounds() =>
        Run(MutationCorpus.Udp, s_udpFields, optionAreaStart: 8, seed: 768, Iterations,
            static (ReadOnlySpan<byte> input, ref ulong sink) => ViewChecks.Udp(input, Packets.A, Packets.B, ref sink));

    [Fact]
    public void Tcp_MutatedSegments_NeverThrowAndStayInBounds() =>
        Run(MutationCorpus.Tcp, s_tcpFields, optionAreaStart: 20, seed: 9293, Iterations,
            static (ReadOnlySpan<byte> input, ref ulong sink) => ViewChecks.Tcp(input, Packets.A, Packets.B, ref sink));

    [Fact]
    public void Icmp_MutatedMessages_NeverThrowAndStayInBounds() =>
        Run(MutationCorpus.Icmp, s_icmpFields, optionAreaStart: 28, seed: 792, Iterations, ViewChecks.Icmp);

    [Fact]
    public void Ethernet_MutatedFrames_NeverThrowAndStayInBounds() =>
        Run(MutationCorpus.Ethernet, s_ethernetFields, optionAreaStart: 34, seed: 894, Iterations, ViewChecks.Ethernet);

    [Fact]
    public void Arp_MutatedPackets_NeverThrowAndStayInBounds() =>
        Run(MutationCorpus.Arp, s_arpFields, optionAreaStart: 8, seed: 826, Iterations, ViewChecks.Arp);

    [Fact]
    public void Format_MutatedIPv4Datagrams_NeverThrows() =>
        Run(MutationCorpus.IPv4, s_ipv4Fields, optionAreaStart: 20, seed: 1, FormatterIterations, FormatIPv4, checkAllocations: false);

    [Fact]
    public void FormatEthernet_MutatedFrames_NeverThrows() =>
        Run(MutationCorpus.Ethernet, s_ethernetFields, optionAreaStart: 34, seed: 2, FormatterIterations / 4, FormatEthernet, checkAllocations: false);

    private static void FormatIPv4(ReadOnlySpan<byte> input, ref ulong sink)
    {
        ViewChecks.That(PacketFormatter.Format(input).Length > 0, "empty rendering");
        if (IPv4Packet.TryCreate(input, out IPv4Packet packet) != HeaderError.None)
        {
            return;
        }

        sink += (ulong)packet.ToString().Length;
        if (packet.Protocol == IPProtocol.Tcp && TcpSegment.TryCreate(packet.Payload, out TcpSegment tcp) == HeaderError.None)
        {
            sink += (ulong)tcp.ToString().Length;
            if (TcpHeader.TryParseUnchecked(tcp, out TcpHeader header) == HeaderError.None)
            {
                sink += (ulong)header.ToString().Length;
            }
        }
        else if (packet.Protocol == IPProtocol.Udp && UdpDatagram.TryCreate(packet.Payload, out UdpDatagram udp) == HeaderError.None)
        {
            sink += (ulong)udp.ToString().Length;
        }
        else if (packet.Protocol == IPProtocol.Icmp && IcmpV4Packet.TryCreate(packet.Payload, out IcmpV4Packet icmp) == HeaderError.None)
        {
            sink += (ulong)icmp.ToString().Length;
        }
    }

    private static void FormatEthernet(ReadOnlySpan<byte> input, ref ulong sink)
    {
        ViewChecks.That(PacketFormatter.FormatEthernet(input).Length > 0, "empty rendering");
        if (EthernetFrame.TryCreate(input, out EthernetFrame frame) == HeaderError.None)
        {
            sink += (ulong)frame.ToString().Length;
            if (ArpPacket.TryCreate(frame.Payload, out ArpPacket arp) == HeaderError.None)
            {
                sink += (ulong)arp.ToString().Length;
            }
        }
    }

    private static void Run(byte[][] corpus, Field[] fields, int optionAreaStart, ulong seed, int iterations, Check check, bool checkAllocations = true)
    {
        if (ulong.TryParse(Environment.GetEnvironmentVariable("WIRESTACK_SEED"), out ulong overrideSeed))
        {
            seed = overrideSeed;
        }

        var rng = new Prng(seed);
        byte[] buffer = new byte[corpus.Max(p => p.Length) + 256];
        ulong sink = 0;
        int accepted = 0;

        // Every corpus entry must pass the checks unmutated, or the corpus is not a corpus of valid packets.
        foreach (byte[] packet in corpus)
        {
            check(packet, ref sink);
        }

        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < iterations; i++)
        {
            byte[] original = corpus[rng.Next(corpus.Length)];
            original.CopyTo(buffer, 0);
            int length = Mutator.Mutate(ref rng, buffer, original.Length, fields, optionAreaStart);
            try
            {
                ulong before = sink;
                check(buffer.AsSpan(0, length), ref sink);
                accepted += sink != before ? 1 : 0;
            }
            catch (Exception ex)
            {
                Assert.Fail($"seed {seed}, iteration {i}: {ex.GetType().Name}: {ex.Message}\ninput ({length} bytes): {Hex.Format(buffer.AsSpan(0, length))}\n{ex.StackTrace}");
            }
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        if (checkAllocations)
        {
            // A per-iteration allocation would be at least 24 B × 1,000,000; allow for one-off runtime work.
            Assert.True(allocated < 256 * 1024, $"the mutation loop allocated {allocated} bytes");
        }

        // The mutations must not be so destructive that nothing parses any more.
        Assert.True(accepted > iterations / 10, $"only {accepted} of {iterations} mutated inputs reached an accessor");
    }
}
