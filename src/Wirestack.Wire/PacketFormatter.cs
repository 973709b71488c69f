using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Wirestack.Wire;

/// <summary>
/// One-line renderings of packets in the style of <c>tcpdump -n</c> (and <c>-e</c> for Ethernet), for tracing links,
/// pcap dumps and test failure messages. Read first: RFC 791 §3.1 (IPv4), RFC 9293 §3.1 (TCP), RFC 768 (UDP),
/// RFC 792 (ICMP), RFC 826 (ARP), RFC 894 (Ethernet).
/// </summary>
/// <remarks>
/// These methods take untrusted bytes and never throw: they decode leniently, render every field that is present,
/// and name what is wrong in square brackets, e.g. <c>[truncated-ip: 40 bytes missing]</c> or
/// <c>[bad tcp cksum 0x1234 -> 0xabcd]</c>. Checksums are verified only when the whole message is present
/// (not truncated, not a fragment). Informative notes, such as fragment details, are in parentheses.
/// </remarks>
public static partial class PacketFormatter
{
    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;

    /// <summary>Renders an IPv4 datagram and its TCP, UDP or ICMP payload, e.g.
    /// <c>10.0.0.1.5000 > 10.0.0.2.80: Flags [S], seq 1, win 65535, options [mss 1460], length 0</c>.</summary>
    public static string Format(ReadOnlySpan<byte> ipDatagram)
    {
        var sb = new StringBuilder(128);
        AppendIPv4(sb, ipDatagram);
        return sb.ToString();
    }

    /// <summary>Renders an Ethernet frame as <c>tcpdump -e</c> does: <c>src > dst, ethertype IPv4 (0x0800), length 74: </c>
    /// followed by the IPv4 or ARP rendering.</summary>
    public static string FormatEthernet(ReadOnlySpan<byte> frame)
    {
        var sb = new StringBuilder(160);
        if (EthernetFrame.TryCreate(frame, out EthernetFrame ethernet) != HeaderError.None)
        {
            sb.Append(s_invariant, $"[truncated Ethernet header: {frame.Length} of {EthernetFrame.HeaderLength} bytes]");
            return sb.ToString();
        }

        ushort type = ethernet.EtherType;
        sb.Append(s_invariant, $"{ethernet.Source} > {ethernet.Destination}, ");
        if (type < EtherType.MinEtherType)
        {
            // IEEE 802.3 §3.2.6: a value up to 1500 is the length of an 802.3/LLC payload, which we do not decode.
            sb.Append(s_invariant, $"802.3, length {frame.Length}: LLC length {type} (not decoded)");
            return sb.ToString();
        }

        string? name = EtherType.Name(type);
        sb.Append(s_invariant, $"ethertype {name ?? "Unknown"} (0x{type:x4}), length {frame.Length}");
        if (type == EtherType.IPv4)
        {
            sb.Append(": ");
            AppendIPv4(sb, ethernet.Payload);
        }
        else if (type == EtherType.Arp)
        {
            sb.Append(": ");
            AppendArp(sb, ethernet.Payload);
        }

        return sb.ToString();
    }

    /// <summary>tcpdump style for a valid ARP view: <c>ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28</c>.</summary>
    internal static string FormatArp(ArpPacket packet)
    {
        var sb = new StringBuilder(96);
        sb.Append("ARP, ");
        AppendArp(sb, packet.Bytes);
        return sb.ToString();
    }

    private static void AppendArp(StringBuilder sb, ReadOnlySpan<byte> bytes)
    {
        HeaderError error = ArpPacket.TryCreate(bytes, out ArpPacket arp);
        if (error == HeaderError.Truncated && bytes.Length < ArpPacket.FixedLength)
        {
            sb.Append(s_invariant, $"[truncated ARP: {bytes.Length} of {ArpPacket.Length} bytes]");
            return;
        }

        if (error == HeaderError.Unsupported)
        {
            sb.Append(s_invariant,
                $"[unsupported ARP: hardware type {BinaryPrimitives.ReadUInt16BigEndian(bytes)}, protocol 0x{BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]):x4}, hlen {bytes[4]}, plen {bytes[5]}], length {bytes.Length}");
            return;
        }

        if (error != HeaderError.None)
        {
            sb.Append(s_invariant, $"[truncated ARP: {bytes.Length} of {ArpPacket.Length} bytes]");
            return;
        }

        switch (arp.Operation)
        {
            case ArpOperation.Request:
                sb.Append(s_invariant, $"Request who-has {arp.TargetIp}");
                if (!arp.TargetMac.IsZero && !arp.TargetMac.IsBroadcast)
                {
                    sb.Append(s_invariant, $" ({arp.TargetMac})");
                }

                sb.Append(s_invariant, $" tell {arp.SenderIp}");
                break;
            case ArpOperation.Reply:
                sb.Append(s_invariant, $"Reply {arp.SenderIp} is-at {arp.SenderMac}");
                break;
            default:
                sb.Append(s_invariant, $"op {arp.Operation}, sender {arp.SenderMac} {arp.SenderIp}, target {arp.TargetMac} {arp.TargetIp}");
                break;
        }

        sb.Append(s_invariant, $", length {ArpPacket.Length}");
    }

