using System.Buffers.Binary;

namespace Wirestack.Wire;

/// <summary>
/// A zero-copy view of an Ethernet II frame (RFC 894; IEEE 802.3 §3.2): destination, source, EtherType, payload. The
/// frame check sequence is not part of the view (links hand over frames without it). The payload keeps any padding
/// up to the 60-byte minimum frame; the IPv4 and ARP views trim it by their own length fields.
/// After <see cref="TryCreate"/> succeeds, no member of this view can throw.
/// </summary>
public readonly ref struct EthernetFrame
{
    /// <summary>Destination (6) + source (6) + EtherType (2).</summary>
    public const int HeaderLength = 14;

    private readonly ReadOnlySpan<byte> _bytes;

    private EthernetFrame(ReadOnlySpan<byte> bytes) => _bytes = bytes;

    /// <returns><see cref="HeaderError.Truncated"/> when fewer than 14 bytes are present.</returns>
    public static HeaderError TryCreate(ReadOnlySpan<byte> bytes, out EthernetFrame frame)
    {
        frame = default;
        if (bytes.Length < HeaderLength)
        {
            return HeaderError.Truncated;
        }

        frame = new EthernetFrame(bytes);
        return HeaderError.None;
    }

    public ReadOnlySpan<byte> Bytes => _bytes;
    public MacAddress Destination => MacAddress.Read(_bytes);
    public MacAddress Source => MacAddress.Read(_bytes[6..]);

    /// <summary>The Length/Type field; see <see cref="Wire.EtherType.MinEtherType"/> for lengths.</summary>
    public ushort EtherType => BinaryPrimitives.ReadUInt16BigEndian(_bytes[12..]);
    public ReadOnlySpan<byte> Header => _bytes[..HeaderLength];
    public ReadOnlySpan<byte> Payload => _bytes[HeaderLength..];

    /// <summary>Writes the 14-byte header at the front of <paramref name="frame"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="frame"/> is shorter than 14 bytes.</exception>
    public static void WriteHeader(Span<byte> frame, MacAddress destination, MacAddress source, ushort etherType)
    {
        if (frame.Length < HeaderLength)
        {
            throw new ArgumentException("an Ethernet header needs 14 bytes", nameof(frame));
        }

        destination.Write(frame);
        source.Write(frame[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[12..], etherType);
    }

    /// <summary>The frame in tcpdump -e style; see <see cref="PacketFormatter.FormatEthernet"/>.</summary>
    public override string ToString() => PacketFormatter.FormatEthernet(_bytes);
}
