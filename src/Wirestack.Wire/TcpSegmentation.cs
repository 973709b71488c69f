// TCP segmentation offload (TSO), the cut a NIC makes: a large TCP segment handed down with its segment size
// (gso_size) leaves as frames of that much payload each, the last maybe shorter. Every frame carries the large
// segment's IP and TCP headers with these changes, as Linux's software fallback (tcp_gso_segment) and NIC datasheets
// describe them: IP total length, identification (+1 per frame) and header checksum rewritten (RFC 791 §3.1); TCP
// sequence number advanced by the payload before it (RFC 9293 §3.4); FIN and PSH only on the last frame; CWR only on
// the first (RFC 3168 §6.1.2: one reduction signalled once); TCP checksum computed for the frame (RFC 9293 §3.1).
using System.Buffers.Binary;

namespace Wirestack.Wire;

/// <summary>Cuts a large IPv4 TCP segment into frames of its segment size (see the file comment).</summary>
public static class TcpSegmentation
{
    /// <summary>The layout of a large segment: where its payload starts and how it is cut.</summary>
    /// <param name="HeadersLength">IP and TCP headers together (each frame starts with a copy of them).</param>
    /// <param name="IPHeaderLength">The IPv4 header, options included.</param>
    /// <param name="PayloadLength">TCP payload of the whole segment.</param>
    /// <param name="SegmentSize">Payload per frame (the last frame may carry less).</param>
    public readonly record struct Layout(int HeadersLength, int IPHeaderLength, int PayloadLength, int SegmentSize)
    {
        /// <summary>How many frames the segment becomes.</summary>
        public int FrameCount => (PayloadLength + SegmentSize - 1) / SegmentSize;

        /// <summary>The length of frame <paramref name="index"/> (headers and its share of the payload).</summary>
        public int FrameLength(int index) => HeadersLength + Math.Min(SegmentSize, PayloadLength - index * SegmentSize);
    }

    /// <summary>Reads the layout of <paramref name="datagram"/> for cutting into frames of at most
    /// <paramref name="segmentSize"/> payload bytes that fit in <paramref name="mtu"/>. False (nothing to cut the
    /// way a NIC would) when it is not an unfragmented IPv4 datagram carrying TCP with a payload and consistent
    /// lengths, or when the headers leave no room for payload within the MTU.</summary>
    public static bool TryGetLayout(ReadOnlySpan<byte> datagram, int segmentSize, int mtu, out Layout layout) =>
        TryGetLayout(datagram, datagram.Length, segmentSize, mtu, out layout);

    /// <summary>As <see cref="TryGetLayout(ReadOnlySpan{byte}, int, int, out Layout)"/> for a datagram of
    /// <paramref name="datagramLength"/> bytes of which <paramref name="head"/> holds at least the IP and TCP headers
    /// (a large segment whose payload is held elsewhere).</summary>
    public static bool TryGetLayout(ReadOnlySpan<byte> head, int datagramLength, int segmentSize, int mtu, out Layout layout)
    {
        layout = default;
        if (head.Length < 40 || head.Length > datagramLength || head[0] >> 4 != 4 || head[9] != IPProtocol.Tcp || segmentSize <= 0)
        {
            return false;
        }

        int ipHeaderLength = (head[0] & 0x0F) * 4;
        if (ipHeaderLength < 20 || BinaryPrimitives.ReadUInt16BigEndian(head[2..]) != datagramLength ||
            (BinaryPrimitives.ReadUInt16BigEndian(head[6..]) & 0x3FFF) != 0 || // MF or a fragment offset
            ipHeaderLength + TcpSegment.MinHeaderLength > head.Length)
        {
            return false;
        }

        int tcpHeaderLength = (head[ipHeaderLength + 12] >> 4) * 4;
        int headers = ipHeaderLength + tcpHeaderLength;
        if (tcpHeaderLength < TcpSegment.MinHeaderLength || headers >= datagramLength || headers > head.Length)
        {
            return false;
        }

        int perFrame = Math.Min(segmentSize, mtu - headers);
        if (perFrame <= 0)
        {
            return false;
        }

        layout = new Layout(headers, ipHeaderLength, datagramLength - headers, perFrame);
        return true;
    }

