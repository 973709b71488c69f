using System.Buffers.Binary;

namespace Wirestack.Wire;

/// <summary>
/// A zero-copy view of an IPv4 datagram (RFC 791 §3.1). <see cref="TryCreate"/> checks everything needed to read
/// every field without going out of bounds: version, IHL, total length and the option list's lengths. The checksum is
/// checked by <see cref="IPv4Header.TryParse"/>.
/// </summary>
public readonly ref struct IPv4Packet
{
    public const int MinHeaderLength = 20;

    private readonly ReadOnlySpan<byte> _bytes;
    private readonly int _totalLength;

    private IPv4Packet(ReadOnlySpan<byte> bytes)
    {
        _bytes = bytes;
        _totalLength = bytes.Length;
    }

    private IPv4Packet(ReadOnlySpan<byte> bytes, int totalLength)
    {
        _bytes = bytes;
        _totalLength = totalLength;
    }

    /// <summary>
    /// As <see cref="TryCreate"/> for a datagram of <paramref name="datagramLength"/> bytes of which only the first
    /// (<paramref name="head"/>, at least its header) are at hand, the rest held elsewhere (a payload held by
    /// reference): the view's fields and <see cref="TotalLength"/> are the datagram's, its <see cref="Bytes"/> and
    /// <see cref="Payload"/> only what the head holds.
    /// </summary>
    public static HeaderError TryCreateFromHead(ReadOnlySpan<byte> head, int datagramLength, out IPv4Packet packet)
    {
        packet = default;
        if (head.Length < MinHeaderLength)
        {
            return HeaderError.Truncated;
        }

        if (head[0] >> 4 != 4)
        {
            return HeaderError.BadVersion;
        }

        int headerLength = (head[0] & 0x0F) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(head[2..]);
        if (headerLength < MinHeaderLength || totalLength < headerLength)
        {
            return HeaderError.BadLength;
        }

        if (totalLength > datagramLength || headerLength > head.Length)
        {
            return HeaderError.Truncated;
        }

        HeaderError options = ValidateOptions(head[MinHeaderLength..headerLength]);
        if (options != HeaderError.None)
        {
            return options;
        }

        packet = new IPv4Packet(head[..Math.Min(totalLength, head.Length)], totalLength);
        return HeaderError.None;
    }

    /// <summary>Validates lengths and returns a view trimmed to the datagram's total length (link padding dropped).</summary>
    public static HeaderError TryCreate(ReadOnlySpan<byte> bytes, out IPv4Packet packet) =>
        TryCreateFromHead(bytes, bytes.Length, out packet); // all of it at hand: the view is bytes[..TotalLength]

    /// <summary>Like <see cref="TryCreate"/> for the datagram quoted inside an ICMP error (RFC 792), which is cut
    /// short on purpose: the total length field may exceed the bytes present, and the view spans what is there.</summary>
    public static HeaderError TryCreateTruncated(ReadOnlySpan<byte> bytes, out IPv4Packet packet)
    {
        packet = default;
        if (bytes.Length < MinHeaderLength)
        {
            return HeaderError.Truncated;
        }

        if (bytes[0] >> 4 != 4)
        {
            return HeaderError.BadVersion;
        }

        int headerLength = (bytes[0] & 0x0F) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]);
        if (headerLength < MinHeaderLength || totalLength < headerLength)
        {
            return HeaderError.BadLength;
        }

        if (headerLength > bytes.Length)
        {
            return HeaderError.Truncated;
        }

        packet = new IPv4Packet(bytes[..Math.Min(totalLength, bytes.Length)]);
        return HeaderError.None;
    }

    /// <summary>RFC 791 §3.1, Options: type-length-value, except End of Option List (0) and No Operation (1), which
    /// are one byte. Options are skipped, but their lengths must hold together.</summary>
    internal static HeaderError ValidateOptions(ReadOnlySpan<byte> options)
    {
        int i = 0;
        while (i < options.Length)
        {
            byte kind = options[i];
            if (kind == 0)
            {
                return HeaderError.None;
            }

            if (kind == 1)
            {
                i++;
                continue;
            }

            if (i + 1 >= options.Length)
            {
                return HeaderError.BadOption;
            }

            int length = options[i + 1];
            if (length < 2 || i + length > options.Length)
            {
                return HeaderError.BadOption;
            }

            i += length;
        }

        return HeaderError.None;
    }

    public ReadOnlySpan<byte> Bytes => _bytes;
    public int HeaderLength => (_bytes[0] & 0x0F) * 4;
    public byte Tos => _bytes[1];
    public int TotalLength => _totalLength;
    public ushort Identification => BinaryPrimitives.ReadUInt16BigEndian(_bytes[4..]);
    public bool DontFragment => (_bytes[6] & 0x40) != 0;
    public bool MoreFragments => (_bytes[6] & 0x20) != 0;
    public bool ReservedFlag => (_bytes[6] & 0x80) != 0;

    /// <summary>The fragment offset in bytes (the field counts 8-byte units).</summary>
    public int FragmentOffset => (BinaryPrimitives.ReadUInt16BigEndian(_bytes[6..]) & 0x1FFF) * 8;

    public bool IsFragment => MoreFragments || FragmentOffset != 0;
    public byte Ttl => _bytes[8];
    public byte Protocol => _bytes[9];
    public ushort HeaderChecksum => BinaryPrimitives.ReadUInt16BigEndian(_bytes[10..]);
    public IPv4Address Source => IPv4Address.Read(_bytes[12..]);
    public IPv4Address Destination => IPv4Address.Read(_bytes[16..]);
    public ReadOnlySpan<byte> Header => _bytes[..HeaderLength];
    public ReadOnlySpan<byte> Options => _bytes[MinHeaderLength..HeaderLength];
    public ReadOnlySpan<byte> Payload => _bytes[HeaderLength..];

    /// <summary>RFC 791 §3.1, Header Checksum: the checksum over the header verifies to zero.</summary>
    public bool IsChecksumValid => InternetChecksum.Compute(Header) == 0;

    /// <summary>Decrements the TTL in place and patches the checksum (RFC 1624), for forwarding.</summary>
    public static void DecrementTtl(Span<byte> header)
    {
        ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(header[8..]);
        header[8]--;
        ushort newWord = BinaryPrimitives.ReadUInt16BigEndian(header[8..]);
        ushort checksum = BinaryPrimitives.ReadUInt16BigEndian(header[10..]);
        BinaryPrimitives.WriteUInt16BigEndian(header[10..], InternetChecksum.Update(checksum, oldWord, newWord));
    }

    public override string ToString() =>
        $"IP {Source} > {Destination}: proto {Protocol} len {TotalLength} id {Identification} ttl {Ttl}" +
        (IsFragment ? $" frag {FragmentOffset}{(MoreFragments ? "+" : "")}" : "") + (DontFragment ? " DF" : "");
}
