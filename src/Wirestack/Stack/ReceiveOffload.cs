// Generic receive offload: the receive-side twin of segmentation offload. Linux merges, in each NAPI poll,
// consecutive TCP segments of one flow into one large segment before IP input (dev_gro_receive, tcp_gro_receive),
// so TCP processes and acknowledges a batch once. The rules below are Linux's: same flow, next in sequence, nothing
// but ACK set (PSH may end a batch), the same ACK number, window and options, segments of one size (the last may
// be shorter), checksums good.
using System.Buffers.Binary;
using Wirestack.Buffers;
using Wirestack.Links;
using Wirestack.Wire;

namespace Wirestack.Stack;

/// <summary>
/// Merges the TCP segment <c>next</c> into <c>head</c> when GRO allows (see the file comment). The merged packet is a
/// valid IPv4 datagram (total length and header checksum rewritten) whose TCP checksum field is stale: it is marked
/// <see cref="PacketBuffer.ChecksumTrusted"/>, every part having been verified or trusted first, and carries the
/// segment size in <see cref="PacketBuffer.GsoSize"/> as Linux's GRO packets carry gso_size.
/// </summary>
public static class ReceiveOffload
{
    private const int IPv4HeaderLength = 20; // GRO takes only datagrams without IP options
    private const byte FlagAck = 0x10;
    private const byte FlagPsh = 0x08;

