using System.Buffers.Binary;
using Wirestack.Wire;

namespace Wirestack.Simulation.Fuzzing;

/// <summary>
/// A TCP segment described field by field, including the ones <see cref="TcpHeader"/> refuses to write: raw option
/// bytes (bad lengths, unknown kinds, EOL followed by junk), a data offset that disagrees with the options, reserved
/// bits and a wrong checksum. For hostile-input tests and the fuzzer.
/// </summary>
public sealed class RawTcp
{
    public ushort SourcePort { get; set; }
    public ushort DestinationPort { get; set; }
    public uint Seq { get; set; }
    public uint Ack { get; set; }
    public TcpFlags Flags { get; set; }
    public ushort Window { get; set; } = 65535;
    public ushort Urgent { get; set; }

    /// <summary>The option bytes as sent; padded with zeros to a multiple of four unless <see cref="DataOffsetWords"/> is set.</summary>
    public byte[] Options { get; set; } = [];

    /// <summary>The data-offset field (4 bits) when it should not follow from the options (lying offsets).</summary>
    public int? DataOffsetWords { get; set; }

    /// <summary>The low four bits of byte 12 (reserved, must be zero; sent anyway).</summary>
    public byte ReservedBits { get; set; }

    public byte[] Payload { get; set; } = [];

    public bool BadChecksum { get; set; }

    /// <summary>The segment bytes (header, options, payload) with its checksum over the pseudo-header.</summary>
    public byte[] Build(IPv4Address source, IPv4Address destination)
    {
        int optionLength = DataOffsetWords is null ? (Options.Length + 3) / 4 * 4 : Options.Length;
        int headerLength = 20 + optionLength;
        byte[] segment = new byte[headerLength + Payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(segment, SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), DestinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(segment.AsSpan(4), Seq);
        BinaryPrimitives.WriteUInt32BigEndian(segment.AsSpan(8), Ack);
        int offsetWords = DataOffsetWords ?? headerLength / 4;
        segment[12] = (byte)(((offsetWords & 0xF) << 4) | (ReservedBits & 0xF));
        segment[13] = (byte)Flags;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(14), Window);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(18), Urgent);
        Options.CopyTo(segment.AsSpan(20));
        Payload.CopyTo(segment.AsSpan(headerLength));
        ushort sum = RawPacket.TransportChecksum(segment, source, destination, IPProtocol.Tcp);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(16), BadChecksum ? (ushort)(sum ^ 0x5A5A) : sum);
        return segment;
    }

    /// <summary>The whole IPv4 datagram (20-byte header, checksums right unless <see cref="BadChecksum"/>).</summary>
    public byte[] Datagram(IPv4Address source, IPv4Address destination, ushort id = 0) =>
        RawPacket.IPv4(source, destination, IPProtocol.Tcp, Build(source, destination), id: id);

    public override string ToString() =>
        $"{SourcePort} > {DestinationPort} [{TcpHeader.FlagString(Flags)}] seq {Seq} ack {Ack} win {Window} urg {Urgent} " +
        $"opts {Convert.ToHexStringLower(Options)}{(DataOffsetWords is { } d ? $" doff {d}" : "")} len {Payload.Length}{(BadChecksum ? " badsum" : "")}";
}

/// <summary>Option bytes one by one, well formed or not (RFC 9293 §3.2, RFC 7323, RFC 2018).</summary>
public static class TcpOptionBytes
{
    public static byte[] Mss(ushort mss) => [TcpOptions.KindMss, 4, (byte)(mss >> 8), (byte)mss];

    public static byte[] WindowScale(byte shift) => [TcpOptions.KindNop, TcpOptions.KindWindowScale, 3, shift];

    public static byte[] SackPermitted() => [TcpOptions.KindNop, TcpOptions.KindNop, TcpOptions.KindSackPermitted, 2];

