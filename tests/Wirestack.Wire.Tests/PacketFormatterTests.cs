using System.Buffers.Binary;

namespace Wirestack.Wire.Tests;

/// <summary>tcpdump-style one-line renderings, of good packets and of broken ones.</summary>
public sealed class PacketFormatterTests
{
    private static byte[] InIPv4(byte protocol, byte[] payload) => Packets.IPv4(Packets.A, Packets.B, protocol, payload);

    [Fact]
    public void Format_SynWithMss_MatchesTcpdump()
    {
        var syn = new TcpHeader
        {
            SourcePort = 5000,
            DestinationPort = 80,
            SequenceNumber = new SeqNumber(1),
            Flags = TcpFlags.Syn,
            Window = 65535,
            Options = new TcpOptions { Mss = 1460 },
        };

        string line = PacketFormatter.Format(InIPv4(IPProtocol.Tcp, Packets.Tcp(syn, [], Packets.A, Packets.B)));

        Assert.Equal("10.0.0.1.5000 > 10.0.0.2.80: Flags [S], seq 1, win 65535, options [mss 1460], length 0", line);
    }

    [Fact]
    public void Format_LinuxSyn_ListsOptionsInWireOrder()
    {
        Assert.Equal(
            "127.0.0.1.53966 > 127.0.0.1.45678: Flags [S], seq 4266839841, win 65495, options [mss 65495,sackOK,TS val 2063645359 ecr 0,nop,wscale 10], length 0",
            PacketFormatter.Format(Vectors.LinuxSyn));
    }

    [Fact]
    public void Format_LinuxDataSegment_ShowsSequenceRangeAndAck()
    {
        Assert.Equal(
            "127.0.0.1.53966 > 127.0.0.1.45678: Flags [P.], seq 4266839842:4266839858, ack 938934504, win 64, options [nop,nop,TS val 2063645360 ecr 3517478684], length 16",
            PacketFormatter.Format(Vectors.LinuxData));
    }

    [Fact]
    public void Format_LoopbackPartialChecksum_SaysChecksumIsBadAndWhatItShouldBe()
    {
        Assert.EndsWith("length 0 [bad tcp cksum 0xfe30 -> 0xc79c]", PacketFormatter.Format(Vectors.LinuxSynPartialChecksum));
    }

    [Fact]
    public void Format_RstAndUrgentAndNoFlags()
    {
        var header = new TcpHeader { SourcePort = 1, DestinationPort = 2, SequenceNumber = new SeqNumber(5), Flags = TcpFlags.Rst | TcpFlags.Urg | TcpFlags.Ack, AcknowledgmentNumber = new SeqNumber(6), UrgentPointer = 3 };
        Assert.Equal("10.0.0.1.1 > 10.0.0.2.2: Flags [RU.], seq 5, ack 6, win 0, urg 3, length 0",
            PacketFormatter.Format(InIPv4(IPProtocol.Tcp, Packets.Tcp(header, [], Packets.A, Packets.B))));

        header = new TcpHeader { SourcePort = 1, DestinationPort = 2 };
        Assert.Equal("10.0.0.1.1 > 10.0.0.2.2: Flags [none], seq 0, win 0, length 0",
            PacketFormatter.Format(InIPv4(IPProtocol.Tcp, Packets.Tcp(header, [], Packets.A, Packets.B))));
    }

    [Fact]
    public void Format_SackBlocks_AreListed()
    {
        var header = new TcpHeader { SourcePort = 1, DestinationPort = 2, Flags = TcpFlags.Ack, Options = new TcpOptions { SackCount = 2 } };
        header.Options.Sacks[0] = new SackBlock(new SeqNumber(100), new SeqNumber(200));
        header.Options.Sacks[1] = new SackBlock(new SeqNumber(300), new SeqNumber(400));

        Assert.Equal("10.0.0.1.1 > 10.0.0.2.2: Flags [.], seq 0, ack 0, win 0, options [nop,nop,sack 2 {100:200}{300:400}], length 0",
            PacketFormatter.Format(InIPv4(IPProtocol.Tcp, Packets.Tcp(header, [], Packets.A, Packets.B))));
    }

