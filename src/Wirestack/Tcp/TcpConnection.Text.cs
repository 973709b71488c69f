// Segment text and FIN (RFC 9293 §3.10.7.4 seventh and eighth), the ACK policy (RFC 1122 §4.2.3.2, RFC 5681
// §4.2) and TIME-WAIT (RFC 9293 §3.6.1, RFC 1337).
using System.Net.Sockets;
using Wirestack.Buffers;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tcp;

public sealed partial class TcpConnection
{
    /// <summary>In-order and out-of-order data (RFC 9293 §3.10.7.4 seventh), trimmed to the window.</summary>
    private void AcceptText(SeqNumber seq, SegmentText payload, Instant now, bool finFollows = false)
    {
        _everHadData = true;
        // Trim what is already received.
        if (seq < _rcvNxt)
        {
            int skip = _rcvNxt - seq;
            if (skip >= payload.Length)
            {
                if (!finFollows)
                {
                    SendAck(now);
                }

                return; // a retransmitted data+FIN whose data is here already: the FIN's ACK is the one answer
            }

            payload = payload[skip..];
            seq = _rcvNxt;
        }

        // Trim what lies beyond the window we advertised.
        int room = Math.Max(0, _rcvAdvertisedEdge - seq);
        if (payload.Length > room)
        {
            payload = payload[..room];
        }

        if (payload.Length == 0)
        {
            _layer.Counters.TCPZeroWindowDrop++;
            SendAck(now);
            return;
        }

        if (seq == _rcvNxt)
        {
            _receiveQueue ??= _layer.RentQueue(BudgetCause.ReceiveBuffer);
            int accepted = payload.WriteTo(_receiveQueue); // the one copy of each byte, piece by piece
            if (accepted < payload.Length)
            {
                _layer.Counters.TCPRcvQDrop++;
            }

            _rcvNxt += accepted;
            bool filledHole = false;
            if (_ooo is not null && !_ooo.IsEmpty)
            {
                int moved = _ooo.Drain(_rcvNxt, _receiveQueue);
                _rcvNxt += moved;
                filledHole = true;
            }

            if (_oooFin && _oooFinSeq == _rcvNxt)
            {
                _oooFin = false;
                OnFin(now);
                return;
            }

            Notify();
            if (accepted == 0)
            {
                SendAck(now);
                return;
            }

            if (finFollows && accepted == payload.Length)
            {
                return; // the FIN's ACK (OnFin) acknowledges this data too
            }

            ScheduleAck(accepted, filledHole, now);
            return;
        }

        // Out of order: keep it (bounded) and send an immediate duplicate ACK with SACK blocks (RFC 5681 §4.2).
        _ooo ??= new ReassemblyQueue(_layer.Budget, arrays: _layer.Ip.Pool.Arrays);
        long refusedBefore = _layer.Budget.FailuresFor(BudgetCause.ReceiveBuffer);
        int rangesBefore = _ooo.RangeCount;
        int stored = InsertOutOfOrder(seq, payload);
        if (stored > 0)
        {
            _layer.Counters.TCPOFOQueue++;
        }
        else if (_layer.Budget.FailuresFor(BudgetCause.ReceiveBuffer) > refusedBefore || rangesBefore >= _ooo.MaxRanges)
        {
            _layer.Counters.TCPOFODrop++; // Linux: dropped for want of memory, not a duplicate
        }

        SendAck(now);
    }

    /// <summary>Stores out-of-order text as one insertion (one arrival for the SACK blocks' order, RFC 2018 §4),
    /// joining text in pieces first.</summary>
    private int InsertOutOfOrder(SeqNumber seq, SegmentText payload)
    {
        if (payload.IsOnePiece)
        {
            return _ooo!.Insert(_rcvNxt, seq, payload.Span);
        }

        ByteArrayCache arrays = _layer.Ip.Pool.Arrays;
        byte[] joined = arrays.Rent(payload.Length);
        try
        {
            payload.CopyTo(joined);
            return _ooo!.Insert(_rcvNxt, seq, joined.AsSpan(0, payload.Length));
        }
        finally
        {
            arrays.Return(joined);
        }
    }