    public static byte[] Timestamp(uint tsVal, uint tsEcr)
    {
        byte[] bytes = [TcpOptions.KindNop, TcpOptions.KindNop, TcpOptions.KindTimestamp, 10, 0, 0, 0, 0, 0, 0, 0, 0];
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4), tsVal);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(8), tsEcr);
        return bytes;
    }

    public static byte[] Sack(params ReadOnlySpan<(uint Left, uint Right)> blocks)
    {
        byte[] bytes = new byte[4 + 8 * blocks.Length];
        bytes[0] = TcpOptions.KindNop;
        bytes[1] = TcpOptions.KindNop;
        bytes[2] = TcpOptions.KindSack;
        bytes[3] = (byte)(2 + 8 * blocks.Length);
        for (int i = 0; i < blocks.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4 + 8 * i), blocks[i].Left);
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(8 + 8 * i), blocks[i].Right);
        }

        return bytes;
    }

    /// <summary>An option with any kind and length byte followed by <paramref name="body"/> (which need not match).</summary>
    public static byte[] Raw(byte kind, byte length, params ReadOnlySpan<byte> body) => [kind, length, .. body];

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}

/// <summary>IPv4, UDP and ICMP datagrams built byte by byte, with every field under the caller's control.</summary>
public static class RawPacket
{
    public static ushort TransportChecksum(ReadOnlySpan<byte> segment, IPv4Address source, IPv4Address destination, byte protocol)
    {
        ulong sum = InternetChecksum.PseudoHeader(source, destination, protocol, segment.Length);
        sum = InternetChecksum.Accumulate(segment[..16], sum);
        if (segment.Length > 18)
        {
            sum = InternetChecksum.Accumulate(segment[18..], sum); // the checksum field itself counts as zero
        }

        return InternetChecksum.Finish(sum);
    }