    [Fact]
    public void Format_Udp_MatchesTcpdump()
    {
        Assert.Equal("127.0.0.1.40000 > 127.0.0.1.5353: UDP, length 4", PacketFormatter.Format(Vectors.LinuxUdp));
    }

    [Fact]
    public void Format_IcmpPortUnreachable_NamesTheQuotedPort()
    {
        Assert.Equal("127.0.0.1 > 127.0.0.1: ICMP 127.0.0.1 udp port 5353 unreachable, length 40", PacketFormatter.Format(Vectors.LinuxPortUnreachable));
    }

    [Fact]
    public void Format_IcmpEcho_MatchesTcpdump()
    {
        Assert.Equal("10.0.0.1 > 10.0.0.2: ICMP echo request, id 4660, seq 7, length 16",
            PacketFormatter.Format(InIPv4(IPProtocol.Icmp, Packets.IcmpEcho(IcmpV4Type.Echo, 0x1234, 7, "abcdefgh"u8))));
        Assert.Equal("10.0.0.1 > 10.0.0.2: ICMP echo reply, id 4660, seq 7, length 8",
            PacketFormatter.Format(InIPv4(IPProtocol.Icmp, Packets.IcmpEcho(IcmpV4Type.EchoReply, 0x1234, 7, []))));
    }

    [Fact]
    public void Format_IcmpFragmentationNeeded_ShowsMtu()
    {
        byte[] message = new byte[8 + 28];
        Vectors.LinuxUdp.AsSpan(0, 28).CopyTo(message.AsSpan(8));
        IcmpV4Packet.WriteHeader(message, IcmpV4Type.DestinationUnreachable, IcmpV4UnreachableCode.FragmentationNeeded, 0, 1400);

        Assert.Equal("10.0.0.1 > 10.0.0.2: ICMP 127.0.0.1 unreachable - need to frag (mtu 1400), length 36",
            PacketFormatter.Format(InIPv4(IPProtocol.Icmp, message)));
    }

    [Fact]
    public void Format_Fragments_FirstDecodedLaterOnesNamed()
    {
        byte[] udp = Packets.Udp(1234, 53, new byte[100], Packets.A, Packets.B);
        byte[] first = Packets.IPv4(Packets.A, Packets.B, IPProtocol.Udp, udp.AsSpan(0, 48), identification: 9, moreFragments: true);
        byte[] second = Packets.IPv4(Packets.A, Packets.B, IPProtocol.Udp, udp.AsSpan(48), identification: 9, fragmentOffset: 48);

        Assert.Equal("10.0.0.1.1234 > 10.0.0.2.53: UDP, length 100 (frag id 9, offset 0+)", PacketFormatter.Format(first));
        Assert.Equal("10.0.0.1 > 10.0.0.2: UDP fragment, id 9, offset 48, length 60", PacketFormatter.Format(second));
    }

    [Fact]
    public void Format_OtherProtocol_ShowsNumberAndLength()
    {
        Assert.Equal("10.0.0.1 > 10.0.0.2: ip-proto-47 4", PacketFormatter.Format(InIPv4(47, [1, 2, 3, 4])));
    }

    [Theory]
    [InlineData("", "[empty IPv4 datagram]")]
    [InlineData("60 00 00 00", "[not IPv4: version 6], length 4")]
    [InlineData("45 00 00 14 00 00", "[truncated IPv4 header: 6 of 20 bytes]")]
    public void Format_NotEvenAHeader_SaysWhy(string hex, string expected)
    {
        Assert.Equal(expected, PacketFormatter.Format(Hex.Parse(hex)));
    }

