using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Wirestack.Wire;

namespace Wirestack.Conformance;

/// <summary>The raw fields of an IPv4/TCP datagram the stack sent, options kept as bytes in their wire order (the
/// comparison is of kinds in order, as packetdrill does, not of a parsed set).</summary>
internal sealed class WirePacket
{
    private WirePacket(byte[] bytes)
    {
        Bytes = bytes;
    }

    public byte[] Bytes { get; }

    public long TimeUs { get; init; }

    public IPv4Address Source { get; private init; }

    public IPv4Address Destination { get; private init; }

    public bool IpChecksumValid { get; private init; }

    public ushort SourcePort { get; private init; }

    public ushort DestinationPort { get; private init; }

    public uint Seq { get; private init; }

    public uint Ack { get; private init; }

    public byte Flags { get; private init; }

    /// <summary>The low nibble of byte 12: reserved bits and AccECN's AE.</summary>
    public byte Reserved { get; private init; }

    public ushort Window { get; private init; }

    public ushort Urgent { get; private init; }

    public byte[] Options { get; private init; } = [];

    public int PayloadOffset { get; private init; }

    public int PayloadLength { get; private init; }

    public ReadOnlySpan<byte> Payload => Bytes.AsSpan(PayloadOffset, PayloadLength);

    public bool Has(TcpFlags flag) => (Flags & (byte)flag) != 0;

    /// <summary>Parses an IPv4 datagram carrying TCP; null for anything else.</summary>
    public static WirePacket? TryParse(byte[] bytes, long timeUs)
    {
        if (bytes.Length < 20 || (bytes[0] >> 4) != 4)
        {
            return null;
        }

        int ihl = (bytes[0] & 0x0F) * 4;
        int total = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(2));
        if (ihl < 20 || total > bytes.Length || total < ihl + 20 || bytes[9] != IPProtocol.Tcp)
        {
            return null;
        }

        ReadOnlySpan<byte> tcp = bytes.AsSpan(ihl, total - ihl);
        int dataOffset = (tcp[12] >> 4) * 4;
        if (dataOffset < 20 || dataOffset > tcp.Length)
        {
            return null;
        }