    /// <summary>Merges <paramref name="next"/> into <paramref name="head"/> (disposing <paramref name="next"/>)
    /// and returns true, or leaves both untouched and returns false. <paramref name="head"/> may be replaced by a
    /// larger buffer from <paramref name="pool"/>.</summary>
    public static bool TryMerge(ref PacketBuffer head, PacketBuffer next, PacketBufferPool pool, LinkCounters counters)
    {
        // The headers are in each buffer's head; a payload may be held by reference behind them (TCP output's, on
        // a wire that hands buffers over): it is read from there, never joined in the small buffer first.
        ReadOnlySpan<byte> h = head.Head;
        ReadOnlySpan<byte> n = next.Head;
        int hLength = head.Length, nLength = next.Length;
        if (!IsCandidate(h, hLength, out int hTcp) || !IsCandidate(n, nLength, out int nTcp) || hTcp != nTcp)
        {
            return false;
        }

        // The same flow and IP treatment: addresses, TOS, TTL (Linux flushes when they differ).
        if (!h.Slice(12, 8).SequenceEqual(n.Slice(12, 8)) || h[1] != n[1] || h[8] != n[8])
        {
            return false;
        }

        ReadOnlySpan<byte> ht = h[IPv4HeaderLength..];
        ReadOnlySpan<byte> nt = n[IPv4HeaderLength..];
        int hPayload = hLength - IPv4HeaderLength - hTcp;
        int nPayload = nLength - IPv4HeaderLength - nTcp;
        int segment = head.GsoSize > 0 ? head.GsoSize : hPayload;
        byte hFlags = ht[13], nFlags = nt[13];
        if (hPayload == 0 || nPayload == 0 || nPayload > segment || hPayload % segment != 0 ||
            hFlags != FlagAck || (nFlags & ~FlagPsh) != FlagAck ||
            hLength + nPayload > 65535)
        {
            return false; // a short or flagged segment ends a batch; so does the 64 KiB limit
        }

        // Ports, ACK number, window and urgent pointer equal; the options byte for byte (timestamps included).
        if (!ht[..4].SequenceEqual(nt[..4]) || !ht.Slice(8, 4).SequenceEqual(nt.Slice(8, 4)) ||
            !ht.Slice(14, 2).SequenceEqual(nt.Slice(14, 2)) || !ht.Slice(18, hTcp - 18).SequenceEqual(nt.Slice(18, nTcp - 18)))
        {
            return false;
        }

        uint hSeq = BinaryPrimitives.ReadUInt32BigEndian(ht[4..]);
        uint nSeq = BinaryPrimitives.ReadUInt32BigEndian(nt[4..]);
        if (unchecked(hSeq + (uint)hPayload) != nSeq)
        {
            return false; // not the next in sequence
        }

        // Checksums: a segment whose checksum is not known good is verified before it is merged; a bad one is not
        // merged, so TCP input sees it alone and counts it (InCsumErrors).
        if (!IsTransportChecksumGood(head) || !IsTransportChecksumGood(next))
        {
            return false;
        }

        // Payloads held by reference (the sender's chunks) merge without a copy: the merged packet holds next's
        // pieces too, a piece that continues its last one in the same chunk extending it (Linux's skb_gro_receive
        // adds frags). Anything else is copied into one buffer.
        int headersLength = IPv4HeaderLength + hTcp;
        bool byReference = head.HasReferencedPayload && next.HasReferencedPayload &&
            head.Head.Length == headersLength && next.Head.Length == IPv4HeaderLength + nTcp;
        if (byReference && head.Tailroom < hPayload + nPayload && !TryMoveToLarger(ref head, pool, keepReference: true))
        {
            return false; // no memory for the merge: deliver the segments one by one
        }

        if (!byReference || !head.TryAppendReferencedPayload(next))
        {
            if ((head.HasReferencedPayload || head.Tailroom < nPayload) && !TryMoveToLarger(ref head, pool, keepReference: false))
            {
                return false;
            }

            next.CopyTo(IPv4HeaderLength + nTcp, head.Append(nPayload));
        }

        Span<byte> merged = head.Head; // the headers (and the payload, unless it is held by reference)
        int mergedLength = head.Length;
        BinaryPrimitives.WriteUInt16BigEndian(merged[2..], (ushort)mergedLength);
        BinaryPrimitives.WriteUInt16BigEndian(merged[10..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(merged[10..], InternetChecksum.Finish(InternetChecksum.Accumulate(merged[..IPv4HeaderLength], 0)));
        merged[IPv4HeaderLength + 13] |= (byte)(nFlags & FlagPsh);
        if (head.HasReferencedPayload)
        {
            head.MarkMergedHeader(); // its TCP checksum is computed afresh should the payload ever be joined
        }

        head.ChecksumTrusted = true;
        head.GsoSize = segment;
        counters.RxGroMerged++;
        next.Dispose();
        return true;
    }

    /// <summary>Moves <paramref name="head"/> into a 64 KiB buffer of the pool, room for a whole merged packet (so a
    /// payload held by reference can always be joined there): its headers and the reference itself
    /// (<paramref name="keepReference"/>), or all its bytes. False when the pool has no buffer.</summary>
    private static bool TryMoveToLarger(ref PacketBuffer head, PacketBufferPool pool, bool keepReference)
    {
        if (!pool.TryRent(65535, BudgetCause.PacketRx, out PacketBuffer? larger))
        {
            return false;
        }

        if (keepReference)
        {
            head.Head.CopyTo(larger.Append(head.Head.Length));
            head.MovePayloadTo(larger);
        }
        else
        {
            head.CopyTo(0, larger.Append(head.Length));
        }

        larger.Timestamp = head.Timestamp;
        head.Dispose();
        head = larger;
        return true;
    }

    /// <summary>An IPv4 datagram without options, not a fragment, carrying TCP, exactly the packet long
    /// (<paramref name="length"/>), with a good header checksum and a TCP header that fits in <paramref name="p"/>
    /// (the buffer's head); <paramref name="tcpHeaderLength"/> is its length.</summary>
    private static bool IsCandidate(ReadOnlySpan<byte> p, int length, out int tcpHeaderLength)
    {
        tcpHeaderLength = 0;
        if (p.Length < IPv4HeaderLength + TcpSegment.MinHeaderLength || p[0] != 0x45 || p[9] != IPProtocol.Tcp ||
            BinaryPrimitives.ReadUInt16BigEndian(p[2..]) != length ||
            (BinaryPrimitives.ReadUInt16BigEndian(p[6..]) & 0x3FFF) != 0 || // MF or a fragment offset
            InternetChecksum.Finish(InternetChecksum.Accumulate(p[..IPv4HeaderLength], 0)) != 0)
        {
            return false;
        }

        tcpHeaderLength = (p[IPv4HeaderLength + 12] >> 4) * 4;
        return tcpHeaderLength >= TcpSegment.MinHeaderLength && IPv4HeaderLength + tcpHeaderLength <= p.Length;
    }

    private static bool IsTransportChecksumGood(PacketBuffer packet)
    {
        if (packet.ChecksumTrusted)
        {
            return true;
        }

        ReadOnlySpan<byte> p = packet.Span;
        var source = new IPv4Address(BinaryPrimitives.ReadUInt32BigEndian(p[12..]));
        var destination = new IPv4Address(BinaryPrimitives.ReadUInt32BigEndian(p[16..]));
        ReadOnlySpan<byte> tcp = p[IPv4HeaderLength..];
        ulong sum = InternetChecksum.PseudoHeader(source, destination, IPProtocol.Tcp, tcp.Length);
        return InternetChecksum.Finish(InternetChecksum.Accumulate(tcp, sum)) == 0;
    }
}
