using System.Buffers.Binary;

namespace Wirestack.Wire;

/// <summary>A zero-copy view of a UDP datagram (RFC 768), trimmed to its length field.</summary>
public readonly ref struct UdpDatagram
{
    public const int HeaderLength = 8;

    private readonly ReadOnlySpan<byte> _bytes;

    private UdpDatagram(ReadOnlySpan<byte> bytes) => _bytes = bytes;

    public static HeaderError TryCreate(ReadOnlySpan<byte> bytes, out UdpDatagram datagram)
    {
        datagram = default;
        if (bytes.Length < HeaderLength)
        {
            return HeaderError.Truncated;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(bytes[4..]);
        if (length < HeaderLength)
        {
            return HeaderError.BadLength;
        }

        if (length > bytes.Length)
        {
            return HeaderError.Truncated;
        }

        datagram = new UdpDatagram(bytes[..length]);
        return HeaderError.None;
    }

    public ReadOnlySpan<byte> Bytes => _bytes;
    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(_bytes);
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(_bytes[2..]);
    public int Length => _bytes.Length;
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_bytes[6..]);
    public ReadOnlySpan<byte> Payload => _bytes[HeaderLength..];

    public override string ToString() => $"UDP {SourcePort} > {DestinationPort} len {Payload.Length}";
}