    [Fact]
    public void Format_BadIhlAndTotalLength_KeepAddresses()
    {
        byte[] bytes = Vectors.LinuxSyn;
        bytes[0] = 0x44;
        Assert.Equal("127.0.0.1 > 127.0.0.1: [bad IPv4 header length 16 < 20], length 60", PacketFormatter.Format(bytes));

        bytes = Vectors.LinuxSyn;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), 10);
        Assert.Equal("127.0.0.1 > 127.0.0.1: [bad IPv4 total length 10 < header length 20]", PacketFormatter.Format(bytes));

        bytes = Vectors.LinuxSyn.AsSpan(0, 30).ToArray();
        bytes[0] = 0x48;
        Assert.Equal("127.0.0.1 > 127.0.0.1: [truncated IPv4 header: 30 of 32 bytes]", PacketFormatter.Format(bytes));
    }

    [Fact]
    public void Format_TruncatedCapture_DecodesWhatIsThereAndCountsTheRest()
    {
        Assert.Equal(
            "127.0.0.1.53966 > 127.0.0.1.45678: Flags [P.], seq 4266839842:4266839850, ack 938934504, win 64, options [nop,nop,TS val 2063645360 ecr 3517478684], length 8 [truncated-ip: 8 bytes missing]",
            PacketFormatter.Format(Vectors.LinuxData.AsSpan(0, 60)));
        Assert.Equal(
            "127.0.0.1.53966 > 127.0.0.1.45678: Flags [P.], seq 4266839842, ack 938934504, win 64, length 0 [truncated tcp header: 30 of 32 bytes] [truncated-ip: 18 bytes missing]",
            PacketFormatter.Format(Vectors.LinuxData.AsSpan(0, 50)));
        Assert.Equal("127.0.0.1 > 127.0.0.1: [truncated tcp header: 2 of 20 bytes] [truncated-ip: 46 bytes missing]",
            PacketFormatter.Format(Vectors.LinuxData.AsSpan(0, 22)));
        Assert.Equal("127.0.0.1.53966 > 127.0.0.1.45678: [truncated tcp header: 10 of 20 bytes] [truncated-ip: 38 bytes missing]",
            PacketFormatter.Format(Vectors.LinuxData.AsSpan(0, 30)));
    }

    [Fact]
    public void Format_BadIpChecksum_ShowsStoredAndCorrectValues()
    {
        byte[] bytes = Vectors.LinuxUdp;
        bytes[8] = 63;

        Assert.Equal("127.0.0.1.40000 > 127.0.0.1.5353: UDP, length 4 [bad ip cksum 0x69f6 -> 0x6af6]", PacketFormatter.Format(bytes));
    }

    [Fact]
    public void Format_BadTransportChecksums_AreNamed()
    {
        byte[] udp = Vectors.LinuxUdp;
        udp[^1] ^= 0x01; // 0x7265 -> 0x7264: the sum drops by one, so the checksum should rise by one
        Assert.Equal("127.0.0.1.40000 > 127.0.0.1.5353: UDP, length 4 [bad udp cksum 0x66db -> 0x66dc]", PacketFormatter.Format(udp));

        byte[] icmp = Vectors.LinuxPortUnreachable;
        icmp[^1] ^= 0x01;
        Assert.Equal("127.0.0.1 > 127.0.0.1: ICMP 127.0.0.1 udp port 5353 unreachable, length 40 [bad icmp cksum 0x63d8 -> 0x63d9]", PacketFormatter.Format(icmp));
    }

    [Fact]
    public void Format_BadTcpHeaderAndOptions_AreNamed()
    {
        byte[] bytes = Vectors.LinuxSyn;
        bytes[32] = 0x40;
        Assert.Equal("127.0.0.1.53966 > 127.0.0.1.45678: Flags [S], seq 4266839841, win 65495, length 0 [bad tcp header length 16 < 20]", PacketFormatter.Format(bytes));

        byte[] segment = Packets.TcpWithRawOptions(Hex.Parse("02 04 05 b4 01 01 08 05"));
        Assert.Equal("10.0.0.1.5000 > 10.0.0.2.80: Flags [S], seq 1, win 65535, options [mss 1460,nop,nop,[bad opt: kind 8, length 5]], length 0",
            PacketFormatter.Format(InIPv4(IPProtocol.Tcp, segment)));

        segment = Packets.TcpWithRawOptions(Hex.Parse("02 03 05 01 03 03 0f 00"));
        Assert.Equal("10.0.0.1.5000 > 10.0.0.2.80: Flags [S], seq 1, win 65535, options [[bad opt: kind 2, length 3],nop,wscale 15 [> 14],eol], length 0",
            PacketFormatter.Format(InIPv4(IPProtocol.Tcp, segment)));
    }

    [Fact]
    public void Format_BadUdpLength_IsNamed()
    {
        byte[] bytes = Vectors.LinuxUdp;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(24), 4);
        Assert.Equal("127.0.0.1.40000 > 127.0.0.1.5353: UDP, [bad udp length 4 < 8], length 4", PacketFormatter.Format(bytes));

        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(24), 100);
        Assert.Equal("127.0.0.1.40000 > 127.0.0.1.5353: UDP, [bad udp length 100 > 12 bytes present], length 4", PacketFormatter.Format(bytes));
    }

    [Fact]
    public void Format_BadIpOptions_AreNamed()
    {
        Assert.EndsWith("[bad ip options]", PacketFormatter.Format(Packets.IPv4WithOptions(Hex.Parse("94 00 00 00"))));
    }

    [Fact]
    public void FormatEthernet_ArpRequest_MatchesTcpdumpE()
    {
        Assert.Equal("02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 60: Request who-has 10.0.0.2 tell 10.0.0.1, length 28",
            PacketFormatter.FormatEthernet(Vectors.ArpRequestFrame));
    }

    [Fact]
    public void FormatEthernet_ArpReply_ShowsIsAt()
    {
        byte[] arp = new byte[28];
        ArpPacket.Write(arp, ArpOperation.Reply, Packets.MacB, Packets.B, Packets.MacA, Packets.A);

        Assert.Equal("02:00:00:00:00:02 > 02:00:00:00:00:01, ethertype ARP (0x0806), length 42: Reply 10.0.0.2 is-at 02:00:00:00:00:02, length 28",
            PacketFormatter.FormatEthernet(Packets.Ethernet(Packets.MacA, Packets.MacB, EtherType.Arp, arp)));
    }

    [Fact]
    public void FormatEthernet_IPv4_RendersTheDatagram()
    {
        byte[] frame = Packets.Ethernet(Packets.MacB, Packets.MacA, EtherType.IPv4, Vectors.LinuxUdp);

        Assert.Equal("02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 46: 127.0.0.1.40000 > 127.0.0.1.5353: UDP, length 4",
            PacketFormatter.FormatEthernet(frame));
        EthernetFrame.TryCreate(frame, out EthernetFrame view);
        Assert.Equal(PacketFormatter.FormatEthernet(frame), view.ToString());
    }

    [Fact]
    public void FormatEthernet_Malformed_SaysWhy()
    {
        Assert.Equal("[truncated Ethernet header: 5 of 14 bytes]", PacketFormatter.FormatEthernet(new byte[5]));
        Assert.Equal("02:00:00:00:00:02 > 02:00:00:00:00:01, ethertype Unknown (0x1234), length 20",
            PacketFormatter.FormatEthernet(Packets.Ethernet(Packets.MacA, Packets.MacB, 0x1234, new byte[6])));
        Assert.Equal("02:00:00:00:00:02 > 02:00:00:00:00:01, 802.3, length 20: LLC length 6 (not decoded)",
            PacketFormatter.FormatEthernet(Packets.Ethernet(Packets.MacA, Packets.MacB, 6, new byte[6])));
        Assert.Equal("02:00:00:00:00:02 > 02:00:00:00:00:01, ethertype ARP (0x0806), length 17: [truncated ARP: 3 of 28 bytes]",
            PacketFormatter.FormatEthernet(Packets.Ethernet(Packets.MacA, Packets.MacB, EtherType.Arp, new byte[3])));
        Assert.Equal("02:00:00:00:00:02 > 02:00:00:00:00:01, ethertype ARP (0x0806), length 42: [unsupported ARP: hardware type 6, protocol 0x0800, hlen 6, plen 4], length 28",
            PacketFormatter.FormatEthernet(Packets.Ethernet(Packets.MacA, Packets.MacB, EtherType.Arp, Hex.Parse("00 06 08 00 06 04 00 01" + new string('0', 40)))));
        Assert.Equal("02:00:00:00:00:02 > 02:00:00:00:00:01, ethertype IPv4 (0x0800), length 14: [empty IPv4 datagram]",
            PacketFormatter.FormatEthernet(Packets.Ethernet(Packets.MacA, Packets.MacB, EtherType.IPv4, [])));
    }
}
