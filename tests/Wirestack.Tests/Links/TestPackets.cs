using System.Buffers.Binary;

namespace Wirestack.Tests.Links;

/// <summary>Hand-built, valid IPv4/UDP datagrams (RFC 791, RFC 768) for captures that real tools must parse.</summary>
internal static class TestPackets
{
    public const int IPv4HeaderLength = 20;
    public const int UdpHeaderLength = 8;

    /// <summary>192.0.2.1:40000 → 192.0.2.2:40001 (TEST-NET-1), <paramref name="totalLength"/> bytes in all, with
    /// correct IPv4 header and UDP checksums.</summary>
    public static byte[] Udp(int totalLength, ushort identification = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(totalLength, IPv4HeaderLength + UdpHeaderLength);
        byte[] packet = new byte[totalLength];
        Span<byte> ip = packet.AsSpan(0, IPv4HeaderLength);
        ip[0] = 0x45;                                               // version 4, IHL 5
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)totalLength);
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], identification);
        BinaryPrimitives.WriteUInt16BigEndian(ip[6..], 0x4000);     // DF, offset 0
        ip[8] = 64;                                                 // TTL
        ip[9] = 17;                                                 // UDP
        byte[] source = [192, 0, 2, 1];
        byte[] destination = [192, 0, 2, 2];
        source.CopyTo(ip[12..]);
        destination.CopyTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum(ip, 0));

        int udpLength = totalLength - IPv4HeaderLength;
        Span<byte> udp = packet.AsSpan(IPv4HeaderLength);
        BinaryPrimitives.WriteUInt16BigEndian(udp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 40001);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)udpLength);
        for (int i = UdpHeaderLength; i < udpLength; i++)
        {
            udp[i] = (byte)('a' + (i % 26));
        }

        // RFC 768: the checksum covers a pseudo-header of source, destination, protocol and UDP length.
        uint pseudo = Sum(source) + Sum(destination) + 17u + (uint)udpLength;
        ushort udpChecksum = Checksum(udp, pseudo);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], udpChecksum == 0 ? (ushort)0xffff : udpChecksum);
        return packet;
    }

    /// <summary>RFC 1071 Internet checksum of <paramref name="bytes"/> plus a partial sum.</summary>
    public static ushort Checksum(ReadOnlySpan<byte> bytes, uint partial)
    {
        ulong sum = partial + (ulong)Sum(bytes);
        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return (ushort)~sum;
    }

    private static uint Sum(ReadOnlySpan<byte> bytes)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < bytes.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(bytes[i..]);
        }

        if ((bytes.Length & 1) != 0)
        {
            sum += (uint)bytes[^1] << 8;
        }

        return sum;
    }
}
