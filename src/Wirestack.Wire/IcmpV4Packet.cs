using System.Buffers.Binary;

namespace Wirestack.Wire;

/// <summary>ICMPv4 message types the stack uses (RFC 792).</summary>
public static class IcmpV4Type
{
    public const byte EchoReply = 0;
    public const byte DestinationUnreachable = 3;
    public const byte Echo = 8;
    public const byte TimeExceeded = 11;
    public const byte ParameterProblem = 12;
}

/// <summary>Destination Unreachable codes (RFC 792, RFC 1191).</summary>
public static class IcmpV4UnreachableCode
{
    public const byte Network = 0;
    public const byte Host = 1;
    public const byte Protocol = 2;
    public const byte Port = 3;
    public const byte FragmentationNeeded = 4;
    public const byte AdministrativelyProhibited = 13;
}

/// <summary>A zero-copy view of an ICMPv4 message (RFC 792): type, code, checksum, four bytes of
/// type-specific header (identifier and sequence for echo; next-hop MTU for fragmentation needed) and the body.</summary>
public readonly ref struct IcmpV4Packet
{
    public const int HeaderLength = 8;

    private readonly ReadOnlySpan<byte> _bytes;

    private IcmpV4Packet(ReadOnlySpan<byte> bytes) => _bytes = bytes;

    public static HeaderError TryCreate(ReadOnlySpan<byte> bytes, out IcmpV4Packet packet)
    {
        packet = default;
        if (bytes.Length < HeaderLength)
        {
            return HeaderError.Truncated;
        }

        packet = new IcmpV4Packet(bytes);
        return HeaderError.None;
    }

    public ReadOnlySpan<byte> Bytes => _bytes;
    public byte Type => _bytes[0];
    public byte Code => _bytes[1];
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_bytes[2..]);
    public ushort Identifier => BinaryPrimitives.ReadUInt16BigEndian(_bytes[4..]);
    public ushort SequenceNumber => BinaryPrimitives.ReadUInt16BigEndian(_bytes[6..]);
    public ushort NextHopMtu => BinaryPrimitives.ReadUInt16BigEndian(_bytes[6..]);
    public ReadOnlySpan<byte> Body => _bytes[HeaderLength..];
    public bool IsChecksumValid => InternetChecksum.Compute(_bytes) == 0;

    /// <summary>True for the error messages that quote the offending datagram (RFC 792; RFC 1122 §3.2.2).</summary>
    public bool IsError => Type is IcmpV4Type.DestinationUnreachable or IcmpV4Type.TimeExceeded or IcmpV4Type.ParameterProblem;

    /// <summary>Writes the 8-byte header in front of a body already in place and checksums the whole message.</summary>
    public static void WriteHeader(Span<byte> message, byte type, byte code, ushort identifier, ushort sequence)
    {
        message[0] = type;
        message[1] = code;
        message[2] = 0;
        message[3] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(message[4..], identifier);
        BinaryPrimitives.WriteUInt16BigEndian(message[6..], sequence);
        BinaryPrimitives.WriteUInt16BigEndian(message[2..], InternetChecksum.Compute(message));
    }

    public override string ToString() => $"ICMP type {Type} code {Code} id {Identifier} seq {SequenceNumber} len {_bytes.Length}";
}
