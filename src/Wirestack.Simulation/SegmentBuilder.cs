using Wirestack.Wire;

namespace Wirestack.Simulation;

/// <summary>Builds IPv4/TCP datagrams for tests and scripts, with correct checksums unless told otherwise.</summary>
public static class SegmentBuilder
{
    public static byte[] Tcp(IPv4Address source, IPv4Address destination, TcpHeader header, ReadOnlySpan<byte> payload = default,
        byte ttl = 64, ushort id = 0, bool badChecksum = false)
    {
        int tcpLength = header.Length + payload.Length;
        byte[] datagram = new byte[IPv4Header.Length + tcpLength];
        payload.CopyTo(datagram.AsSpan(IPv4Header.Length + header.Length));
        header.WriteTo(datagram.AsSpan(IPv4Header.Length), source, destination);
        new IPv4Header(source, destination, IPProtocol.Tcp, tcpLength, ttl, 0, id).WriteTo(datagram);
        if (badChecksum)
        {
            datagram[IPv4Header.Length + 16] ^= 0xFF;
        }

        return datagram;
    }

    /// <summary>Parses a datagram the stack sent as TCP; false when it is not a valid TCP datagram.</summary>
    public static bool TryParseTcp(ReadOnlySpan<byte> datagram, out IPv4Header ip, out TcpHeader tcp, out int payloadLength)
    {
        ip = default;
        tcp = default;
        payloadLength = 0;
        if (IPv4Packet.TryCreate(datagram, out IPv4Packet packet) != HeaderError.None ||
            IPv4Header.TryParse(packet, out ip) != HeaderError.None || ip.Protocol != IPProtocol.Tcp ||
            TcpSegment.TryCreate(packet.Payload, out TcpSegment segment) != HeaderError.None ||
            TcpHeader.TryParse(segment, ip.Source, ip.Destination, out tcp) != HeaderError.None)
        {
            return false;
        }

        payloadLength = segment.Payload.Length;
        return true;
    }
}