    /// <summary>An IPv4 datagram. <paramref name="totalLength"/>, <paramref name="ihlWords"/> and
    /// <paramref name="checksum"/> override what the header would honestly say.</summary>
    public static byte[] IPv4(IPv4Address source, IPv4Address destination, byte protocol, ReadOnlySpan<byte> payload,
        ushort id = 0, byte ttl = 64, bool dontFragment = false, bool moreFragments = false, int fragmentOffsetBytes = 0,
        ReadOnlySpan<byte> options = default, int? totalLength = null, int? ihlWords = null, ushort? checksum = null, byte tos = 0)
    {
        int optionLength = (options.Length + 3) / 4 * 4;
        int headerLength = 20 + optionLength;
        byte[] datagram = new byte[headerLength + payload.Length];
        datagram[0] = (byte)(0x40 | ((ihlWords ?? headerLength / 4) & 0xF));
        datagram[1] = tos;
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(2), (ushort)(totalLength ?? datagram.Length));
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(4), id);
        int flags = (dontFragment ? 0x4000 : 0) | (moreFragments ? 0x2000 : 0) | ((fragmentOffsetBytes / 8) & 0x1FFF);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(6), (ushort)flags);
        datagram[8] = ttl;
        datagram[9] = protocol;
        source.Write(datagram.AsSpan(12));
        destination.Write(datagram.AsSpan(16));
        options.CopyTo(datagram.AsSpan(20));
        payload.CopyTo(datagram.AsSpan(headerLength));
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(10), checksum ?? HeaderChecksum(datagram));
        return datagram;
    }

    /// <summary>The header checksum of <paramref name="datagram"/> as its IHL says (capped to the bytes present).</summary>
    public static ushort HeaderChecksum(ReadOnlySpan<byte> datagram)
    {
        int ihl = Math.Min((datagram[0] & 0xF) * 4, datagram.Length);
        ulong sum = InternetChecksum.Accumulate(datagram[..Math.Min(10, ihl)]);
        if (ihl > 12)
        {
            sum = InternetChecksum.Accumulate(datagram[12..ihl], sum);
        }

        return InternetChecksum.Finish(sum);
    }

    /// <summary>Rewrites the header checksum after a mutation (so the mutation reaches the checks behind it).</summary>
    public static void FixHeaderChecksum(Span<byte> datagram)
    {
        if (datagram.Length < 20)
        {
            return;
        }

        datagram[10] = 0;
        datagram[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(datagram[10..], HeaderChecksum(datagram));
    }

    /// <summary>Rewrites the TCP or UDP checksum of an unfragmented datagram whose IHL and length are plausible.</summary>
    public static void FixTransportChecksum(Span<byte> datagram)
    {
        if (datagram.Length < 20)
        {
            return;
        }

        int ihl = (datagram[0] & 0xF) * 4;
        int total = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]), datagram.Length);
        byte protocol = datagram[9];
        int at = protocol == IPProtocol.Tcp ? 16 : protocol == IPProtocol.Udp ? 6 : protocol == IPProtocol.Icmp ? 2 : -1;
        if (ihl < 20 || total <= ihl || at < 0 || total - ihl < at + 2)
        {
            return;
        }

        Span<byte> transport = datagram[ihl..total];
        transport[at] = 0;
        transport[at + 1] = 0;
        ushort sum = protocol == IPProtocol.Icmp
            ? InternetChecksum.Compute(transport)
            : InternetChecksum.Finish(InternetChecksum.Accumulate(transport,
                InternetChecksum.PseudoHeader(IPv4Address.Read(datagram[12..]), IPv4Address.Read(datagram[16..]), protocol, transport.Length)));
        if (protocol == IPProtocol.Udp && sum == 0)
        {
            sum = 0xFFFF;
        }

        BinaryPrimitives.WriteUInt16BigEndian(transport[at..], sum);
    }

    public static byte[] Udp(IPv4Address source, IPv4Address destination, ushort sourcePort, ushort destinationPort, ReadOnlySpan<byte> payload,
        int? lengthField = null)
    {
        byte[] udp = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(udp, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(4), (ushort)(lengthField ?? udp.Length));
        payload.CopyTo(udp.AsSpan(8));
        byte[] datagram = IPv4(source, destination, IPProtocol.Udp, udp);
        FixTransportChecksum(datagram);
        return datagram;
    }

    /// <summary>An ICMP message: type, code, the four "rest of header" bytes, then <paramref name="body"/>.</summary>
    public static byte[] Icmp(IPv4Address source, IPv4Address destination, byte type, byte code, uint rest, ReadOnlySpan<byte> body)
    {
        byte[] icmp = new byte[8 + body.Length];
        icmp[0] = type;
        icmp[1] = code;
        BinaryPrimitives.WriteUInt32BigEndian(icmp.AsSpan(4), rest);
        body.CopyTo(icmp.AsSpan(8));
        BinaryPrimitives.WriteUInt16BigEndian(icmp.AsSpan(2), InternetChecksum.Compute(icmp));
        return IPv4(source, destination, IPProtocol.Icmp, icmp);
    }

    /// <summary>Splits an unfragmented datagram into fragments at the given payload offsets (multiples of 8), with
    /// the same identification: the piece at payload <paramref name="offset"/> (a multiple of 8) of
    /// <paramref name="length"/> bytes. Pieces overlap, repeat or leave holes as the caller cuts them.</summary>
    public static byte[] Fragment(ReadOnlySpan<byte> datagram, int offset, int length, bool moreFragments, ushort id)
    {
        int ihl = (datagram[0] & 0xF) * 4;
        ReadOnlySpan<byte> payload = datagram[ihl..];
        ReadOnlySpan<byte> data = offset < payload.Length
            ? payload[offset..Math.Min(offset + length, payload.Length)]
            : payload[..Math.Min(length, payload.Length)]; // a piece placed beyond the datagram: any bytes will do
        return IPv4(IPv4Address.Read(datagram[12..]), IPv4Address.Read(datagram[16..]), datagram[9], data,
            id: id, ttl: datagram[8], moreFragments: moreFragments, fragmentOffsetBytes: offset);
    }
}
