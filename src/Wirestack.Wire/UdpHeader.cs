using System.Buffers.Binary;

namespace Wirestack.Wire;

/// <summary>The validated part of a UDP header (RFC 768).</summary>
public readonly record struct UdpHeader(ushort SourcePort, ushort DestinationPort)
{
    public const int Length = 8;

    /// <summary>Checks the checksum against the pseudo-header sum of the enclosing IPv4 datagram.</summary>
    public static HeaderError TryParse(UdpDatagram datagram, IPv4Address source, IPv4Address destination, out UdpHeader header)
    {
        header = default;
        // RFC 768: "An all zero transmitted checksum value means that the transmitter generated no checksum".
        if (datagram.Checksum != 0)
        {
            ulong sum = InternetChecksum.PseudoHeader(source, destination, IPProtocol.Udp, datagram.Length);
            if (InternetChecksum.Finish(InternetChecksum.Accumulate(datagram.Bytes, sum)) != 0)
            {
                return HeaderError.BadChecksum;
            }
        }

        header = new UdpHeader(datagram.SourcePort, datagram.DestinationPort);
        return HeaderError.None;
    }

    /// <summary>Writes the header in front of a payload already in place: <paramref name="datagram"/> is exactly
    /// header + payload.</summary>
    public void WriteTo(Span<byte> datagram, IPv4Address source, IPv4Address destination)
    {
        if (datagram.Length < Length || datagram.Length > ushort.MaxValue)
        {
            // RFC 768: the length field is 16 bits and counts the 8-byte header.
            throw new ArgumentException($"a UDP datagram is 8..65535 bytes, not {datagram.Length}", nameof(datagram));
        }

        BinaryPrimitives.WriteUInt16BigEndian(datagram, SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(datagram[2..], DestinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(datagram[4..], (ushort)datagram.Length);
        datagram[6] = 0;
        datagram[7] = 0;
        ulong sum = InternetChecksum.PseudoHeader(source, destination, IPProtocol.Udp, datagram.Length);
        ushort checksum = InternetChecksum.Finish(InternetChecksum.Accumulate(datagram, sum));
        // RFC 768: a computed checksum of zero is transmitted as all ones.
        BinaryPrimitives.WriteUInt16BigEndian(datagram[6..], checksum == 0 ? (ushort)0xFFFF : checksum);
    }
}
