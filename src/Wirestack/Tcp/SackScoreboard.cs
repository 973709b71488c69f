using Wirestack.Wire;

namespace Wirestack.Tcp;

/// <summary>
/// The data sender's scoreboard of selectively acknowledged data (RFC 6675 §3, fed by RFC 2018 SACK blocks, with
/// RFC 2883 D-SACK blocks recognised and kept out). It holds the SACKed sequence ranges above SND.UNA, sorted,
/// disjoint and maximal, and answers the RFC 6675 §4 questions: IsLost, SetPipe and NextSeg.
/// </summary>
/// <remarks>
/// At most <see cref="MaxRanges"/> ranges are kept; beyond that the least recently SACKed range is forgotten,
/// which only makes the sender more conservative (RFC 6675 §5.1 leaves scoreboard limits to the implementation;
/// forgotten data is at worst retransmitted needlessly). Sequence comparisons assume everything lies within the
/// send window (2^31). Not thread-safe; nothing is allocated after the first SACK.
/// </remarks>
public sealed class SackScoreboard
{
    /// <summary>RFC 6675 §2: DupThresh = 3.</summary>
    public const int DupThresh = 3;

    /// <summary>The default bound on ranges held.</summary>
    public const int DefaultMaxRanges = 64;

    private readonly int _maxRanges;
    private Entry[]? _ranges;
    private int _count;
    private long _clock;
    private SeqNumber _sndUna;

    public SackScoreboard()
        : this(DefaultMaxRanges)
    {
    }

