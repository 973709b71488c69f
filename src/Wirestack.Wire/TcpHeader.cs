using System.Buffers.Binary;
using System.Text;

namespace Wirestack.Wire;

/// <summary>The validated, semantic part of a TCP header (RFC 9293 §3.1), with its options parsed.</summary>
public struct TcpHeader : IEquatable<TcpHeader>
{
    public ushort SourcePort;
    public ushort DestinationPort;
    public SeqNumber SequenceNumber;
    public SeqNumber AcknowledgmentNumber;
    public TcpFlags Flags;

    /// <summary>The window field as sent, before any scaling.</summary>
    public ushort Window;
    public ushort UrgentPointer;
    public TcpOptions Options;

    public readonly bool Has(TcpFlags flag) => (Flags & flag) != 0;

    /// <summary>Bytes of header this record writes: 20 plus the options, padded to a multiple of four.</summary>
    public readonly int Length => TcpSegment.MinHeaderLength + Options.EncodedLength;

    /// <summary>Checks the checksum (against the pseudo-header) and the options, and reads the header.</summary>
    public static HeaderError TryParse(TcpSegment segment, IPv4Address source, IPv4Address destination, out TcpHeader header)
    {
        header = default;
        if (!segment.IsChecksumValid(source, destination))
        {
            return HeaderError.BadChecksum;
        }

        return TryParseUnchecked(segment, out header);
    }

    /// <summary>Reads the header and options without verifying the checksum (already verified, or offloaded).</summary>
    public static HeaderError TryParseUnchecked(TcpSegment segment, out TcpHeader header)
    {
        header = default;
        HeaderError error = TcpOptions.TryParse(segment.Options, out TcpOptions options);
        if (error != HeaderError.None)
        {
            return error;
        }

        header = new TcpHeader
        {
            SourcePort = segment.SourcePort,
            DestinationPort = segment.DestinationPort,
            SequenceNumber = segment.SequenceNumber,
            AcknowledgmentNumber = segment.AcknowledgmentNumber,
            Flags = segment.Flags,
            Window = segment.Window,
            UrgentPointer = segment.UrgentPointer,
            Options = options,
        };
        return HeaderError.None;
    }

    /// <summary>Writes the header into the front of <paramref name="segment"/>, which is exactly header + payload
    /// with the payload already in place, and fills in the checksum over the pseudo-header, header and payload.</summary>
    public readonly void WriteTo(Span<byte> segment, IPv4Address source, IPv4Address destination)
    {
        WriteFields(segment, Length);
        ulong sum = InternetChecksum.PseudoHeader(source, destination, IPProtocol.Tcp, segment.Length);
        BinaryPrimitives.WriteUInt16BigEndian(segment[16..], InternetChecksum.Finish(InternetChecksum.Accumulate(segment, sum)));
    }

    /// <summary>As <see cref="WriteTo(Span{byte}, IPv4Address, IPv4Address)"/>, with the payload's running sum
    /// (<see cref="InternetChecksum.Accumulate"/> of the payload bytes alone, e.g. from
    /// <see cref="InternetChecksum.CopyAndAccumulate"/> while the payload was copied in) already known, so the payload
    /// is not read again.</summary>
    public readonly void WriteTo(Span<byte> segment, IPv4Address source, IPv4Address destination, ulong payloadSum)
    {
        int headerLength = Length;
        WriteFields(segment, headerLength);
        ulong sum = InternetChecksum.PseudoHeader(source, destination, IPProtocol.Tcp, segment.Length);
        sum = InternetChecksum.Accumulate(segment[..headerLength], sum) + InternetChecksum.Fold(payloadSum);
        BinaryPrimitives.WriteUInt16BigEndian(segment[16..], InternetChecksum.Finish(sum));
    }

    /// <summary>Writes the header into <paramref name="header"/> (exactly its length) for a segment whose
    /// <paramref name="payloadLength"/> bytes of payload are not in place, with a checksum over the pseudo-header
    /// (of the whole segment) and the header alone: <see cref="InternetChecksum.AddToChecksumField"/> adds the
    /// payload's sum once the payload is joined to it (Linux's CHECKSUM_PARTIAL).</summary>
    public readonly void WriteWithoutPayloadTo(Span<byte> header, IPv4Address source, IPv4Address destination, int payloadLength)
    {
        int headerLength = Length;
        WriteFields(header, headerLength);
        ulong sum = InternetChecksum.PseudoHeader(source, destination, IPProtocol.Tcp, headerLength + payloadLength);
        sum = InternetChecksum.Accumulate(header[..headerLength], sum);
        BinaryPrimitives.WriteUInt16BigEndian(header[16..], InternetChecksum.Finish(sum));
    }

