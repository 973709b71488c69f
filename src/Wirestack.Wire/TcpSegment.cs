using System.Buffers.Binary;

namespace Wirestack.Wire;

/// <summary>A zero-copy view of a TCP segment (RFC 9293 §3.1). <see cref="TryCreate"/> checks the data offset
/// against the bytes present, so every field and the option area can be read safely.</summary>
public readonly ref struct TcpSegment
{
    public const int MinHeaderLength = 20;

    private readonly ReadOnlySpan<byte> _bytes;

    private TcpSegment(ReadOnlySpan<byte> bytes) => _bytes = bytes;

    public static HeaderError TryCreate(ReadOnlySpan<byte> bytes, out TcpSegment segment)
    {
        segment = default;
        if (bytes.Length < MinHeaderLength)
        {
            return HeaderError.Truncated;
        }

        int dataOffset = (bytes[12] >> 4) * 4;
        if (dataOffset < MinHeaderLength)
        {
            return HeaderError.BadLength;
        }

        if (dataOffset > bytes.Length)
        {
            return HeaderError.Truncated;
        }

        segment = new TcpSegment(bytes);
        return HeaderError.None;
    }

    public ReadOnlySpan<byte> Bytes => _bytes;
    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(_bytes);
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(_bytes[2..]);
    public SeqNumber SequenceNumber => new(BinaryPrimitives.ReadUInt32BigEndian(_bytes[4..]));
    public SeqNumber AcknowledgmentNumber => new(BinaryPrimitives.ReadUInt32BigEndian(_bytes[8..]));
    public int HeaderLength => (_bytes[12] >> 4) * 4;
    public TcpFlags Flags => (TcpFlags)_bytes[13];
    public ushort Window => BinaryPrimitives.ReadUInt16BigEndian(_bytes[14..]);
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_bytes[16..]);
    public ushort UrgentPointer => BinaryPrimitives.ReadUInt16BigEndian(_bytes[18..]);
    public ReadOnlySpan<byte> Options => _bytes[MinHeaderLength..HeaderLength];
    public ReadOnlySpan<byte> Payload => _bytes[HeaderLength..];

    /// <summary>RFC 9293 §3.1, Checksum: header, data and the pseudo-header sum to zero.</summary>
    public bool IsChecksumValid(IPv4Address source, IPv4Address destination)
    {
        ulong sum = InternetChecksum.PseudoHeader(source, destination, IPProtocol.Tcp, _bytes.Length);
        return InternetChecksum.Finish(InternetChecksum.Accumulate(_bytes, sum)) == 0;
    }

    public override string ToString()
    {
        TcpOptions.TryParse(Options, out TcpOptions options);
        return TcpHeader.Format(SourcePort, DestinationPort, Flags, SequenceNumber, AcknowledgmentNumber, Window, Payload.Length, options);
    }
}
