using System.Buffers.Binary;

namespace Wirestack.Wire;

/// <summary>
/// A zero-copy view of an ARP packet (RFC 826) for IPv4 over Ethernet: hardware type 1, protocol type 0x0800,
/// hardware length 6, protocol length 4. Anything else is <see cref="HeaderError.Unsupported"/>. The view is trimmed
/// to the 28 bytes such a packet has (Ethernet padding dropped). After <see cref="TryCreate"/> succeeds, no member
/// of this view can throw.
/// </summary>
public readonly ref struct ArpPacket
{
    /// <summary>RFC 826 "ar$hrd" for Ethernet (IANA ARP hardware type 1).</summary>
    public const ushort HardwareTypeEthernet = 1;

    /// <summary>hrd(2) pro(2) hln(1) pln(1) op(2): the part before the addresses.</summary>
    public const int FixedLength = 8;

    /// <summary>The whole packet for Ethernet/IPv4: 8 + 2 × 6 + 2 × 4.</summary>
    public const int Length = FixedLength + (2 * MacAddress.Length) + (2 * 4);

    private readonly ReadOnlySpan<byte> _bytes;

    private ArpPacket(ReadOnlySpan<byte> bytes) => _bytes = bytes;

    /// <returns><see cref="HeaderError.Truncated"/> if the fixed part or the addresses are cut short;
    /// <see cref="HeaderError.Unsupported"/> for any hardware/protocol pair other than Ethernet/IPv4.</returns>
    public static HeaderError TryCreate(ReadOnlySpan<byte> bytes, out ArpPacket packet)
    {
        packet = default;
        if (bytes.Length < FixedLength)
        {
            return HeaderError.Truncated;
        }

        // RFC 826, packet reception: "?Do I have the hardware type in ar$hrd? Yes: (almost definitely)
        // [optionally check the hardware length ar$hln] ?Do I speak the protocol in ar$pro?" We check both lengths
        // too, since the address offsets below depend on them.
        if (BinaryPrimitives.ReadUInt16BigEndian(bytes) != HardwareTypeEthernet ||
            BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]) != EtherType.IPv4 ||
            bytes[4] != MacAddress.Length || bytes[5] != 4)
        {
            return HeaderError.Unsupported;
        }

        if (bytes.Length < Length)
        {
            return HeaderError.Truncated;
        }

        packet = new ArpPacket(bytes[..Length]);
        return HeaderError.None;
    }

    public ReadOnlySpan<byte> Bytes => _bytes;
    public ushort HardwareType => BinaryPrimitives.ReadUInt16BigEndian(_bytes);
    public ushort ProtocolType => BinaryPrimitives.ReadUInt16BigEndian(_bytes[2..]);

    /// <summary>Request (1) or reply (2), see <see cref="ArpOperation"/>; other values are passed through.</summary>
    public ushort Operation => BinaryPrimitives.ReadUInt16BigEndian(_bytes[6..]);
    public MacAddress SenderMac => MacAddress.Read(_bytes[8..]);
    public IPv4Address SenderIp => IPv4Address.Read(_bytes[14..]);
    public MacAddress TargetMac => MacAddress.Read(_bytes[18..]);
    public IPv4Address TargetIp => IPv4Address.Read(_bytes[24..]);

    /// <summary>Writes a 28-byte Ethernet/IPv4 ARP packet and returns its length.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than 28 bytes.</exception>
    public static int Write(Span<byte> destination, ushort operation, MacAddress senderMac, IPv4Address senderIp,
        MacAddress targetMac, IPv4Address targetIp)
    {
        if (destination.Length < Length)
        {
            throw new ArgumentException("an ARP packet needs 28 bytes", nameof(destination));
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination, HardwareTypeEthernet);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], EtherType.IPv4);
        destination[4] = MacAddress.Length;
        destination[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], operation);
        senderMac.Write(destination[8..]);
        senderIp.Write(destination[14..]);
        targetMac.Write(destination[18..]);
        targetIp.Write(destination[24..]);
        return Length;
    }

    /// <summary>tcpdump style: <c>ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28</c>.</summary>
    public override string ToString() => PacketFormatter.FormatArp(this);
}
