using System.Buffers.Binary;

namespace Wirestack.Wire.Tests;

/// <summary>Builds packets with the Wire writers, and patches checksums after a test has edited bytes on purpose.</summary>
internal static class Packets
{
    public static readonly IPv4Address A = new(10, 0, 0, 1);
    public static readonly IPv4Address B = new(10, 0, 0, 2);
    public static readonly MacAddress MacA = new(0x02, 0, 0, 0, 0, 0x01);
    public static readonly MacAddress MacB = new(0x02, 0, 0, 0, 0, 0x02);

    public static byte[] IPv4(IPv4Address source, IPv4Address destination, byte protocol, ReadOnlySpan<byte> payload,
        ushort identification = 0, bool moreFragments = false, int fragmentOffset = 0)
    {
        byte[] datagram = new byte[IPv4Header.Length + payload.Length];
        new IPv4Header(source, destination, protocol, payload.Length, Identification: identification, DontFragment: !moreFragments && fragmentOffset == 0,
            MoreFragments: moreFragments, FragmentOffset: fragmentOffset).WriteTo(datagram);
        payload.CopyTo(datagram.AsSpan(IPv4Header.Length));
        return datagram;
    }

    /// <summary>An IPv4 header with the given option bytes (a multiple of 4), a valid checksum, and a zero payload.</summary>
    public static byte[] IPv4WithOptions(ReadOnlySpan<byte> options, int payloadLength = 0)
    {
        int headerLength = IPv4Header.Length + options.Length;
        byte[] datagram = new byte[headerLength + payloadLength];
        new IPv4Header(A, B, IPProtocol.Udp, payloadLength).WriteTo(datagram);
        datagram[0] = (byte)(0x40 | (headerLength / 4));
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(2), (ushort)datagram.Length);
        options.CopyTo(datagram.AsSpan(IPv4Header.Length));
        FixIPv4Checksum(datagram);
        return datagram;
    }

    public static byte[] Tcp(in TcpHeader header, ReadOnlySpan<byte> payload, IPv4Address source, IPv4Address destination)
    {
        byte[] segment = new byte[header.Length + payload.Length];
        payload.CopyTo(segment.AsSpan(header.Length));
        header.WriteTo(segment, source, destination);
        return segment;
    }

    public static byte[] Udp(ushort sourcePort, ushort destinationPort, ReadOnlySpan<byte> payload, IPv4Address source, IPv4Address destination)
    {
        byte[] datagram = new byte[UdpHeader.Length + payload.Length];
        payload.CopyTo(datagram.AsSpan(UdpHeader.Length));
        new UdpHeader(sourcePort, destinationPort).WriteTo(datagram, source, destination);
        return datagram;
    }

    public static byte[] IcmpEcho(byte type, ushort identifier, ushort sequence, ReadOnlySpan<byte> body)
    {
        byte[] message = new byte[IcmpV4Packet.HeaderLength + body.Length];
        body.CopyTo(message.AsSpan(IcmpV4Packet.HeaderLength));
        IcmpV4Packet.WriteHeader(message, type, 0, identifier, sequence);
        return message;
    }

    public static byte[] Ethernet(MacAddress destination, MacAddress source, ushort etherType, ReadOnlySpan<byte> payload)
    {
        byte[] frame = new byte[EthernetFrame.HeaderLength + payload.Length];
        EthernetFrame.WriteHeader(frame, destination, source, etherType);
        payload.CopyTo(frame.AsSpan(EthernetFrame.HeaderLength));
        return frame;
    }

    public static void FixIPv4Checksum(Span<byte> datagram)
    {
        int headerLength = (datagram[0] & 0x0F) * 4;
        datagram[10] = 0;
        datagram[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(datagram[10..], InternetChecksum.Compute(datagram[..headerLength]));
    }

    public static void FixTcpChecksum(Span<byte> segment, IPv4Address source, IPv4Address destination)
    {
        segment[16] = 0;
        segment[17] = 0;
        ulong sum = InternetChecksum.PseudoHeader(source, destination, IPProtocol.Tcp, segment.Length);
        BinaryPrimitives.WriteUInt16BigEndian(segment[16..], InternetChecksum.Finish(InternetChecksum.Accumulate(segment, sum)));
    }

    /// <summary>A SYN from A:5000 to B:80 with the given option bytes spliced in raw (any garbage), checksum fixed.</summary>
    public static byte[] TcpWithRawOptions(ReadOnlySpan<byte> options, int dataOffsetWords = -1)
    {
        int headerLength = TcpSegment.MinHeaderLength + options.Length;
        byte[] segment = new byte[headerLength];
        var header = new TcpHeader { SourcePort = 5000, DestinationPort = 80, SequenceNumber = new SeqNumber(1), Flags = TcpFlags.Syn, Window = 65535 };
        header.WriteTo(segment.AsSpan(0, TcpSegment.MinHeaderLength), A, B);
        options.CopyTo(segment.AsSpan(TcpSegment.MinHeaderLength));
        segment[12] = (byte)((dataOffsetWords < 0 ? headerLength / 4 : dataOffsetWords) << 4);
        FixTcpChecksum(segment, A, B);
        return segment;
    }
}