        return new WirePacket(bytes)
        {
            TimeUs = timeUs,
            Source = IPv4Address.Read(bytes.AsSpan(12)),
            Destination = IPv4Address.Read(bytes.AsSpan(16)),
            IpChecksumValid = InternetChecksum.Compute(bytes.AsSpan(0, ihl)) == 0,
            SourcePort = BinaryPrimitives.ReadUInt16BigEndian(tcp),
            DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(tcp[2..]),
            Seq = BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]),
            Ack = BinaryPrimitives.ReadUInt32BigEndian(tcp[8..]),
            Reserved = (byte)(tcp[12] & 0x0F),
            Flags = tcp[13],
            Window = BinaryPrimitives.ReadUInt16BigEndian(tcp[14..]),
            Urgent = BinaryPrimitives.ReadUInt16BigEndian(tcp[18..]),
            Options = tcp[20..dataOffset].ToArray(),
            PayloadOffset = ihl + dataOffset,
            PayloadLength = tcp.Length - dataOffset,
        };
    }

    /// <summary>The options as (kind, value bytes) in wire order; null when they are malformed.</summary>
    public List<(byte Kind, byte[] Value)>? ParseOptions()
    {
        var list = new List<(byte, byte[])>();
        byte[] o = Options;
        int i = 0;
        while (i < o.Length)
        {
            byte kind = o[i];
            if (kind is TcpOptions.KindEnd or TcpOptions.KindNop)
            {
                list.Add((kind, []));
                i++;
                continue;
            }

            if (i + 1 >= o.Length || o[i + 1] < 2 || i + o[i + 1] > o.Length)
            {
                return null;
            }

            list.Add((kind, o[(i + 2)..(i + o[i + 1])]));
            i += o[i + 1];
        }

        return list;
    }

    /// <summary>packetdrill's flag letters in its order (<c>S.</c>, <c>FP.</c>, <c>R</c>).</summary>
    public static string FlagText(byte flags)
    {
        var sb = new StringBuilder();
        if ((flags & (byte)TcpFlags.Fin) != 0) sb.Append('F');
        if ((flags & (byte)TcpFlags.Syn) != 0) sb.Append('S');
        if ((flags & (byte)TcpFlags.Rst) != 0) sb.Append('R');
        if ((flags & (byte)TcpFlags.Psh) != 0) sb.Append('P');
        if ((flags & (byte)TcpFlags.Urg) != 0) sb.Append('U');
        if ((flags & (byte)TcpFlags.Ece) != 0) sb.Append('E');
        if ((flags & (byte)TcpFlags.Cwr) != 0) sb.Append('W');
        if ((flags & (byte)TcpFlags.Ack) != 0) sb.Append('.');
        return sb.Length == 0 ? "-" : sb.ToString();
    }

    /// <summary>The flag byte a script's flag letters stand for.</summary>
    public static byte FlagsFromScript(string text)
    {
        byte f = 0;
        foreach (char c in text)
        {
            f |= c switch
            {
                'F' => (byte)TcpFlags.Fin,
                'S' => (byte)TcpFlags.Syn,
                'R' => (byte)TcpFlags.Rst,
                'P' => (byte)TcpFlags.Psh,
                '.' => (byte)TcpFlags.Ack,
                'U' => (byte)TcpFlags.Urg,
                'E' => (byte)TcpFlags.Ece,
                'W' => (byte)TcpFlags.Cwr,
                _ => 0,
            };
        }

        return f;
    }

    /// <summary>Renders options the way scripts write them.</summary>
    public static string OptionText(List<(byte Kind, byte[] Value)> options, Func<uint, uint>? sackMap = null)
    {
        var parts = new List<string>();
        foreach ((byte kind, byte[] v) in options)
        {
            parts.Add(kind switch
            {
                TcpOptions.KindEnd => "eol",
                TcpOptions.KindNop => "nop",
                TcpOptions.KindMss when v.Length == 2 => $"mss {BinaryPrimitives.ReadUInt16BigEndian(v)}",
                TcpOptions.KindWindowScale when v.Length == 1 => $"wscale {v[0]}",
                TcpOptions.KindSackPermitted when v.Length == 0 => "sackOK",
                TcpOptions.KindTimestamp when v.Length == 8 =>
                    $"TS val {BinaryPrimitives.ReadUInt32BigEndian(v)} ecr {BinaryPrimitives.ReadUInt32BigEndian(v.AsSpan(4))}",
                TcpOptions.KindSack when v.Length % 8 == 0 => "sack " + string.Join(' ', Enumerable.Range(0, v.Length / 8).Select(b =>
                {
                    uint l = BinaryPrimitives.ReadUInt32BigEndian(v.AsSpan(b * 8));
                    uint r = BinaryPrimitives.ReadUInt32BigEndian(v.AsSpan(b * 8 + 4));
                    return sackMap is null ? $"{l}:{r}" : $"{sackMap(l)}:{sackMap(r)}";
                })),
                _ => $"kind{kind.ToString(CultureInfo.InvariantCulture)}[{Convert.ToHexString(v)}]",
            });
        }

        return "<" + string.Join(',', parts) + ">";
    }

    /// <summary>Builds an inbound IPv4/TCP datagram with the options bytes exactly as given and a zero payload.</summary>
    public static byte[] Build(IPv4Address source, IPv4Address destination, ushort sport, ushort dport, uint seq, uint ack, byte flags,
        ushort window, ushort urgent, ReadOnlySpan<byte> options, int payloadLength)
    {
        int tcpLength = 20 + options.Length + payloadLength;
        byte[] datagram = new byte[IPv4Header.Length + tcpLength];
        new IPv4Header(source, destination, IPProtocol.Tcp, tcpLength).WriteTo(datagram);
        Span<byte> tcp = datagram.AsSpan(IPv4Header.Length);
        BinaryPrimitives.WriteUInt16BigEndian(tcp, sport);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], dport);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], ack);
        tcp[12] = (byte)(((20 + options.Length) / 4) << 4);
        tcp[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], window);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[18..], urgent);
        options.CopyTo(tcp[20..]);
        ulong sum = InternetChecksum.PseudoHeader(source, destination, IPProtocol.Tcp, tcpLength);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], InternetChecksum.Finish(InternetChecksum.Accumulate(tcp, sum)));
        return datagram;
    }
}
