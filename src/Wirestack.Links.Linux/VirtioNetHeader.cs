// The virtio-net header a TUN device opened with IFF_VNET_HDR puts in front of every packet it hands over and expects
// in front of every packet written to it (Documentation/networking/tuntap.rst; the structure is struct virtio_net_hdr
// of include/uapi/linux/virtio_net.h, 10 bytes, the fields in the device's endianness, which for a legacy header
// without TUNSETVNETLE is the machine's own: little-endian on x86-64 and arm64):
//
//   offset 0  u8   flags        VIRTIO_NET_HDR_F_NEEDS_CSUM (1): the transport checksum is partial (the field holds
//                               the pseudo-header sum only); the sum of bytes from csum_start to the end, complemented,
//                               goes at csum_start + csum_offset. VIRTIO_NET_HDR_F_DATA_VALID (2): the checksum has
//                               been checked already (only from the kernel to us).
//   offset 1  u8   gso_type     VIRTIO_NET_HDR_GSO_NONE (0), _TCPV4 (1), _UDP (3), _TCPV6 (4), _UDP_L4 (5), | _ECN (0x80)
//   offset 2  u16  hdr_len      bytes of headers (IP + TCP) in front of the payload to be segmented
//   offset 4  u16  gso_size     payload bytes per segment (the MSS)
//   offset 6  u16  csum_start   where checksumming starts (the transport header, counted from the IP header)
//   offset 8  u16  csum_offset  where in it the checksum goes (16 for TCP, 6 for UDP)
//
// With TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4) the kernel may hand us TCP segments of up to 64 KiB (its TSO/GSO
// packet, gso_type TCPV4) and partial checksums; we may hand it the same, and it takes a large segment whole (a local
// socket receives it as one GRO packet; a forwarded one is segmented by GSO).
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Wirestack.Wire;

namespace Wirestack.Links.Linux;

