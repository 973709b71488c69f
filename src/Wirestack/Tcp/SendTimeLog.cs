using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tcp;

/// <summary>
/// When each piece of new data left, for round-trip samples on a connection without timestamps. Linux times every
/// ACK this way (tcp_clean_rtx_queue takes each newly acknowledged skb's transmit time, skb_mstamp): the earliest
/// such time gives the RTO estimator its sample (seq_rtt_us) and the latest gives the congestion controller its
/// own (ca_rtt_us, which HyStart's delay detection needs several of per round). Karn's rule (RFC 6298 §3): data
/// sent more than once gives no sample, so a retransmission marks what it covers.
/// </summary>
/// <remarks>
/// With <c>everySegment</c> off it times one segment at a time, as RFC 6298 §3 and BSD (t_rtttime) do: a
/// record is taken only while none is pending. Entries are kept in sequence order in a ring that grows by
/// doubling up to <see cref="MaxEntries"/> (beyond it new data goes untimed until the ring drains); nothing is
/// allocated until the first record. Not thread-safe: the connection's state.
/// </remarks>
internal sealed class SendTimeLog
{
    /// <summary>The most pieces timed at once (a window of 2^16 segments).</summary>
    public const int MaxEntries = 1 << 16;

    private readonly bool _everySegment;
    private Entry[] _ring = [];
    private int _head;
    private int _count;

    public SendTimeLog(bool everySegment)
    {
        _everySegment = everySegment;
    }

    /// <summary>Pieces timed and not yet acknowledged.</summary>
    public int Count => _count;

    /// <summary>New data [<paramref name="start"/>, <paramref name="end"/>) left at <paramref name="sent"/>.</summary>
    public void Record(SeqNumber start, SeqNumber end, Instant sent)
    {
        if (end <= start || (!_everySegment && _count > 0))
        {
            return;
        }

        if (_count > 0 && start < At(_count - 1).End)
        {
            return; // not new data beyond what is timed (the caller records new data only; a guard, not a path)
        }

        if (_count == _ring.Length && !TryGrow())
        {
            return;
        }

        _ring[(_head + _count) % _ring.Length] = new Entry { Start = start, End = end, Sent = sent };
        _count++;
    }

    /// <summary>[<paramref name="start"/>, <paramref name="end"/>) is being sent again: those bytes give no sample
    /// (Karn). A piece the range covers only in part is split first, as Linux splits a TSO skb it retransmits in
    /// part (tcp_fragment), so the rest of it still times its ACK.</summary>
    public void MarkRetransmitted(SeqNumber start, SeqNumber end)
    {
        for (int i = 0; i < _count; i++)
        {
            ref Entry e = ref At(i);
            if (e.Start >= end)
            {
                break;
            }

            if (e.End <= start || e.Retransmitted)
            {
                continue;
            }

            if (e.Start < start && TrySplit(i, start))
            {
                continue; // the second half is examined next
            }

            if (e.End > end && !TrySplit(i, end))
            {
                e.Retransmitted = true; // no room to split: the whole piece goes untimed, as before
                continue;
            }

            At(i).Retransmitted = true;
        }
    }

    /// <summary>Cuts the piece at index <paramref name="index"/> in two at <paramref name="at"/>, both halves with its
    /// transmit time. False when the ring is at its bound.</summary>
    private bool TrySplit(int index, SeqNumber at)
    {
        if (_count == _ring.Length && !TryGrow())
        {
            return false;
        }

        Entry whole = At(index);
        for (int i = _count; i > index + 1; i--)
        {
            At(i) = At(i - 1);
        }

        _count++;
        At(index) = whole with { End = at };
        At(index + 1) = whole with { Start = at };
        return true;
    }

    private bool TryGrow()
    {
        if (_ring.Length == MaxEntries)
        {
            return false;
        }

        var larger = new Entry[Math.Max(16, _ring.Length * 2)];
        for (int i = 0; i < _count; i++)
        {
            larger[i] = At(i);
        }

        _ring = larger;
        _head = 0;
        return true;
    }

    /// <summary>
    /// An ACK moved SND.UNA to <paramref name="ack"/>: forgets what it fully acknowledged and returns, over that and
    /// a piece it acknowledged in part (a large segment), the earliest and the latest transmit time of pieces sent
    /// once. False when none gives a sample. Timing one segment at a time, any ACK beyond its start ends it.
    /// </summary>
    public bool TryTake(SeqNumber ack, out Instant first, out Instant last)
    {
        first = default;
        last = default;
        bool any = false;
        while (_count > 0)
        {
            ref Entry e = ref At(0);
            if (e.Start >= ack)
            {
                break;
            }

            if (!e.Retransmitted)
            {
                if (!any)
                {
                    first = e.Sent;
                }

                last = e.Sent;
                any = true;
            }

            if (e.End > ack && _everySegment)
            {
                e.Start = ack; // acknowledged in part: the rest stays timed from the same send
                break;
            }

            e = default;
            _head = (_head + 1) % _ring.Length;
            _count--;
        }

        return any;
    }

    /// <summary>When the oldest piece timed and the newest left (the head of Linux's retransmission queue and its
    /// last transmit). False when nothing is timed.</summary>
    public bool TryGetSendTimes(out Instant oldest, out Instant newest)
    {
        if (_count == 0)
        {
            oldest = newest = default;
            return false;
        }

        oldest = At(0).Sent;
        newest = At(_count - 1).Sent;
        return true;
    }

    /// <summary>Whether every piece is timed (Linux) or one at a time (RFC 6298 §3).</summary>
    public bool EverySegment => _everySegment;

    /// <summary>Forgets everything (the connection is done with its send queue); the ring is kept for reuse.</summary>
    public void Clear()
    {
        Array.Clear(_ring);
        _head = 0;
        _count = 0;
    }

    private ref Entry At(int i) => ref _ring[(_head + i) % _ring.Length];

    private record struct Entry
    {
        public SeqNumber Start;
        public SeqNumber End;
        public Instant Sent;
        public bool Retransmitted;
    }
}
