namespace Wirestack.Wire.Tests;

/// <summary>Raised when a view breaks its contract on mutated input (distinct from exceptions the code under test throws).</summary>
internal sealed class ContractViolation(string message) : Exception(message);

/// <summary>
/// Runs every parser and accessor of one protocol over (possibly garbage) bytes, allocation-free, and checks the
/// view contract: an accepted view's spans lie inside the input and its lengths agree; a rejected one is empty and
/// its error is one the parser documents. Everything read is folded into <c>sink</c> so nothing is optimised away.
/// </summary>
internal static class ViewChecks
{
    public static void Within(ReadOnlySpan<byte> input, ReadOnlySpan<byte> inner, string what)
    {
        if (inner.IsEmpty)
        {
            return;
        }

        if (!input.Overlaps(inner, out int offset) || offset < 0 || offset + inner.Length > input.Length)
        {
            throw new ContractViolation($"{what} lies outside the input");
        }
    }

    public static void That(bool condition, string what)
    {
        if (!condition)
        {
            throw new ContractViolation(what);
        }
    }

    public static void IPv4(ReadOnlySpan<byte> input, ref ulong sink)
    {
        HeaderError error = IPv4Packet.TryCreate(input, out IPv4Packet packet);
        if (error != HeaderError.None)
        {
            That(error is HeaderError.Truncated or HeaderError.BadVersion or HeaderError.BadLength or HeaderError.BadOption, "unexpected IPv4 error");
            That(packet.Bytes.IsEmpty, "rejected IPv4 view is not empty");
            return;
        }

        Within(input, packet.Bytes, "IPv4 bytes");
        Within(input, packet.Header, "IPv4 header");
        Within(input, packet.Options, "IPv4 options");
        Within(input, packet.Payload, "IPv4 payload");
        That(packet.HeaderLength >= IPv4Packet.MinHeaderLength && packet.HeaderLength <= packet.TotalLength, "IPv4 header length");
        That(packet.TotalLength <= input.Length && packet.Payload.Length == packet.TotalLength - packet.HeaderLength, "IPv4 total length");
        sink += (ulong)(packet.Tos + packet.Identification + packet.FragmentOffset + packet.Ttl + packet.Protocol + packet.HeaderChecksum);
        sink += packet.Source.Value ^ packet.Destination.Value;
        sink += (packet.DontFragment ? 1UL : 0) + (packet.MoreFragments ? 2UL : 0) + (packet.ReservedFlag ? 4UL : 0) + (packet.IsFragment ? 8UL : 0);

        bool checksumValid = packet.IsChecksumValid;
        if (IPv4Header.TryParse(packet, out IPv4Header header) == HeaderError.None)
        {
            That(checksumValid && header.PayloadLength == packet.Payload.Length, "IPv4 header record");
            sink += (ulong)header.PayloadLength;

            // RFC 1624: decrementing the TTL with the incremental update keeps a valid checksum valid.
            Span<byte> copy = stackalloc byte[60];
            packet.Header.CopyTo(copy);
            IPv4Packet.DecrementTtl(copy[..packet.HeaderLength]);
            That(InternetChecksum.Compute(copy[..packet.HeaderLength]) == 0, "checksum invalid after DecrementTtl");
        }

        if (packet.FragmentOffset == 0)
        {
            switch (packet.Protocol)
            {
                case IPProtocol.Tcp:
                    Tcp(packet.Payload, packet.Source, packet.Destination, ref sink);
                    break;
                case IPProtocol.Udp:
                    Udp(packet.Payload, packet.Source, packet.Destination, ref sink);
                    break;
                case IPProtocol.Icmp:
                    Icmp(packet.Payload, ref sink);
                    break;
            }
        }
    }

    public static void Tcp(ReadOnlySpan<byte> input, IPv4Address source, IPv4Address destination, ref ulong sink)
    {
        // The option parser on its own, over whatever bytes are there (it must cope with any 0..40 bytes).
        HeaderError raw = TcpOptions.TryParse(input[..Math.Min(input.Length, TcpOptions.MaxLength)], out TcpOptions rawOptions);
        That(raw is HeaderError.None or HeaderError.BadOption, "unexpected TCP option error");
        sink += (ulong)rawOptions.SackCount;

        HeaderError error = TcpSegment.TryCreate(input, out TcpSegment segment);
        if (error != HeaderError.None)
        {
            That(error is HeaderError.Truncated or HeaderError.BadLength, "unexpected TCP error");
            That(segment.Bytes.IsEmpty, "rejected TCP view is not empty");
            return;
        }

        Within(input, segment.Bytes, "TCP bytes");
        Within(input, segment.Options, "TCP options");
        Within(input, segment.Payload, "TCP payload");
        That(segment.HeaderLength >= TcpSegment.MinHeaderLength && segment.HeaderLength <= input.Length, "TCP header length");
        That(segment.Options.Length == segment.HeaderLength - TcpSegment.MinHeaderLength, "TCP options length");
        sink += (ulong)(segment.SourcePort + segment.DestinationPort + (int)segment.Flags + segment.Window + segment.Checksum + segment.UrgentPointer);
        sink += segment.SequenceNumber.Value ^ segment.AcknowledgmentNumber.Value;

        bool checksumValid = segment.IsChecksumValid(source, destination);
        HeaderError checkedError = TcpHeader.TryParse(segment, source, destination, out _);
        That(checksumValid ? checkedError is HeaderError.None or HeaderError.BadOption : checkedError == HeaderError.BadChecksum, "TCP checksum verdict");

        if (TcpHeader.TryParseUnchecked(segment, out TcpHeader header) == HeaderError.None)
        {
            ref TcpOptions options = ref header.Options;
            That(options.SackCount is >= 0 and <= TcpOptions.MaxSackBlocks, "SACK count");
            That(options.WindowScale is null or <= TcpOptions.MaxWindowScale, "window scale not clamped");
            sink += (ulong)(options.Mss ?? 0) + options.TsVal + options.TsEcr;

            // Emit what was parsed and parse it again: the record must survive (bar the receive-side clamp flag),
            // whenever its canonical encoding fits in 40 bytes.
            if (options.EncodedLength <= TcpOptions.MaxLength)
            {
                Span<byte> emitted = stackalloc byte[TcpSegment.MinHeaderLength + TcpOptions.MaxLength];
                emitted = emitted[..header.Length];
                header.WriteTo(emitted, source, destination);
                That(TcpSegment.TryCreate(emitted, out TcpSegment again) == HeaderError.None, "re-emitted TCP view");
                That(TcpHeader.TryParse(again, source, destination, out TcpHeader reparsed) == HeaderError.None, "re-emitted TCP header");
                header.Options.WindowScaleClamped = false;
                That(reparsed.Equals(header), "TCP header did not survive emit and parse");
            }
        }
    }