    public SackScoreboard(int maxRanges)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRanges, 1);
        _maxRanges = maxRanges;
    }

    public int MaxRanges => _maxRanges;

    /// <summary>Ranges held.</summary>
    public int RangeCount => _count;

    /// <summary>Bytes marked SACKed above SND.UNA.</summary>
    public int SackedBytes { get; private set; }

    /// <summary>The end (exclusive) of the highest SACKed range: one past the highest octet any SACK covered.
    /// Equals the last cumulative ACK seen when nothing is SACKed.</summary>
    public SeqNumber HighestSacked => _count == 0 ? _sndUna : _ranges![_count - 1].Right;

    public bool IsEmpty => _count == 0;

    /// <summary>D-SACK blocks seen since <see cref="Reset"/> (RFC 2883).</summary>
    public long DsackCount { get; private set; }

    /// <summary>Forgets everything (new connection, or RFC 6675 §5.1 after a retransmission timeout).</summary>
    public void Reset()
    {
        if (_ranges is not null)
        {
            Array.Clear(_ranges);
        }

        _count = 0;
        SackedBytes = 0;
        DsackCount = 0;
        _clock = 0;
        _sndUna = default;
    }

    /// <summary>
    /// Merges the SACK blocks of an ACK whose cumulative acknowledgment is <paramref name="ack"/>. Each block is
    /// clipped to [ack, <paramref name="sndNxt"/>) and ignored when nothing is left. RFC 2883 §4: when the first
    /// block lies below the cumulative ACK, or inside the second block, it reports a duplicate segment: it is not
    /// recorded, and <paramref name="isDsack"/> says so. Returns true when bytes not SACKed before are now.
    /// </summary>
    public bool Update(SeqNumber ack, SeqNumber sndNxt, ReadOnlySpan<SackBlock> blocks, out bool isDsack)
    {
        isDsack = false;
        if (ack > _sndUna || _count == 0)
        {
            OnCumulativeAck(ack);
        }

        if (blocks.IsEmpty)
        {
            return false;
        }

        int first = 0;
        SackBlock lead = blocks[0];
        if (lead.Left < lead.Right)
        {
            // RFC 2883 §4 (sender side): (a) the first block covers sequence space below the cumulative ACK, or
            // (b) it is a subset of the second block.
            bool belowAck = lead.Left < ack;
            bool insideSecond = blocks.Length > 1
                && blocks[1].Left < blocks[1].Right
                && lead.Left >= blocks[1].Left && lead.Right <= blocks[1].Right;
            if (belowAck || insideSecond)
            {
                isDsack = true;
                DsackCount++;
                first = 1;
            }
        }

        bool grew = false;
        for (int i = first; i < blocks.Length; i++)
        {
            SackBlock block = blocks[i];
            if (!(block.Left < block.Right))
            {
                continue; // RFC 2018 §3: a block's right edge is above its left edge; anything else is malformed.
            }

            SeqNumber left = SeqNumber.Max(block.Left, ack);
            SeqNumber right = SeqNumber.Min(block.Right, sndNxt);
            if (left < right && Add(left, right))
            {
                grew = true;
            }
        }

        return grew;
    }

    /// <summary>SND.UNA advanced to <paramref name="sndUna"/>: forget every SACKed byte below it.</summary>
    public void OnCumulativeAck(SeqNumber sndUna)
    {
        _sndUna = sndUna;
        int drop = 0;
        while (drop < _count && _ranges![drop].Right <= sndUna)
        {
            SackedBytes -= _ranges[drop].Right - _ranges[drop].Left;
            drop++;
        }

        if (drop > 0)
        {
            Array.Copy(_ranges!, drop, _ranges!, 0, _count - drop);
            Array.Clear(_ranges!, _count - drop, drop);
            _count -= drop;
        }

        if (_count > 0 && _ranges![0].Left < sndUna)
        {
            SackedBytes -= sndUna - _ranges[0].Left;
            _ranges[0].Left = sndUna;
        }
    }

    /// <summary>Whether the octet <paramref name="seq"/> has been SACKed.</summary>
    public bool IsSacked(SeqNumber seq)
    {
        int index = FirstEndingAfter(seq);
        return index < _count && _ranges![index].Left <= seq;
    }

    /// <summary>
    /// RFC 6675 §4 IsLost(SeqNum): true when DupThresh discontiguous SACKed sequences lie above
    /// <paramref name="seq"/>, or more than (DupThresh - 1) * SMSS SACKed bytes lie above it.
    /// </summary>
    public bool IsLost(SeqNumber seq, int mss)
    {
        SeqNumber above = seq + 1;
        int ranges = 0;
        long bytes = 0;
        for (int k = _count - 1; k >= 0; k--)
        {
            ref Entry r = ref _ranges![k];
            if (r.Right <= above)
            {
                break;
            }

            ranges++;
            bytes += r.Right - SeqNumber.Max(r.Left, above);
            if (ranges >= DupThresh || bytes > (long)(DupThresh - 1) * mss)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// RFC 6675 §4 SetPipe(): the octets estimated in flight in [<paramref name="sndUna"/>,
    /// <paramref name="sndNxt"/>). Every octet not SACKed counts once if it is not lost (IsLost) and once more
    /// if it was retransmitted (below <paramref name="highRxt"/>, the end of the highest retransmission).
    /// </summary>
    public int Pipe(SeqNumber sndUna, SeqNumber sndNxt, SeqNumber highRxt, int mss)
    {
        if (sndNxt <= sndUna)
        {
            return 0;
        }

        // Un-SACKed octets below the lost boundary are lost; at or above it they are not (see LostBoundary).
        SeqNumber lostBelow = LostBoundary(mss) is { } boundary ? boundary : sndUna;
        long pipe = 0;
        SeqNumber cursor = sndUna;
        for (int k = 0; k < _count && cursor < sndNxt; k++)
        {
            ref Entry r = ref _ranges![k];
            if (r.Right <= cursor)
            {
                continue;
            }

            if (r.Left > cursor)
            {
                pipe += HoleInFlight(cursor, SeqNumber.Min(r.Left, sndNxt), lostBelow, highRxt);
            }

            cursor = r.Right;
        }

        if (cursor < sndNxt)
        {
            pipe += HoleInFlight(cursor, sndNxt, lostBelow, highRxt);
        }

        return (int)Math.Min(pipe, int.MaxValue);
    }

    /// <summary>
    /// RFC 6675 §4 NextSeg() rules 1 and 3 (rule 2, new data, and rule 4, the rescue retransmission, are the
    /// caller's): the lowest un-SACKed octet at or above both <paramref name="sndUna"/> and
    /// <paramref name="highRxt"/> and below the highest SACKed octet. It is a rule-1 candidate when IsLost holds
    /// for it, else a rule-3 one (<paramref name="rule3"/>; the caller sends new data first if it can). The segment
    /// is at most <paramref name="mss"/> long and stops at the next SACKed range and at
    /// <paramref name="sndNxt"/>.
    /// </summary>
    public bool NextSegment(SeqNumber sndUna, SeqNumber sndNxt, SeqNumber highRxt, int mss,
        out SeqNumber seq, out int length, out bool rule3)
    {
        seq = default;
        length = 0;
        rule3 = false;
        if (_count == 0 || mss <= 0)
        {
            return false;
        }

        SeqNumber start = SeqNumber.Max(sndUna, highRxt);
        int index = FirstEndingAfter(start);
        if (index < _count && _ranges![index].Left <= start)
        {
            // start is SACKed: the range ends at an un-SACKed octet (ranges are maximal).
            start = _ranges[index].Right;
            index++;
        }

        // Rules (1.b) and (3.b): S2 / S3 below the highest octet covered by any SACK.
        if (index >= _count || start >= sndNxt)
        {
            return false;
        }

        SeqNumber holeEnd = SeqNumber.Min(_ranges![index].Left, sndNxt);
        seq = start;
        length = Math.Min(mss, holeEnd - start);
        // Rule (1.c) IsLost(S2); lost-ness falls with sequence, so if the lowest candidate is not lost, none is.
        rule3 = !IsLost(start, mss);
        return true;
    }

    /// <summary>
    /// The sequence number below which every un-SACKed octet is lost by IsLost, and at or above which none is;
    /// null when no octet is lost. IsLost(s) for an un-SACKed s depends only on the whole ranges above s, so the
    /// boundary is the left edge of the highest range at which, counting ranges from the top, DupThresh ranges
    /// or more than (DupThresh - 1) * SMSS bytes are reached.
    /// </summary>
    public SeqNumber? LostBoundary(int mss)
    {
        long bytes = 0;
        for (int k = _count - 1; k >= 0; k--)
        {
            bytes += _ranges![k].Right - _ranges[k].Left;
            if (_count - k >= DupThresh || bytes > (long)(DupThresh - 1) * mss)
            {
                return _ranges[k].Left;
            }
        }

        return null;
    }

    /// <summary>For go-back-N after a timeout: the first sequence at or after <paramref name="seq"/> that is not
    /// SACKed, and how many bytes from there are unSACKed before the next SACKed range (int.MaxValue: none).</summary>
    public SeqNumber SkipSacked(SeqNumber seq, out int unsackedRun)
    {
        unsackedRun = int.MaxValue;
        for (int i = 0; i < _count; i++)
        {
            var range = _ranges![i];
            if (seq >= range.Left && seq < range.Right)
            {
                seq = range.Right;
                continue;
            }

            if (range.Left > seq)
            {
                unsackedRun = range.Left - seq;
                break;
            }
        }

        return seq;
    }

    /// <summary>Copies the ranges held, lowest first (diagnostics and tests).</summary>
    public int CopyRanges(Span<SackBlock> destination)
    {
        int n = Math.Min(destination.Length, _count);
        for (int i = 0; i < n; i++)
        {
            destination[i] = new SackBlock(_ranges![i].Left, _ranges[i].Right);
        }

        return n;
    }

    private static long HoleInFlight(SeqNumber from, SeqNumber to, SeqNumber lostBelow, SeqNumber highRxt)
    {
        // SetPipe (a): not lost -> octets in [max(from, lostBelow), to).
        long notLost = Math.Max(0, to - SeqNumber.Max(from, lostBelow));
        // SetPipe (b): retransmitted -> octets in [from, min(to, highRxt)).
        long retransmitted = Math.Max(0, SeqNumber.Min(to, highRxt) - from);
        return notLost + retransmitted;
    }

    /// <summary>Merges [left, right) into the ranges; returns whether it added SACKed bytes.</summary>
    private bool Add(SeqNumber left, SeqNumber right)
    {
        _ranges ??= new Entry[_maxRanges + 1];
        long stamp = ++_clock;

        // Ranges that overlap or touch [left, right): from the first ending at or after left to the last
        // starting at or before right.
        int i = FirstEndingAtOrAfter(left);
        int j = i;
        while (j < _count && _ranges[j].Left <= right)
        {
            j++;
        }

        if (i == j)
        {
            Array.Copy(_ranges, i, _ranges, i + 1, _count - i);
            _ranges[i] = new Entry { Left = left, Right = right, Stamp = stamp };
            _count++;
            SackedBytes += right - left;
            if (_count > _maxRanges)
            {
                DropOldest(except: i);
            }

            return true;
        }

        // Merge ranges i .. j-1 with the block.
        SeqNumber newLeft = SeqNumber.Min(left, _ranges[i].Left);
        SeqNumber newRight = SeqNumber.Max(right, _ranges[j - 1].Right);
        int before = 0;
        for (int k = i; k < j; k++)
        {
            before += _ranges[k].Right - _ranges[k].Left;
        }

        int added = (newRight - newLeft) - before;
        _ranges[i] = new Entry { Left = newLeft, Right = newRight, Stamp = added > 0 ? stamp : _ranges[i].Stamp };
        int removed = j - i - 1;
        if (removed > 0)
        {
            Array.Copy(_ranges, j, _ranges, i + 1, _count - j);
            Array.Clear(_ranges, _count - removed, removed);
            _count -= removed;
        }

        SackedBytes += added;
        return added > 0;
    }

    private void DropOldest(int except)
    {
        int oldest = except == 0 ? 1 : 0;
        for (int k = 0; k < _count; k++)
        {
            if (k != except && _ranges![k].Stamp < _ranges[oldest].Stamp)
            {
                oldest = k;
            }
        }

        SackedBytes -= _ranges![oldest].Right - _ranges[oldest].Left;
        Array.Copy(_ranges, oldest + 1, _ranges, oldest, _count - oldest - 1);
        _count--;
        _ranges[_count] = default;
    }

    /// <summary>The first range whose right edge is beyond <paramref name="seq"/>.</summary>
    private int FirstEndingAfter(SeqNumber seq)
    {
        int low = 0;
        int high = _count;
        while (low < high)
        {
            int mid = (low + high) >>> 1;
            if (_ranges![mid].Right <= seq)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return low;
    }

    /// <summary>The first range whose right edge is at or beyond <paramref name="seq"/> (touching counts).</summary>
    private int FirstEndingAtOrAfter(SeqNumber seq)
    {
        int low = 0;
        int high = _count;
        while (low < high)
        {
            int mid = (low + high) >>> 1;
            if (_ranges![mid].Right < seq)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return low;
    }

    private struct Entry
    {
        public SeqNumber Left;
        public SeqNumber Right;
        public long Stamp;
    }
}
