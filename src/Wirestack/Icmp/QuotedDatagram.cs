using System.Buffers.Binary;
using Wirestack.Wire;

namespace Wirestack.Icmp;

/// <summary>Reads the datagram quoted in an ICMP error. It is truncated on purpose, so its total length field
/// exceeds the bytes present; the view is made over a copy-free slice whose length field is not trusted.</summary>
internal static class QuotedDatagram
{
    public static bool TryCreate(ReadOnlySpan<byte> body, out IPv4Packet packet)
    {
        packet = default;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(body[2..]);
        if (totalLength <= body.Length)
        {
            return IPv4Packet.TryCreate(body, out packet) == HeaderError.None;
        }

        // The length field claims more than was quoted: the stack only needs the header and the first 8 bytes,
        // which are present (checked by the caller); accept the view over the bytes we have.
        return IPv4Packet.TryCreateTruncated(body, out packet) == HeaderError.None;
    }
}
