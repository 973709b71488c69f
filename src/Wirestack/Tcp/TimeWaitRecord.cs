// Compact TIME-WAIT (as Linux's inet_timewait_sock): once a connection in TIME-WAIT has no user (its socket is
// closed), the layer keeps only what TIME-WAIT needs to answer segments (RFC 9293 §3.10.7.4, RFC 1337, RFC 6191
// recycling by a newer SYN) in a struct table, and the connection object goes. The ss figures of the connection are
// kept too, so the socket table shows the entry as before.
using System.Net.Sockets;
using Wirestack.IP;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tcp;

/// <summary>What a TIME-WAIT connection without a user still needs: the sequence numbers of its ACK, the window it
/// advertises (constant in TIME-WAIT), timestamps, the 2 MSL expiry, and the figures <c>ss</c> shows.</summary>
internal struct TimeWaitRecord
{
    public SeqNumber SndNxt;
    public SeqNumber RcvNxt;
    public uint TsRecent;
    public uint TsOffset;
    public Instant Expiry;
    public ushort Window;
    public byte Tos;
    public bool TsEnabled;
    public bool LastAdvertisedZero;

    // what ss shows (frozen when the connection was compacted)
    public int Mss;
    public int Cwnd;       // -1: no congestion controller
    public int Ssthresh;   // -1: none
    public long SrttTicks; // -1: no sample
    public long RttVarTicks;
    public long RtoTicks;
    public uint SendWindow;
    public int Retransmits;
    public long TotalRetransmits;

    public readonly TimeSpan? Srtt => SrttTicks < 0 ? null : TimeSpan.FromTicks(SrttTicks);
    public readonly TimeSpan? RttVar => RttVarTicks < 0 ? null : TimeSpan.FromTicks(RttVarTicks);
}

/// <summary>The TCP layer's TIME-WAIT records and their 2 MSL timer (one wheel entry for all of them).</summary>
internal sealed class TimeWaitTable : ITimerCallback
{
    private readonly TcpLayer _layer;
    private readonly Dictionary<FourTuple, TimeWaitRecord> _records = new();
    private readonly PriorityQueue<FourTuple, long> _expiries = new(); // a record's expiry (µs); stale entries skipped
    // Expiries queued in non-decreasing order (the usual case: now + 2 MSL, with a clock that only goes forward) go
    // to a FIFO instead, O(1) each; the earliest of the two heads is the next expiry. Stale entries skipped as above.
    private readonly Queue<(FourTuple Tuple, long Expiry)> _inOrder = new();
    private long _lastInOrder; // the expiry last added to _inOrder
    private readonly TimerEntry _timer;

    public TimeWaitTable(TcpLayer layer)
    {
        _layer = layer;
        _timer = new TimerEntry(this);
    }

    public int Count => _records.Count;

    public bool Contains(FourTuple tuple) => _records.ContainsKey(tuple);

    public bool TryGet(FourTuple tuple, out TimeWaitRecord record) => _records.TryGetValue(tuple, out record);

    public IEnumerable<KeyValuePair<FourTuple, TimeWaitRecord>> All => _records;

    public void Add(FourTuple tuple, in TimeWaitRecord record)
    {
        _records[tuple] = record;
        QueueExpiry(tuple, record.Expiry.Microseconds);
        Rearm();
    }

    /// <summary>Ends the record (2 MSL over, recycled by a new SYN, or reset without RFC 1337).</summary>
    public void Remove(FourTuple tuple)
    {
        if (_records.Remove(tuple))
        {
            _layer.ReleaseTimeWaitPort(tuple.LocalPort);
        }
    }

    /// <summary>TIME-WAIT: a segment arrives (as <c>TcpConnection.OnSegmentInTimeWait</c>).</summary>
    public void OnSegment(FourTuple tuple, in TcpHeader h, int payloadLength, Instant now)
    {
        ref TimeWaitRecord r = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(_records, tuple);
        if (h.Has(TcpFlags.Rst))
        {
            if (!_layer.Settings.Rfc1337 && h.SequenceNumber == r.RcvNxt)
            {
                Remove(tuple);
            }

            return;
        }

        if (h.Has(TcpFlags.Fin))
        {
            // the peer did not see our ACK of its FIN: ACK again and restart 2 MSL
            // (the record is updated before the ACK goes out: output may re-enter the layer through a loopback)
            Instant expiry = now + _layer.Settings.TimeWait;
            r.Expiry = expiry;
            SendAck(tuple, ref r, now);
            QueueExpiry(tuple, expiry.Microseconds);
            Rearm();
            return;
        }

        if (payloadLength > 0 || !h.Has(TcpFlags.Ack) || h.SequenceNumber != r.RcvNxt)
        {
            SendAck(tuple, ref r, now);
        }
    }

    /// <summary>As <c>TcpConnection.AcceptsNewIncarnation</c>.</summary>
    public static bool AcceptsNewIncarnation(in TimeWaitRecord r, in TcpHeader syn) =>
        syn.SequenceNumber > r.RcvNxt || (r.TsEnabled && syn.Options.HasTimestamp && unchecked((int)(syn.Options.TsVal - r.TsRecent)) > 0);