/// <summary><c>struct virtio_net_hdr</c> (see the file comment), with what the TUN device does with it on the way
/// out (<see cref="ForTransmit"/>) and on the way in (<see cref="TryCompleteChecksum"/>).</summary>
public readonly record struct VirtioNetHeader(byte Flags, byte GsoType, ushort HeaderLength, ushort GsoSize, ushort ChecksumStart, ushort ChecksumOffset)
{
    /// <summary>sizeof(struct virtio_net_hdr).</summary>
    public const int Size = 10;

    /// <summary>VIRTIO_NET_HDR_F_NEEDS_CSUM: use csum_start, csum_offset.</summary>
    public const byte FlagNeedsChecksum = 1;

    /// <summary>VIRTIO_NET_HDR_F_DATA_VALID: the checksum is valid.</summary>
    public const byte FlagDataValid = 2;

    /// <summary>VIRTIO_NET_HDR_GSO_NONE: not a GSO frame.</summary>
    public const byte GsoNone = 0;

    /// <summary>VIRTIO_NET_HDR_GSO_TCPV4: GSO frame, IPv4 TCP (TSO).</summary>
    public const byte GsoTcpV4 = 1;

    /// <summary>VIRTIO_NET_HDR_GSO_ECN: the TCP segments have ECN's CWR set (or'ed into gso_type).</summary>
    public const byte GsoEcn = 0x80;

    /// <summary>offsetof(struct tcphdr, check).</summary>
    public const int TcpChecksumOffset = 16;

    /// <summary>offsetof(struct udphdr, check).</summary>
    public const int UdpChecksumOffset = 6;

    /// <summary>Whether the packet is a large segment (any GSO type).</summary>
    public bool IsGso => (GsoType & ~GsoEcn) != GsoNone;

    /// <summary>Decodes the first <see cref="Size"/> bytes of <paramref name="source"/>.</summary>
    public static VirtioNetHeader Read(ReadOnlySpan<byte> source)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(source.Length, Size, nameof(source));
        return new VirtioNetHeader(source[0], source[1],
            BinaryPrimitives.ReadUInt16LittleEndian(source[2..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[4..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[6..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[8..]));
    }

    /// <summary>Encodes the header into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, Size, nameof(destination));
        destination[0] = Flags;
        destination[1] = GsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], HeaderLength);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], GsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], ChecksumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], ChecksumOffset);
    }

    /// <summary>
    /// The header for an IPv4 <paramref name="datagram"/> about to be written to a device with offloads on. A TCP
    /// segment (not a fragment) longer than <paramref name="mtu"/> becomes a GSO packet (gso_type TCPV4, hdr_len the
    /// IP and TCP headers, gso_size <paramref name="gsoSize"/>, or what fits the MTU when that is 0). A TCP segment of
    /// any size goes with a partial checksum (NEEDS_CSUM; the checksum field is rewritten to the pseudo-header sum, as
    /// Linux's own TCP leaves it for a device with checksum offload), so the kernel, which treats such a packet as
    /// checksummed (CHECKSUM_PARTIAL), does not sum it again. Anything else goes with an all-zero header, checksums
    /// complete. Null when the datagram cannot go: longer than the MTU and not a TCP segment, or a malformed one.
    /// </summary>
    public static VirtioNetHeader? ForTransmit(Span<byte> datagram, int mtu, int gsoSize)
    {
        if (!TryTcp(datagram, out int ipHeaderLength, out int headerLength))
        {
            return datagram.Length > mtu ? null : default(VirtioNetHeader);
        }

        // The checksum field gets the folded sum of the pseudo-header (source, destination, protocol, TCP length),
        // not complemented: what is left is to sum from csum_start to the end (skb->ip_summed = CHECKSUM_PARTIAL).
        int tcpLength = datagram.Length - ipHeaderLength;
        ulong pseudo = InternetChecksum.PseudoHeader(IPv4Address.Read(datagram[12..]), IPv4Address.Read(datagram[16..]), 6, tcpLength);
        MemoryMarshal.Write(datagram[(ipHeaderLength + TcpChecksumOffset)..], (ushort)InternetChecksum.Fold(pseudo));
        if (datagram.Length <= mtu)
        {
            return new VirtioNetHeader(FlagNeedsChecksum, GsoNone, 0, 0, (ushort)ipHeaderLength, TcpChecksumOffset);
        }

        int segment = gsoSize > 0 ? gsoSize : mtu - headerLength;
        if (segment <= 0)
        {
            return null;
        }

        return new VirtioNetHeader(FlagNeedsChecksum, GsoTcpV4, (ushort)headerLength, (ushort)Math.Min(segment, ushort.MaxValue),
            (ushort)ipHeaderLength, TcpChecksumOffset);
    }

    /// <summary>
    /// Completes a partial checksum (NEEDS_CSUM) in a received <paramref name="datagram"/>, as Linux's
    /// skb_checksum_help does: sums the bytes from csum_start to the end (the checksum field holds the pseudo-header
    /// sum) and writes the complement at csum_start + csum_offset. True when there was nothing to complete or it is
    /// complete now; false when csum_start/csum_offset point outside the datagram (it should be dropped).
    /// </summary>
    public bool TryCompleteChecksum(Span<byte> datagram)
    {
        if ((Flags & FlagNeedsChecksum) == 0)
        {
            return true;
        }

        int field = ChecksumStart + ChecksumOffset;
        if (ChecksumStart >= datagram.Length || field + 2 > datagram.Length)
        {
            return false;
        }

        ushort checksum = InternetChecksum.Finish(InternetChecksum.Accumulate(datagram[ChecksumStart..]));
        if (checksum == 0 && ChecksumOffset == UdpChecksumOffset)
        {
            checksum = 0xFFFF; // RFC 768: a computed zero is sent as all ones (0 means no checksum)
        }

        BinaryPrimitives.WriteUInt16BigEndian(datagram[field..], checksum);
        return true;
    }

    /// <summary>An unfragmented IPv4 datagram carrying a whole TCP header: its IP header length and the length of
    /// both headers.</summary>
    private static bool TryTcp(ReadOnlySpan<byte> datagram, out int ipHeaderLength, out int headerLength)
    {
        ipHeaderLength = headerLength = 0;
        if (datagram.Length < 20 || datagram[0] >> 4 != 4 || datagram[9] != 6)
        {
            return false;
        }

        ipHeaderLength = (datagram[0] & 0xF) * 4;
        bool fragment = (BinaryPrimitives.ReadUInt16BigEndian(datagram[6..]) & 0x3FFF) != 0; // MF or an offset
        if (ipHeaderLength < 20 || fragment || BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]) != datagram.Length
            || datagram.Length < ipHeaderLength + 20)
        {
            return false;
        }

        headerLength = ipHeaderLength + (datagram[ipHeaderLength + 12] >> 4) * 4;
        return headerLength >= ipHeaderLength + 20 && headerLength <= datagram.Length;
    }
}