    private readonly void WriteFields(Span<byte> segment, int headerLength)
    {
        if (headerLength > TcpSegment.MinHeaderLength + TcpOptions.MaxLength)
        {
            // RFC 9293 §3.1: the 4-bit data offset cannot describe more than 60 bytes of header.
            throw new ArgumentException($"{headerLength - TcpSegment.MinHeaderLength} bytes of TCP options; a header holds at most {TcpOptions.MaxLength}");
        }

        if (segment.Length < headerLength)
        {
            throw new ArgumentException("segment span is shorter than the header", nameof(segment));
        }

        BinaryPrimitives.WriteUInt16BigEndian(segment, SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(segment[2..], DestinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(segment[4..], SequenceNumber.Value);
        BinaryPrimitives.WriteUInt32BigEndian(segment[8..], AcknowledgmentNumber.Value);
        segment[12] = (byte)((headerLength / 4) << 4);
        segment[13] = (byte)Flags;
        BinaryPrimitives.WriteUInt16BigEndian(segment[14..], Window);
        segment[16] = 0;
        segment[17] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(segment[18..], UrgentPointer);
        Options.WriteTo(segment[TcpSegment.MinHeaderLength..]);
    }

    /// <summary>Field-by-field equality, options compared as <see cref="TcpOptions.Equals(TcpOptions)"/> does.</summary>
    public readonly bool Equals(TcpHeader other) =>
        SourcePort == other.SourcePort && DestinationPort == other.DestinationPort &&
        SequenceNumber == other.SequenceNumber && AcknowledgmentNumber == other.AcknowledgmentNumber &&
        Flags == other.Flags && Window == other.Window && UrgentPointer == other.UrgentPointer &&
        Options.Equals(other.Options);

    public override readonly bool Equals(object? obj) => obj is TcpHeader other && Equals(other);

    public override readonly int GetHashCode() =>
        HashCode.Combine(SourcePort, DestinationPort, SequenceNumber, AcknowledgmentNumber, Flags, Window, UrgentPointer, Options);

    public static bool operator ==(TcpHeader left, TcpHeader right) => left.Equals(right);

    public static bool operator !=(TcpHeader left, TcpHeader right) => !left.Equals(right);

    public override readonly string ToString() =>
        Format(SourcePort, DestinationPort, Flags, SequenceNumber, AcknowledgmentNumber, Window, -1, Options);

    /// <summary>One line in tcpdump's style: <c>1234 > 80: Flags [S.], seq 1, ack 2, win 65535, options [...]</c>.</summary>
    public static string Format(ushort sport, ushort dport, TcpFlags flags, SeqNumber seq, SeqNumber ack, ushort window, int length, TcpOptions options)
    {
        var sb = new StringBuilder();
        sb.Append(sport).Append(" > ").Append(dport).Append(": Flags [").Append(FlagString(flags)).Append("], seq ").Append(seq.Value);
        if ((flags & TcpFlags.Ack) != 0)
        {
            sb.Append(", ack ").Append(ack.Value);
        }

        sb.Append(", win ").Append(window);
        string opts = options.ToString();
        if (opts.Length > 0)
        {
            sb.Append(", options [").Append(opts).Append(']');
        }

        if (length >= 0)
        {
            sb.Append(", length ").Append(length);
        }

        return sb.ToString();
    }

    /// <summary>tcpdump's flag letters: S F R P U E W and "." for ACK.</summary>
    public static string FlagString(TcpFlags flags)
    {
        var sb = new StringBuilder();
        if ((flags & TcpFlags.Syn) != 0) sb.Append('S');
        if ((flags & TcpFlags.Fin) != 0) sb.Append('F');
        if ((flags & TcpFlags.Rst) != 0) sb.Append('R');
        if ((flags & TcpFlags.Psh) != 0) sb.Append('P');
        if ((flags & TcpFlags.Urg) != 0) sb.Append('U');
        if ((flags & TcpFlags.Ece) != 0) sb.Append('E');
        if ((flags & TcpFlags.Cwr) != 0) sb.Append('W');
        if ((flags & TcpFlags.Ack) != 0) sb.Append('.');
        return sb.ToString();
    }
}
