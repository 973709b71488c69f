using System.Buffers.Binary;
using System.Text;

namespace Wirestack.Wire;

/// <summary>TCP, UDP and ICMP renderings for <see cref="PacketFormatter"/>. Every index below is checked against the
/// bytes present: the input may be any garbage.</summary>
public static partial class PacketFormatter
{
    private static void AppendTcp(StringBuilder sb, IPv4Address source, IPv4Address destination, ReadOnlySpan<byte> tcp, bool complete)
    {
        if (tcp.Length < 4)
        {
            sb.Append(s_invariant, $"{source} > {destination}: [truncated tcp header: {tcp.Length} of {TcpSegment.MinHeaderLength} bytes]");
            return;
        }

        sb.Append(s_invariant, $"{source}.{BinaryPrimitives.ReadUInt16BigEndian(tcp)} > {destination}.{BinaryPrimitives.ReadUInt16BigEndian(tcp[2..])}: ");
        if (tcp.Length < TcpSegment.MinHeaderLength)
        {
            sb.Append(s_invariant, $"[truncated tcp header: {tcp.Length} of {TcpSegment.MinHeaderLength} bytes]");
            return;
        }

        // RFC 9293 §3.1: Data Offset is the header length in 32-bit words, at least 5.
        int dataOffset = (tcp[12] >> 4) * 4;
        bool headerValid = dataOffset >= TcpSegment.MinHeaderLength && dataOffset <= tcp.Length;
        int dataLength = headerValid ? tcp.Length - dataOffset : 0;
        var flags = (TcpFlags)tcp[13];
        uint seq = BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]);
        string flagText = TcpHeader.FlagString(flags);
        sb.Append(s_invariant, $"Flags [{(flagText.Length == 0 ? "none" : flagText)}], seq {seq}");
        if (dataLength > 0)
        {
            sb.Append(s_invariant, $":{unchecked(seq + (uint)dataLength)}");
        }

        if ((flags & TcpFlags.Ack) != 0)
        {
            sb.Append(s_invariant, $", ack {BinaryPrimitives.ReadUInt32BigEndian(tcp[8..])}");
        }

        sb.Append(s_invariant, $", win {BinaryPrimitives.ReadUInt16BigEndian(tcp[14..])}");
        if ((flags & TcpFlags.Urg) != 0)
        {
            sb.Append(s_invariant, $", urg {BinaryPrimitives.ReadUInt16BigEndian(tcp[18..])}");
        }

        if (headerValid && dataOffset > TcpSegment.MinHeaderLength)
        {
            sb.Append(", options [");
            AppendTcpOptions(sb, tcp[TcpSegment.MinHeaderLength..dataOffset]);
            sb.Append(']');
        }

        sb.Append(s_invariant, $", length {dataLength}");
        if (dataOffset < TcpSegment.MinHeaderLength)
        {
            sb.Append(s_invariant, $" [bad tcp header length {dataOffset} < 20]");
        }
        else if (dataOffset > tcp.Length)
        {
            sb.Append(s_invariant, $" [truncated tcp header: {tcp.Length} of {dataOffset} bytes]");
        }
        else if (complete)
        {
            ulong pseudo = InternetChecksum.PseudoHeader(source, destination, IPProtocol.Tcp, tcp.Length);
            if (InternetChecksum.Finish(InternetChecksum.Accumulate(tcp, pseudo)) != 0)
            {
                ulong sum = InternetChecksum.Accumulate(tcp[18..], InternetChecksum.Accumulate(tcp[..16], pseudo));
                AppendBadChecksum(sb, "tcp", BinaryPrimitives.ReadUInt16BigEndian(tcp[16..]), InternetChecksum.Finish(sum));
            }
        }
    }

    /// <summary>Options in wire order, as tcpdump lists them: <c>mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7</c>.</summary>
    private static void AppendTcpOptions(StringBuilder sb, ReadOnlySpan<byte> options)
    {
        int i = 0;
        bool first = true;
        while (i < options.Length)
        {
            if (!first)
            {
                sb.Append(',');
            }

            first = false;
            byte kind = options[i];
            if (kind == TcpOptions.KindEnd)
            {
                sb.Append("eol");
                return;
            }

            if (kind == TcpOptions.KindNop)
            {
                sb.Append("nop");
                i++;
                continue;
            }

            // RFC 9293 §3.2: other options carry a length that counts the kind and length bytes.
            int length = i + 1 < options.Length ? options[i + 1] : -1;
            if (length < 2 || i + length > options.Length)
            {
                sb.Append(s_invariant, $"[bad opt: kind {kind}, length {(length < 0 ? "missing" : length.ToString(s_invariant))}]");
                return;
            }

            AppendTcpOption(sb, kind, options.Slice(i + 2, length - 2));
            i += length;
        }
    }

    private static void AppendTcpOption(StringBuilder sb, byte kind, ReadOnlySpan<byte> value)
    {
        switch (kind)
        {
            case TcpOptions.KindMss when value.Length == 2:
                sb.Append(s_invariant, $"mss {BinaryPrimitives.ReadUInt16BigEndian(value)}");
                break;
            case TcpOptions.KindWindowScale when value.Length == 1:
                sb.Append(s_invariant, $"wscale {value[0]}");
                if (value[0] > TcpOptions.MaxWindowScale)
                {
                    // RFC 7323 §2.3: a receiver MUST use 14 instead of a larger shift.
                    sb.Append(" [> 14]");
                }

                break;
            case TcpOptions.KindSackPermitted when value.Length == 0:
                sb.Append("sackOK");
                break;
            case TcpOptions.KindTimestamp when value.Length == 8:
                sb.Append(s_invariant, $"TS val {BinaryPrimitives.ReadUInt32BigEndian(value)} ecr {BinaryPrimitives.ReadUInt32BigEndian(value[4..])}");
                break;
            case TcpOptions.KindSack when value.Length > 0 && value.Length % 8 == 0:
                // RFC 2018 §3: n blocks of left edge, right edge.
                sb.Append(s_invariant, $"sack {value.Length / 8} ");
                for (int b = 0; b + 8 <= value.Length; b += 8)
                {
                    sb.Append(s_invariant, $"{{{BinaryPrimitives.ReadUInt32BigEndian(value[b..])}:{BinaryPrimitives.ReadUInt32BigEndian(value[(b + 4)..])}}}");
                }

                break;
            case TcpOptions.KindMss or TcpOptions.KindWindowScale or TcpOptions.KindSackPermitted or TcpOptions.KindTimestamp or TcpOptions.KindSack:
                sb.Append(s_invariant, $"[bad opt: kind {kind}, length {value.Length + 2}]");
                break;
            default:
                sb.Append(s_invariant, $"unknown-{kind}");
                break;
        }
    }

    private static void AppendUdp(StringBuilder sb, IPv4Address source, IPv4Address destination, ReadOnlySpan<byte> udp, bool complete)
    {
        if (udp.Length < 4)
        {
            sb.Append(s_invariant, $"{source} > {destination}: UDP, [truncated udp header: {udp.Length} of {UdpDatagram.HeaderLength} bytes]");
            return;
        }

        sb.Append(s_invariant, $"{source}.{BinaryPrimitives.ReadUInt16BigEndian(udp)} > {destination}.{BinaryPrimitives.ReadUInt16BigEndian(udp[2..])}: UDP, ");
        if (udp.Length < UdpDatagram.HeaderLength)
        {
            sb.Append(s_invariant, $"[truncated udp header: {udp.Length} of {UdpDatagram.HeaderLength} bytes]");
            return;
        }

        // RFC 768: Length counts header and data, so it is at least 8.
        int length = BinaryPrimitives.ReadUInt16BigEndian(udp[4..]);
        if (length < UdpDatagram.HeaderLength)
        {
            sb.Append(s_invariant, $"[bad udp length {length} < 8], length {udp.Length - UdpDatagram.HeaderLength}");
            return;
        }

        if (length > udp.Length)
        {
            // In a first fragment or a truncated capture the rest is simply not here (the IPv4 notes say so);
            // in a whole datagram the length field is lying.
            if (complete)
            {
                sb.Append(s_invariant, $"[bad udp length {length} > {udp.Length} bytes present], length {udp.Length - UdpDatagram.HeaderLength}");
            }
            else
            {
                sb.Append(s_invariant, $"length {length - UdpDatagram.HeaderLength}");
            }

            return;
        }

        sb.Append(s_invariant, $"length {length - UdpDatagram.HeaderLength}");
        ushort stored = BinaryPrimitives.ReadUInt16BigEndian(udp[6..]);
        if (complete && stored != 0)
        {
            ulong pseudo = InternetChecksum.PseudoHeader(source, destination, IPProtocol.Udp, length);
            if (InternetChecksum.Finish(InternetChecksum.Accumulate(udp[..length], pseudo)) != 0)
            {
                ushort correct = InternetChecksum.Finish(InternetChecksum.Accumulate(udp[8..length], InternetChecksum.Accumulate(udp[..6], pseudo)));
                // RFC 768: a computed zero is sent as all ones.
                AppendBadChecksum(sb, "udp", stored, correct == 0 ? (ushort)0xFFFF : correct);
            }
        }
    }

    private static void AppendIcmp(StringBuilder sb, IPv4Address source, IPv4Address destination, ReadOnlySpan<byte> icmp, bool complete)
    {
        sb.Append(s_invariant, $"{source} > {destination}: ICMP ");
        if (IcmpV4Packet.TryCreate(icmp, out IcmpV4Packet packet) != HeaderError.None)
        {
            sb.Append(s_invariant, $"[truncated icmp header: {icmp.Length} of {IcmpV4Packet.HeaderLength} bytes]");
            return;
        }

        switch (packet.Type)
        {
            case IcmpV4Type.Echo:
                sb.Append(s_invariant, $"echo request, id {packet.Identifier}, seq {packet.SequenceNumber}");
                break;
            case IcmpV4Type.EchoReply:
                sb.Append(s_invariant, $"echo reply, id {packet.Identifier}, seq {packet.SequenceNumber}");
                break;
            case IcmpV4Type.DestinationUnreachable:
                AppendUnreachable(sb, packet);
                break;
            case IcmpV4Type.TimeExceeded:
                sb.Append(packet.Code switch
                {
                    0 => "time exceeded in-transit",
                    1 => "ip reassembly time exceeded",
                    _ => "time exceeded, code " + packet.Code.ToString(s_invariant),
                });
                break;
            case IcmpV4Type.ParameterProblem:
                // RFC 792: the pointer is the first byte of the type-specific header.
                sb.Append(s_invariant, $"parameter problem - octet {packet.Bytes[4]}");
                break;
            default:
                sb.Append(s_invariant, $"type {packet.Type}, code {packet.Code}");
                break;
        }

        sb.Append(s_invariant, $", length {icmp.Length}");
        if (complete && !packet.IsChecksumValid)
        {
            ulong sum = InternetChecksum.Accumulate(icmp[4..], InternetChecksum.Accumulate(icmp[..2]));
            AppendBadChecksum(sb, "icmp", packet.Checksum, InternetChecksum.Finish(sum));
        }
    }

    /// <summary>RFC 792, Destination Unreachable: the body quotes the internet header plus the first 64 bits of the
    /// original datagram, which name the unreachable destination, protocol and port.</summary>
    private static void AppendUnreachable(StringBuilder sb, IcmpV4Packet packet)
    {
        ReadOnlySpan<byte> quoted = packet.Body;
        int quotedHeaderLength = quoted.Length >= IPv4Packet.MinHeaderLength && quoted[0] >> 4 == 4 ? (quoted[0] & 0x0F) * 4 : 0;
        if (quotedHeaderLength < IPv4Packet.MinHeaderLength || quotedHeaderLength > quoted.Length)
        {
            sb.Append(s_invariant, $"unreachable, code {packet.Code} [bad quoted datagram: {quoted.Length} bytes]");
            return;
        }

        IPv4Address target = IPv4Address.Read(quoted[16..]);
        byte protocol = quoted[9];
        ReadOnlySpan<byte> transport = quoted[quotedHeaderLength..];
        switch (packet.Code)
        {
            case IcmpV4UnreachableCode.Network:
                sb.Append(s_invariant, $"net {target} unreachable");
                break;
            case IcmpV4UnreachableCode.Host:
                sb.Append(s_invariant, $"host {target} unreachable");
                break;
            case IcmpV4UnreachableCode.Protocol:
                sb.Append(s_invariant, $"{target} protocol {protocol} unreachable");
                break;
            case IcmpV4UnreachableCode.Port when transport.Length >= 4 && protocol is IPProtocol.Tcp or IPProtocol.Udp:
                sb.Append(s_invariant, $"{target} {(protocol == IPProtocol.Tcp ? "tcp" : "udp")} port {BinaryPrimitives.ReadUInt16BigEndian(transport[2..])} unreachable");
                break;
            case IcmpV4UnreachableCode.Port:
                sb.Append(s_invariant, $"{target} {ProtocolName(protocol)} port unreachable");
                break;
            case IcmpV4UnreachableCode.FragmentationNeeded:
                // RFC 1191 §4: the next-hop MTU is in the low 16 bits of the type-specific header.
                sb.Append(s_invariant, $"{target} unreachable - need to frag (mtu {packet.NextHopMtu})");
                break;
            case IcmpV4UnreachableCode.AdministrativelyProhibited:
                sb.Append(s_invariant, $"{target} unreachable - admin prohibited filter");
                break;
            default:
                sb.Append(s_invariant, $"{target} unreachable, code {packet.Code}");
                break;
        }
    }
}