    /// <summary>Writes frame <paramref name="index"/> of <paramref name="datagram"/> (cut as <paramref name="layout"/>
    /// says) into <paramref name="frame"/>, which must be exactly <see cref="Layout.FrameLength"/> long: headers
    /// adjusted as the file comment lists, payload copied and checksummed in one pass.</summary>
    public static void WriteFrame(ReadOnlySpan<byte> datagram, in Layout layout, int index, Span<byte> frame)
    {
        int payload = frame.Length - layout.HeadersLength;
        CheckFrame(layout, index, payload, nameof(frame));
        ulong payloadSum = InternetChecksum.CopyAndAccumulate(
            datagram.Slice(layout.HeadersLength + index * layout.SegmentSize, payload), frame[layout.HeadersLength..]);
        WriteFrameHeaders(datagram, layout, index, frame[..layout.HeadersLength], payloadSum);
    }

    /// <summary>
    /// Writes the headers of frame <paramref name="index"/> (<see cref="Layout.HeadersLength"/> bytes) from the
    /// large segment's <paramref name="headers"/>, adjusted as the file comment lists, with a TCP checksum over the
    /// header, the pseudo-header and a payload whose running sum is <paramref name="payloadSum"/>. With 0 for the
    /// payload's sum, the field holds the partial checksum a payload held by reference completes where it is
    /// joined (Linux's CHECKSUM_PARTIAL).
    /// </summary>
    public static void WriteFrameHeaders(ReadOnlySpan<byte> headers, in Layout layout, int index, Span<byte> frameHeaders, ulong payloadSum)
    {
        int offset = index * layout.SegmentSize;
        int payload = Math.Min(layout.SegmentSize, layout.PayloadLength - offset);
        CheckFrame(layout, index, payload, nameof(index));
        if (frameHeaders.Length != layout.HeadersLength || headers.Length < layout.HeadersLength)
        {
            throw new ArgumentException($"frame headers of {frameHeaders.Length} B from {headers.Length} B; the layout's are {layout.HeadersLength} B", nameof(frameHeaders));
        }

        headers[..layout.HeadersLength].CopyTo(frameHeaders);

        // IP: total length, identification, header checksum.
        int ip = layout.IPHeaderLength;
        int frameLength = layout.HeadersLength + payload;
        BinaryPrimitives.WriteUInt16BigEndian(frameHeaders[2..], (ushort)frameLength);
        BinaryPrimitives.WriteUInt16BigEndian(frameHeaders[4..], unchecked((ushort)(BinaryPrimitives.ReadUInt16BigEndian(headers[4..]) + index)));
        BinaryPrimitives.WriteUInt16BigEndian(frameHeaders[10..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(frameHeaders[10..], InternetChecksum.Finish(InternetChecksum.Accumulate(frameHeaders[..ip])));

        // TCP: sequence number, flags, checksum.
        Span<byte> tcp = frameHeaders[ip..];
        uint seq = BinaryPrimitives.ReadUInt32BigEndian(headers[(ip + 4)..]);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], unchecked(seq + (uint)offset));
        if (index < layout.FrameCount - 1)
        {
            tcp[13] &= unchecked((byte)~(TcpFlags.Fin | TcpFlags.Psh));
        }

        if (index > 0)
        {
            tcp[13] &= unchecked((byte)~TcpFlags.Cwr);
        }

        var source = new IPv4Address(BinaryPrimitives.ReadUInt32BigEndian(frameHeaders[12..]));
        var destination = new IPv4Address(BinaryPrimitives.ReadUInt32BigEndian(frameHeaders[16..]));
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], 0);
        ulong sum = InternetChecksum.PseudoHeader(source, destination, IPProtocol.Tcp, frameLength - ip);
        sum = InternetChecksum.Accumulate(tcp, sum) + InternetChecksum.Fold(payloadSum);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], InternetChecksum.Finish(sum));
    }

    private static void CheckFrame(in Layout layout, int index, int payload, string parameter)
    {
        if ((uint)index >= (uint)layout.FrameCount || payload != Math.Min(layout.SegmentSize, layout.PayloadLength - index * layout.SegmentSize))
        {
            throw new ArgumentOutOfRangeException(parameter, "the frame's length does not match its index in the layout");
        }
    }
}
