using System.Buffers.Binary;

namespace Wirestack.Wire;

/// <summary>The validated, semantic part of an IPv4 header (RFC 791 §3.1). Options are not kept: this stack
/// emits none and skips those it receives.</summary>
public readonly record struct IPv4Header(
    IPv4Address Source,
    IPv4Address Destination,
    byte Protocol,
    int PayloadLength,
    byte Ttl = IPv4Header.DefaultTtl,
    byte Tos = 0,
    ushort Identification = 0,
    bool DontFragment = false,
    bool MoreFragments = false,
    int FragmentOffset = 0)
{
    /// <summary>Length of a header without options.</summary>
    public const int Length = 20;

    /// <summary>Linux's default <c>ip_default_ttl</c>.</summary>
    public const byte DefaultTtl = 64;

    /// <summary>Checks the header checksum and reads the fields the stack acts on.</summary>
    public static HeaderError TryParse(IPv4Packet packet, out IPv4Header header)
    {
        header = default;
        if (!packet.IsChecksumValid)
        {
            return HeaderError.BadChecksum;
        }

        header = new IPv4Header(packet.Source, packet.Destination, packet.Protocol, packet.TotalLength - packet.HeaderLength,
            packet.Ttl, packet.Tos, packet.Identification, packet.DontFragment, packet.MoreFragments, packet.FragmentOffset);
        return HeaderError.None;
    }

    /// <summary>Writes a 20-byte header with its checksum into <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Length)
        {
            throw new ArgumentException("an IPv4 header needs 20 bytes", nameof(destination));
        }

        if (FragmentOffset % 8 != 0 || (uint)FragmentOffset > 0xFFF8 || (uint)PayloadLength > 0xFFFF - Length)
        {
            throw new ArgumentException($"impossible IPv4 header: payload {PayloadLength} B, fragment offset {FragmentOffset}");
        }

        destination[0] = 0x45;
        destination[1] = Tos;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)(Length + PayloadLength));
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], Identification);
        ushort flagsAndOffset = (ushort)((DontFragment ? 0x4000 : 0) | (MoreFragments ? 0x2000 : 0) | (FragmentOffset / 8));
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], flagsAndOffset);
        destination[8] = Ttl;
        destination[9] = Protocol;
        destination[10] = 0;
        destination[11] = 0;
        Source.Write(destination[12..]);
        Destination.Write(destination[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(destination[10..], InternetChecksum.Compute(destination[..Length]));
    }
}