    /// <summary>The bare ACK the connection would send in TIME-WAIT (<c>TcpConnection.SendAck</c>).</summary>
    private void SendAck(FourTuple tuple, ref TimeWaitRecord r, Instant now)
    {
        TcpOptions options = default;
        if (r.TsEnabled)
        {
            options.HasTimestamp = true;
            options.TsVal = unchecked((uint)now.TotalMilliseconds + r.TsOffset);
            options.TsEcr = r.TsRecent;
        }

        if (r.Window == 0)
        {
            _layer.Counters.TCPToZeroWindowAdv += r.LastAdvertisedZero ? 0 : 1;
            r.LastAdvertisedZero = true;
        }
        else if (r.LastAdvertisedZero)
        {
            r.LastAdvertisedZero = false;
            _layer.Counters.TCPFromZeroWindowAdv++;
        }

        var header = new TcpHeader
        {
            SourcePort = tuple.LocalPort,
            DestinationPort = tuple.RemotePort,
            SequenceNumber = r.SndNxt,
            AcknowledgmentNumber = r.RcvNxt,
            Flags = TcpFlags.Ack,
            Window = r.Window,
            Options = options,
        };

        int headerLength = header.Length;
        if (!_layer.Ip.TryRentPacket(headerLength, out Buffers.PacketBuffer? packet))
        {
            _layer.OutputNoBuffers++;
            return;
        }

        packet!.Prepend(headerLength);
        header.WriteTo(packet.Span, tuple.LocalAddress, tuple.RemoteAddress, 0);
        _layer.Counters.OutSegs++;
        _layer.Ip.Output(packet, tuple.LocalAddress, tuple.RemoteAddress, IPProtocol.Tcp, now, tos: r.Tos);
    }

    void ITimerCallback.OnTimer(TimerEntry entry, Instant now)
    {
        while (TryPeekExpiry(out FourTuple tuple, out long expiry) && expiry <= now.Microseconds)
        {
            DequeueExpiry();
            if (_records.TryGetValue(tuple, out TimeWaitRecord r) && r.Expiry.Microseconds == expiry)
            {
                Remove(tuple); // TIME-WAIT over
            }
        }

        Rearm();
    }

    /// <summary>Entries in the two expiry queues, stale ones included (bounded: see <see cref="QueueExpiry"/>).</summary>
    internal int QueuedExpiries => _inOrder.Count + _expiries.Count;

    private void QueueExpiry(FourTuple tuple, long expiry)
    {
        // An entry goes stale when its record ends early (a new SYN recycles the 4-tuple, a reset) or its 2 MSL
        // restarts, and is dropped only when it reaches the head, 2 MSL later. A server recycling TIME-WAIT
        // 4-tuples at 200,000 connections a second would queue 12 million entries a minute for a table of a few
        // thousand records: when stale entries outnumber live records (with some slack), the queues are rebuilt
        // from the live ones, so they stay within twice the table (amortised O(1) per entry).
        if (QueuedExpiries >= 2 * _records.Count + CompactionSlack)
        {
            CompactExpiries();
        }

        if (_inOrder.Count == 0 || expiry >= _lastInOrder)
        {
            _inOrder.Enqueue((tuple, expiry));
            _lastInOrder = expiry;
        }
        else
        {
            _expiries.Enqueue(tuple, expiry);
        }
    }

    private const int CompactionSlack = 64;

    private void CompactExpiries()
    {
        int count = _inOrder.Count;
        for (int i = 0; i < count; i++)
        {
            (FourTuple tuple, long expiry) = _inOrder.Dequeue();
            if (IsLive(tuple, expiry))
            {
                _inOrder.Enqueue((tuple, expiry)); // the survivors keep their order
            }
        }

        if (_expiries.Count > 0)
        {
            (FourTuple Tuple, long Expiry)[] held = [.. _expiries.UnorderedItems.Where(e => IsLive(e.Element, e.Priority)).Select(e => (e.Element, e.Priority))];
            _expiries.Clear();
            foreach ((FourTuple tuple, long expiry) in held)
            {
                _expiries.Enqueue(tuple, expiry);
            }

        }
    }

    private bool IsLive(FourTuple tuple, long expiry) => _records.TryGetValue(tuple, out TimeWaitRecord r) && r.Expiry.Microseconds == expiry;

    /// <summary>The earliest queued expiry of the two queues (the FIFO's on a tie).</summary>
    private bool TryPeekExpiry(out FourTuple tuple, out long expiry)
    {
        bool inOrder = _inOrder.TryPeek(out (FourTuple Tuple, long Expiry) head);
        if (_expiries.TryPeek(out tuple, out expiry) && (!inOrder || expiry < head.Expiry))
        {
            return true;
        }

        (tuple, expiry) = head;
        return inOrder;
    }

    private void DequeueExpiry()
    {
        if (_inOrder.TryPeek(out (FourTuple Tuple, long Expiry) head) &&
            (!_expiries.TryPeek(out _, out long expiry) || head.Expiry <= expiry))
        {
            _inOrder.Dequeue();
        }
        else
        {
            _expiries.Dequeue();
        }
    }

    private void Rearm()
    {
        // The usual case, a record added behind the others: the earliest queued expiry is unchanged and the timer is
        // already set for it. Whether that entry is stale is not worth a lookup here (the oldest record is far out
        // of the cache on a busy server): a stale one only wakes the timer early, and OnTimer skips it then.
        if (_timer.IsArmed && TryPeekExpiry(out _, out long earliest) && _timer.Deadline == new Instant(earliest))
        {
            return;
        }

        while (TryPeekExpiry(out FourTuple tuple, out long expiry))
        {
            if (!_records.TryGetValue(tuple, out TimeWaitRecord r) || r.Expiry.Microseconds > expiry)
            {
                DequeueExpiry(); // stale: the record went, or its 2 MSL restarted (queued again)
                continue;
            }

            var deadline = new Instant(expiry);
            if (!_timer.IsArmed || _timer.Deadline != deadline)
            {
                _layer.Timers.Arm(_timer, deadline);
            }

            return;
        }

        _layer.Timers.Cancel(_timer);
    }
}
