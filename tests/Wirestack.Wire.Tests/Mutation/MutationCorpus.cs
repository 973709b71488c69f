namespace Wirestack.Wire.Tests;

/// <summary>Small corpora of valid packets, per protocol, that the mutation tests start from. Transport checksums
/// are computed for <see cref="Packets.A"/> to <see cref="Packets.B"/> so that unmutated entries parse fully.</summary>
internal static class MutationCorpus
{
    public static readonly byte[][] Tcp = BuildTcp();
    public static readonly byte[][] Udp = BuildUdp();
    public static readonly byte[][] Icmp = BuildIcmp();
    public static readonly byte[][] IPv4 = BuildIPv4();
    public static readonly byte[][] Arp = BuildArp();
    public static readonly byte[][] Ethernet = BuildEthernet();

    private static byte[] Rechecksummed(byte[] linuxDatagram)
    {
        byte[] segment = linuxDatagram.AsSpan(IPv4Header.Length).ToArray();
        Packets.FixTcpChecksum(segment, Packets.A, Packets.B);
        return segment;
    }

    private static byte[][] BuildTcp()
    {
        var sack = new TcpHeader { SourcePort = 80, DestinationPort = 5000, SequenceNumber = new SeqNumber(7), AcknowledgmentNumber = new SeqNumber(9), Flags = TcpFlags.Ack, Window = 512 };
        sack.Options.HasTimestamp = true;
        sack.Options.TsVal = 123;
        sack.Options.SackCount = 2;
        sack.Options.Sacks[0] = new SackBlock(new SeqNumber(100), new SeqNumber(200));
        sack.Options.Sacks[1] = new SackBlock(new SeqNumber(300), new SeqNumber(400));
        var fourBlocks = new TcpHeader { Flags = TcpFlags.Ack, Options = new TcpOptions { SackCount = 4 } };
        var synAck = new TcpHeader { SourcePort = 80, DestinationPort = 5000, Flags = TcpFlags.Syn | TcpFlags.Ack, Window = 65535, Options = new TcpOptions { Mss = 1460, WindowScale = 7, SackPermitted = true } };
        byte[] nops = new byte[40];
        Array.Fill(nops, TcpOptions.KindNop);
        return
        [
            Rechecksummed(Vectors.LinuxSyn),
            Rechecksummed(Vectors.LinuxData),
            Packets.Tcp(sack, "payload bytes"u8, Packets.A, Packets.B),
            Packets.Tcp(fourBlocks, [], Packets.A, Packets.B),
            Packets.Tcp(synAck, [], Packets.A, Packets.B),
            Packets.TcpWithRawOptions(nops),
            Packets.TcpWithRawOptions(Hex.Parse("1e 06 de ad be ef 01 03 03 0f 08 0a 00 00 00 01 00 00 00 02 00 00")[..20]),
            Packets.Tcp(new TcpHeader { Flags = TcpFlags.Rst }, [], Packets.A, Packets.B),
        ];
    }

    private static byte[][] BuildUdp() =>
    [
        Packets.Udp(40000, 5353, "wire"u8, Packets.A, Packets.B),
        Packets.Udp(53, 1024, [], Packets.A, Packets.B),
        Packets.Udp(1, 2, new byte[200], Packets.A, Packets.B),
        Hex.Parse("9c 40 14 e9 00 0d 00 00 77 69 72 65 21"), // zero checksum, odd length
    ];

    private static byte[][] BuildIcmp()
    {
        byte[] fragNeeded = new byte[8 + 28];
        Vectors.LinuxUdp.AsSpan(0, 28).CopyTo(fragNeeded.AsSpan(8));
        IcmpV4Packet.WriteHeader(fragNeeded, IcmpV4Type.DestinationUnreachable, IcmpV4UnreachableCode.FragmentationNeeded, 0, 1400);
        byte[] timeExceeded = new byte[8 + 28];
        Vectors.LinuxSyn.AsSpan(0, 28).CopyTo(timeExceeded.AsSpan(8));
        IcmpV4Packet.WriteHeader(timeExceeded, IcmpV4Type.TimeExceeded, 0, 0, 0);
        return
        [
            Vectors.LinuxPortUnreachable.AsSpan(IPv4Header.Length).ToArray(),
            Packets.IcmpEcho(IcmpV4Type.Echo, 0x1234, 1, "abcdefghijklmnop"u8),
            Packets.IcmpEcho(IcmpV4Type.EchoReply, 0x1234, 1, []),
            fragNeeded,
            timeExceeded,
        ];
    }

    private static byte[][] BuildIPv4()
    {
        byte[] udp = Packets.Udp(1234, 53, new byte[100], Packets.A, Packets.B);
        byte[] withOptions = Packets.IPv4WithOptions(Hex.Parse("01 07 07 04 00 00 00 00 00 00 00 00"), payloadLength: 12);
        Packets.Udp(7, 7, "four"u8, Packets.A, Packets.B).CopyTo(withOptions, 32);
        return
        [
            Vectors.LinuxSyn,
            Vectors.LinuxData,
            Vectors.LinuxUdp,
            Vectors.LinuxPortUnreachable,
            Packets.IPv4(Packets.A, Packets.B, IPProtocol.Tcp, Tcp[2]),
            Packets.IPv4(Packets.A, Packets.B, IPProtocol.Icmp, Icmp[1]),
            Packets.IPv4(Packets.A, Packets.B, IPProtocol.Udp, udp.AsSpan(0, 48), identification: 9, moreFragments: true),
            Packets.IPv4(Packets.A, Packets.B, IPProtocol.Udp, udp.AsSpan(48), identification: 9, fragmentOffset: 48),
            withOptions,
            Packets.IPv4(Packets.A, Packets.B, 47, [0, 0, 0x08, 0]),
        ];
    }

    private static byte[][] BuildArp()
    {
        byte[] reply = new byte[ArpPacket.Length];
        ArpPacket.Write(reply, ArpOperation.Reply, Packets.MacB, Packets.B, Packets.MacA, Packets.A);
        return [Vectors.ArpRequest, reply, Vectors.ArpRequestFrame.AsSpan(EthernetFrame.HeaderLength).ToArray()];
    }

    private static byte[][] BuildEthernet() =>
    [
        Vectors.ArpRequestFrame,
        Packets.Ethernet(Packets.MacB, Packets.MacA, EtherType.IPv4, Vectors.LinuxSyn),
        Packets.Ethernet(Packets.MacB, Packets.MacA, EtherType.IPv4, Vectors.LinuxUdp),
        Packets.Ethernet(Packets.MacB, Packets.MacA, EtherType.Arp, Arp[1]),
        Packets.Ethernet(Packets.MacB, Packets.MacA, 46, new byte[46]),
    ];
}