    public static void Udp(ReadOnlySpan<byte> input, IPv4Address source, IPv4Address destination, ref ulong sink)
    {
        HeaderError error = UdpDatagram.TryCreate(input, out UdpDatagram datagram);
        if (error != HeaderError.None)
        {
            That(error is HeaderError.Truncated or HeaderError.BadLength, "unexpected UDP error");
            That(datagram.Bytes.IsEmpty, "rejected UDP view is not empty");
            return;
        }

        Within(input, datagram.Bytes, "UDP bytes");
        Within(input, datagram.Payload, "UDP payload");
        That(datagram.Length >= UdpDatagram.HeaderLength && datagram.Length <= input.Length, "UDP length");
        That(datagram.Payload.Length == datagram.Length - UdpDatagram.HeaderLength, "UDP payload length");
        sink += (ulong)(datagram.SourcePort + datagram.DestinationPort + datagram.Checksum);
        HeaderError parsed = UdpHeader.TryParse(datagram, source, destination, out UdpHeader header);
        That(parsed is HeaderError.None or HeaderError.BadChecksum, "unexpected UDP header error");
        sink += header.SourcePort;
    }

    public static void Icmp(ReadOnlySpan<byte> input, ref ulong sink)
    {
        HeaderError error = IcmpV4Packet.TryCreate(input, out IcmpV4Packet packet);
        if (error != HeaderError.None)
        {
            That(error == HeaderError.Truncated, "unexpected ICMP error");
            That(packet.Bytes.IsEmpty, "rejected ICMP view is not empty");
            return;
        }

        Within(input, packet.Bytes, "ICMP bytes");
        Within(input, packet.Body, "ICMP body");
        That(packet.Body.Length == input.Length - IcmpV4Packet.HeaderLength, "ICMP body length");
        sink += (ulong)(packet.Type + packet.Code + packet.Checksum + packet.Identifier + packet.SequenceNumber + packet.NextHopMtu);
        sink += (packet.IsChecksumValid ? 1UL : 0) + (packet.IsError ? 2UL : 0);
        if (packet.IsError)
        {
            // The quoted datagram is untrusted bytes too.
            IPv4(packet.Body, ref sink);
        }
    }

    public static void Ethernet(ReadOnlySpan<byte> input, ref ulong sink)
    {
        HeaderError error = EthernetFrame.TryCreate(input, out EthernetFrame frame);
        if (error != HeaderError.None)
        {
            That(error == HeaderError.Truncated && input.Length < EthernetFrame.HeaderLength, "unexpected Ethernet error");
            That(frame.Bytes.IsEmpty, "rejected Ethernet view is not empty");
            return;
        }

        Within(input, frame.Bytes, "Ethernet bytes");
        Within(input, frame.Header, "Ethernet header");
        Within(input, frame.Payload, "Ethernet payload");
        That(frame.Payload.Length == input.Length - EthernetFrame.HeaderLength, "Ethernet payload length");
        sink += frame.Destination.Value ^ frame.Source.Value;
        sink += frame.EtherType;
        switch (frame.EtherType)
        {
            case EtherType.IPv4:
                IPv4(frame.Payload, ref sink);
                break;
            case EtherType.Arp:
                Arp(frame.Payload, ref sink);
                break;
        }
    }

    public static void Arp(ReadOnlySpan<byte> input, ref ulong sink)
    {
        HeaderError error = ArpPacket.TryCreate(input, out ArpPacket packet);
        if (error != HeaderError.None)
        {
            That(error is HeaderError.Truncated or HeaderError.Unsupported, "unexpected ARP error");
            That(packet.Bytes.IsEmpty, "rejected ARP view is not empty");
            return;
        }

        Within(input, packet.Bytes, "ARP bytes");
        That(packet.Bytes.Length == ArpPacket.Length, "ARP length");
        That(packet.HardwareType == ArpPacket.HardwareTypeEthernet && packet.ProtocolType == EtherType.IPv4, "ARP types");
        sink += packet.Operation + (packet.SenderMac.Value ^ packet.TargetMac.Value) + (packet.SenderIp.Value ^ packet.TargetIp.Value);
    }
}