    /// <summary>
    /// The peer's segment size as this end sees it (Linux's <c>icsk_ack.rcv_mss</c>, <c>tcpi_rcv_mss</c>): at first
    /// min(advertised MSS, MSS, half the receive window, 536); then, for every segment with data (in order or not),
    /// its segment size (a large segment's GSO size) when at least as large, capped at the MSS this end advertised;
    /// a smaller one only when two in a row of the same size look full-sized (at least 536 bytes with the header,
    /// or 88 without FIN, SYN, PSH or URG), as <c>tcp_measure_rcv_mss</c> does.
    /// </summary>
    public int ReceiveMss => _rcvMss != 0 ? _rcvMss : InitialReceiveMss();

    private int InitialReceiveMss()
    {
        // Linux tcp_initialize_rcv_mss: TCP_MSS_DEFAULT (536) at most, TCP_MIN_MSS (88) at least.
        int window = Math.Max(0, _rcvAdvertisedEdge - _rcvNxt); // the window last advertised (rcv_wnd)
        int hint = Math.Min(Math.Min(AdvertisedMss, Mss), Math.Min(window / 2, 536));
        return Math.Max(hint, 88);
    }

    private void MeasureReceiveMss(in TcpHeader h, int payloadLength)
    {
        if (payloadLength == 0)
        {
            return;
        }

        int current = ReceiveMss;
        int lastSegment = _lastSegmentSize;
        _lastSegmentSize = 0;
        int length = _layer.InputGsoSize > 0 ? _layer.InputGsoSize : payloadLength;
        if (length >= current)
        {
            _rcvMss = (ushort)Math.Min(length, AdvertisedMss);
            return;
        }

        int withHeader = length + h.Length;
        bool remnant = (h.Flags & (TcpFlags.Fin | TcpFlags.Syn | TcpFlags.Psh | TcpFlags.Urg)) != 0;
        if (withHeader >= 536 + TcpSegment.MinHeaderLength || (withHeader >= 88 + TcpSegment.MinHeaderLength && !remnant))
        {
            int segment = withHeader - (TcpSegment.MinHeaderLength + (_tsEnabled ? 12 : 0)); // tp->tcp_header_len
            _lastSegmentSize = (ushort)Math.Max(0, segment);
            if (segment == lastSegment)
            {
                _rcvMss = (ushort)segment;
            }
        }
    }

    private ushort _rcvMss;          // 0 until the first segment with data (ReceiveMss)
    private ushort _lastSegmentSize; // Linux icsk_ack.last_seg_size

    /// <summary>RFC 9293 §3.8.6.3 / RFC 1122 §4.2.3.2: ACK at least every second full-sized segment, and otherwise
    /// within the delayed-ACK time; at once when a hole was filled (RFC 5681 §4.2). "Full-sized" is the peer's segment
    /// size as measured (<see cref="ReceiveMss"/>, Linux's rcv_mss), not this end's MSS: with a smaller MSS option
    /// from the peer than ours, its full segments are larger than our MSS. A segment of more than that (a peer's TSO,
    /// a receive offload's merge) is more than one full-sized segment by itself: ACKed at once, as Linux's
    /// __tcp_ack_snd_check does when more than rcv_mss bytes arrived since the last ACK.</summary>
    private void ScheduleAck(int bytes, bool filledHole, Instant now)
    {
        int rcvMss = ReceiveMss; // the peer's segment size, not ours: they differ when the two MSS options do
        _unackedSegments += bytes > rcvMss ? 3 : bytes == rcvMss ? 2 : 1;
        if (filledHole || _unackedSegments >= 3 || _quickAcks > 0)
        {
            if (_quickAcks > 0)
            {
                _quickAcks--;
            }

            SendAck(now);
            return;
        }

        _delAckAt ??= now + _layer.Settings.DelayedAck;
    }

    private int _quickAcks = 16; // Linux starts in quick-ACK mode so slow start is not held back by delayed ACKs