    private static void AppendIPv4(StringBuilder sb, ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            sb.Append("[empty IPv4 datagram]");
            return;
        }

        int version = bytes[0] >> 4;
        if (version != 4)
        {
            sb.Append(s_invariant, $"[not IPv4: version {version}], length {bytes.Length}");
            return;
        }

        if (bytes.Length < IPv4Packet.MinHeaderLength)
        {
            sb.Append(s_invariant, $"[truncated IPv4 header: {bytes.Length} of {IPv4Packet.MinHeaderLength} bytes]");
            return;
        }

        int headerLength = (bytes[0] & 0x0F) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]);
        IPv4Address source = IPv4Address.Read(bytes[12..]);
        IPv4Address destination = IPv4Address.Read(bytes[16..]);

        // RFC 791 §3.1: IHL counts 32-bit words and "the minimum value for a correct header is 5"; Total Length
        // includes the header.
        if (headerLength < IPv4Packet.MinHeaderLength)
        {
            sb.Append(s_invariant, $"{source} > {destination}: [bad IPv4 header length {headerLength} < 20], length {bytes.Length}");
            return;
        }

        if (totalLength < headerLength)
        {
            sb.Append(s_invariant, $"{source} > {destination}: [bad IPv4 total length {totalLength} < header length {headerLength}]");
            return;
        }

        if (headerLength > bytes.Length)
        {
            sb.Append(s_invariant, $"{source} > {destination}: [truncated IPv4 header: {bytes.Length} of {headerLength} bytes]");
            return;
        }

        int end = Math.Min(totalLength, bytes.Length);
        ReadOnlySpan<byte> header = bytes[..headerLength];
        ReadOnlySpan<byte> payload = bytes[headerLength..end];
        int missing = totalLength - end;
        ushort flagsAndOffset = BinaryPrimitives.ReadUInt16BigEndian(bytes[6..]);
        bool moreFragments = (flagsAndOffset & 0x2000) != 0;
        int fragmentOffset = (flagsAndOffset & 0x1FFF) * 8;
        byte protocol = bytes[9];

        if (fragmentOffset != 0)
        {
            // A later fragment carries no transport header to decode.
            sb.Append(s_invariant, $"{source} > {destination}: {ProtocolName(protocol)} fragment, id {BinaryPrimitives.ReadUInt16BigEndian(bytes[4..])}, offset {fragmentOffset}{(moreFragments ? "+" : "")}, length {payload.Length}");
        }
        else
        {
            bool complete = missing == 0 && !moreFragments;
            AppendTransport(sb, protocol, source, destination, payload, complete);
            if (moreFragments)
            {
                sb.Append(s_invariant, $" (frag id {BinaryPrimitives.ReadUInt16BigEndian(bytes[4..])}, offset 0+)");
            }
        }

        if (IPv4Packet.ValidateOptions(header[IPv4Packet.MinHeaderLength..]) != HeaderError.None)
        {
            sb.Append(" [bad ip options]");
        }

        if (InternetChecksum.Compute(header) != 0)
        {
            ulong sum = InternetChecksum.Accumulate(header[12..], InternetChecksum.Accumulate(header[..10]));
            AppendBadChecksum(sb, "ip", BinaryPrimitives.ReadUInt16BigEndian(header[10..]), InternetChecksum.Finish(sum));
        }

        if (missing > 0)
        {
            sb.Append(s_invariant, $" [truncated-ip: {missing} bytes missing]");
        }
    }

    private static void AppendTransport(StringBuilder sb, byte protocol, IPv4Address source, IPv4Address destination,
        ReadOnlySpan<byte> payload, bool complete)
    {
        switch (protocol)
        {
            case IPProtocol.Tcp:
                AppendTcp(sb, source, destination, payload, complete);
                break;
            case IPProtocol.Udp:
                AppendUdp(sb, source, destination, payload, complete);
                break;
            case IPProtocol.Icmp:
                AppendIcmp(sb, source, destination, payload, complete);
                break;
            default:
                sb.Append(s_invariant, $"{source} > {destination}: ip-proto-{protocol} {payload.Length}");
                break;
        }
    }

    private static string ProtocolName(byte protocol) => protocol switch
    {
        IPProtocol.Tcp => "TCP",
        IPProtocol.Udp => "UDP",
        IPProtocol.Icmp => "ICMP",
        _ => "ip-proto-" + protocol.ToString(s_invariant),
    };

    private static void AppendBadChecksum(StringBuilder sb, string what, ushort stored, ushort correct) =>
        sb.Append(s_invariant, $" [bad {what} cksum 0x{stored:x4} -> 0x{correct:x4}]");
}