    /// <summary>RFC 9293 §3.10.7.4 eighth: the FIN is in order.</summary>
    private void OnFin(Instant now)
    {
        if (_finReceived)
        {
            SendAck(now); // a second FIN: the peer's FIN is already counted in RCV.NXT
            return;
        }

        _rcvNxt += 1;
        _finReceived = true;
        switch (State)
        {
            case TcpState.SynReceived:
            case TcpState.Established:
                // Linux tcp_fin: moving to CLOSE-WAIT only schedules the ACK (inet_csk_schedule_ack) and leaves
                // quick-ACK mode (pingpong), so __tcp_ack_snd_check sends it at once only when more than a full
                // segment is unacknowledged; otherwise the delayed-ACK timer sends it, or the reply or our FIN
                // carries it (RFC 9293 §3.8.6.3 / RFC 1122 §4.2.3.2 allow the delay). A connection that never
                // received data has no delayed-ACK interval yet (icsk_ack.ato is set by the first data,
                // tcp_event_data_recv), so its timer fires at once.
                if (!_everHadData || _rcvNxt - _lastAckSent > Mss)
                {
                    SendAck(now);
                }
                else
                {
                    _delAckAt ??= now + _layer.Settings.DelayedAck;
                }

                SetState(TcpState.CloseWait, now);
                break;
            case TcpState.FinWait1:
                SendAck(now);
                if (_finSent && _sndUna > _finSeq)
                {
                    EnterTimeWait(now);
                }
                else
                {
                    SetState(TcpState.Closing, now);
                }

                break;
            case TcpState.FinWait2:
                SendAck(now);
                EnterTimeWait(now);
                break;
            case TcpState.TimeWait:
                SendAck(now);
                _waitAt = now + _layer.Settings.TimeWait; // restart the 2 MSL timeout
                break;
            default:
                SendAck(now);
                break;
        }

        Notify();
    }

    private void EnterTimeWait(Instant now)
    {
        if (_layer.TimeWaitCount >= _layer.Settings.MaxTimeWaitBuckets)
        {
            // Linux tcp_time_wait: no TIME-WAIT slot to be had (tcp_max_tw_buckets), so the connection is done at
            // once, as when 2 MSL ends (data received before the FIN stays readable); the kernel logs "TCP: time
            // wait bucket table overflow".
            _layer.Counters.TCPTimeWaitOverflow++;
            Fail(SocketError.Success, null, now);
            return;
        }

        SetState(TcpState.TimeWait, now);
        ReleaseBuffers(keepReceived: !IsOrphan); // data received before the FIN stays readable
        _rtoAt = null;
        _ptoLead = -1;
        _delAckAt = null;
        PersistAt = null;
        KeepAt = null;
        _waitAt = now + _layer.Settings.TimeWait;
        _layer.Counters.TW++;
        Notify();
        ScheduleTimer();
    }

    /// <summary>TIME-WAIT: a segment arrives (handled before the general rules: RFC 9293 §3.10.7.4 and RFC 1337).</summary>
    internal void OnSegmentInTimeWait(in TcpHeader h, int payloadLength, Instant now)
    {
        if (h.Has(TcpFlags.Rst))
        {
            if (!_layer.Settings.Rfc1337 && h.SequenceNumber == _rcvNxt)
            {
                Fail(SocketError.Success, null, now);
            }

            return;
        }

        if (h.Has(TcpFlags.Fin))
        {
            // the peer did not see our ACK of its FIN: ACK again and restart 2 MSL
            SendAck(now);
            _waitAt = now + _layer.Settings.TimeWait;
            ScheduleTimer();
            return;
        }

        if (payloadLength > 0 || !h.Has(TcpFlags.Ack) || h.SequenceNumber != _rcvNxt)
        {
            SendAck(now);
        }
    }

    /// <summary>Whether a SYN arriving in TIME-WAIT may start a new incarnation (RFC 6191 / RFC 9293 §3.6.1 note):
    /// its sequence number is beyond the old connection's, or its timestamp is newer.</summary>
    internal bool AcceptsNewIncarnation(in TcpHeader syn) =>
        syn.SequenceNumber > _rcvNxt || (_tsEnabled && syn.Options.HasTimestamp && unchecked((int)(syn.Options.TsVal - _tsRecent)) > 0);
}
