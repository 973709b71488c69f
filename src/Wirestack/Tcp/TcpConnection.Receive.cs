// Segment arrival: RFC 9293 §3.10.7.3 (SYN-SENT) and §3.10.7.4 (every other state), with RFC 7323 PAWS and
// RFC 5961's defences against blind resets and SYNs.
using System.Net.Sockets;
using Wirestack.Buffers;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tcp;

public sealed partial class TcpConnection
{
    private Instant _lastReceived;
    private bool _oooFin;
    private SeqNumber _oooFinSeq;
    private bool _deferNotify;
    private bool _notifyPending;

    /// <summary>A segment for this connection. <paramref name="payload"/> is lent for the call.</summary>
    internal void OnSegment(in TcpHeader h, SegmentText payload, Instant now)
    {
        _lastReceived = now;
        _keepProbes = 0;
        // The socket hears of what this segment changed only once all of it is processed: a send parked on a full
        // buffer and moved on by the ACK that frees room must also see that ACK's window (RFC 9293 §3.10.7.4,
        // SND.WND is updated after SND.UNA), and new data must not be read before the FIN behind it is noted.
        _deferNotify = true;
        try
        {
            if (State == TcpState.SynSent)
            {
                OnSegmentSynSent(h, payload, now);
            }
            else
            {
                OnSegmentSynchronized(h, payload, now);
            }
        }
        finally
        {
            _deferNotify = false;
        }

        ScheduleTimer();
        if (_notifyPending)
        {
            _notifyPending = false;
            Notify();
        }
    }

    /// <summary>RFC 9293 §3.10.7.3, SYN-SENT.</summary>
    private void OnSegmentSynSent(in TcpHeader h, SegmentText payload, Instant now)
    {
        bool hasAck = h.Has(TcpFlags.Ack);
        // first: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit is set) ... and discard".
        if (hasAck && (h.AcknowledgmentNumber <= _iss || h.AcknowledgmentNumber > _sndNxt))
        {
            if (!h.Has(TcpFlags.Rst))
            {
                _layer.SendResetFor(Tuple, h.AcknowledgmentNumber, default, ack: false, now);
            }

            return;
        }

        if (h.Has(TcpFlags.Rst))
        {
            // second: RST with an acceptable ACK: "error: connection reset"; like BSD and Linux we report
            // ConnectionRefused (ECONNREFUSED, seed 004 §1.3.1). Without an ACK it is dropped (RFC 5961 §3).
            if (hasAck)
            {
                _layer.Counters.AttemptFails++;
                Fail(SocketError.ConnectionRefused,
                    $"connection refused: {Tuple.RemoteAddress}:{Tuple.RemotePort} answered the SYN with RST,ACK (no listener)", now);
            }

            return;
        }

        if (!h.Has(TcpFlags.Syn))
        {
            return; // fifth: "If neither of the SYN or RST bits is set, then drop the segment"
        }

        // fourth: SYN.
        _irs = h.SequenceNumber;
        _rcvNxt = h.SequenceNumber + 1;
        NegotiateFromSyn(h);
        _rcvAdvertisedEdge = _rcvNxt + SynWindow();
        if (hasAck)
        {
            TakeRttSampleFromSyn(h, now);
            _sndUna = h.AcknowledgmentNumber;
            _sndWnd = h.Window; // RFC 7323 §2.2: the window field of a SYN (here the SYN-ACK) is never scaled
            _maxSndWnd = Math.Max(_maxSndWnd, _sndWnd);
            _sndWl1 = h.SequenceNumber;
            _sndWl2 = h.AcknowledgmentNumber;
            _rtoAt = null;
            _waitAt = null; // the connect deadline (keepinit) is met
            Retransmits = 0;
            Congestion!.Initialize(Mss, now);
            _layer.OnActiveEstablished(this);
            SetState(TcpState.Established, now);
            if (payload.Length > 0)
            {
                AcceptText(h.SequenceNumber + 1, payload, now);
            }

            SendAck(now);
            Notify();
            Output(now);
            return;
        }

        // Simultaneous open (RFC 9293 §3.5, figure 8): SYN-RECEIVED, and send SYN,ACK with our ISS.
        _sndWnd = h.Window;
        _sndWl1 = h.SequenceNumber;
        SetState(TcpState.SynReceived, now);
        _rtoAt = null;
        SendSynAck(now);
    }

    private void TakeRttSampleFromSyn(in TcpHeader h, Instant now)
    {
        if (Retransmits == 0 && _synTimes is not null && (ReferenceEquals(_synTimes, OnlySynAtConnectStart) || _synTimes.Count > 0))
        {
            Rtt.AddSample(now - (ReferenceEquals(_synTimes, OnlySynAtConnectStart) ? _connectStart!.Value : _synTimes[^1]),
                h.AcknowledgmentNumber, _sndNxt);
        }
        else if (Retransmits == 0 && _connectStart is { } start)
        {
            Rtt.AddSample(now - start, h.AcknowledgmentNumber, _sndNxt);
        }
    }

    /// <summary>RFC 9293 §3.10.7.4: SYN-RECEIVED and the synchronized states.</summary>
    private void OnSegmentSynchronized(in TcpHeader segment, SegmentText payload, Instant now)
    {
        TcpHeader h = segment;
        if (State == TcpState.SynReceived && h.Has(TcpFlags.Syn) && h.Has(TcpFlags.Ack) && !h.Has(TcpFlags.Rst) && h.SequenceNumber == _irs)
        {
            // Simultaneous open (RFC 9293 §3.5 figure 8, line 4): the peer's SYN,ACK repeats its SYN; its
            // sequence number is consumed already, so what counts is the acknowledgment it carries.
            h.Flags &= ~TcpFlags.Syn;
            h.SequenceNumber += 1;
        }

        bool rst = h.Has(TcpFlags.Rst);
        bool syn = h.Has(TcpFlags.Syn);

        if (State == TcpState.Established && syn && h.Has(TcpFlags.Ack) && !rst && h.SequenceNumber == _irs && Listener is null)
        {
            Cold.SynAckRepeats++; // our ACK of its SYN-ACK did not take: answer with an ACK again (below)
        }

        // A retransmitted SYN in SYN-RECEIVED means our SYN-ACK was lost: send it again (Linux does).
        if (State == TcpState.SynReceived && syn && !rst && !h.Has(TcpFlags.Ack) && h.SequenceNumber == _irs)
        {
            SendSynAck(now);
            return;
        }

        // RFC 7323 §5.3 R1: PAWS. A segment whose TSval is older than TS.Recent is a duplicate from the past.
        if (_tsEnabled && h.Options.HasTimestamp && !rst && unchecked((int)(h.Options.TsVal - _tsRecent)) < 0 &&
            now - _tsRecentAge < TimeSpan.FromDays(24))
        {
            _layer.Counters.PAWSEstab++;
            SendAck(now);
            return;
        }

        // first: check sequence number.
        if (!IsAcceptable(h, payload.Length))
        {
            if (!rst)
            {
                if (payload.Length > 0 && h.SequenceNumber < _rcvNxt && _sackEnabled)
                {
                    // RFC 2883 §4: report the duplicate with a D-SACK block.
                    _dsack = new SackBlock(h.SequenceNumber, SeqNumber.Min(h.SequenceNumber + payload.Length, _rcvNxt));
                    _hasDsack = true;
                    _layer.Counters.TCPDSACKOldSent++;
                }

                if (State == TcpState.TimeWait && syn)
                {
                    return; // handled by the layer before it reaches here
                }

                if (!syn && h.SequenceNumber > _rcvNxt)
                {
                    // Not acceptable and after RCV.NXT: it starts beyond the window (Linux tcp_validate_incoming counts
                    // SKB_DROP_REASON_TCP_INVALID_SEQUENCE as LINUX_MIB_BEYOND_WINDOW).
                    _layer.Counters.BeyondWindow++;
                }

                SendAck(now);
            }

            return;
        }

        // second: RST (RFC 5961 §3.2: only an exact match resets; otherwise a challenge ACK).
        if (rst)
        {
            OnReset(h, now);
            return;
        }

        // fourth: SYN in a synchronized state (RFC 5961 §4.2): challenge ACK, never a reset.
        if (syn)
        {
            _layer.SendChallengeAck(this, now);
            return;
        }

        // fifth: ACK.
        if (!h.Has(TcpFlags.Ack))
        {
            return;
        }

        if (State == TcpState.SynReceived && !CompleteHandshake(h, payload.Length, now))
        {
            return;
        }

        if (!ProcessAck(h, payload.Length, now))
        {
            return;
        }

        if (State == TcpState.Closed)
        {
            return;
        }

        // seventh: segment text.
        if (payload.Length > 0)
        {
            if (State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)
            {
                if (IsOrphan && State != TcpState.Established)
                {
                    // RFC 1122 §4.2.2.13 / RFC 2525 §2.17, Linux tcp_rcv_state_process (TCPAbortOnData): data for a
                    // socket the user has closed is answered with a reset formed from the segment, as RFC 9293
                    // §3.10.7.4 forms one for an ACK-bearing segment: <SEQ=SEG.ACK><CTL=RST> (Linux tcp_v4_send_reset).
                    _layer.Counters.TCPAbortOnData++;
                    _layer.SendResetFor(Tuple, h.AcknowledgmentNumber, default, ack: false, now);
                    Fail(SocketError.ConnectionReset, "data arrived after close: reset sent", now);
                    return;
                }

                // When the FIN follows the data in order, its ACK covers both (one ACK, not two).
                if (h.SequenceNumber + payload.Length > _rcvNxt)
                {
                    MeasureReceiveMss(h, payload.Length); // data not all received before (Linux measures what it queues)
                }

                AcceptText(h.SequenceNumber, payload, now, finFollows: h.Has(TcpFlags.Fin));
            }
        }

        // eighth: FIN.
        if (h.Has(TcpFlags.Fin))
        {
            SeqNumber finSeq = h.SequenceNumber + payload.Length;
            if (finSeq == _rcvNxt)
            {
                OnFin(now);
            }
            else if (finSeq > _rcvNxt)
            {
                _oooFin = true;
                _oooFinSeq = finSeq;
            }
        }

        Output(now);
    }

    /// <summary>RFC 9293 §3.10.7.4 first check, the four cases of segment length and window.</summary>
    private bool IsAcceptable(in TcpHeader h, int payloadLength)
    {
        int segLen = payloadLength + (h.Has(TcpFlags.Syn) ? 1 : 0) + (h.Has(TcpFlags.Fin) ? 1 : 0);
        int wnd = Math.Max(0, _rcvAdvertisedEdge - _rcvNxt);
        if (_layer.Settings.BsdSocketBuffers)
        {
            wnd = Math.Max(wnd, ReceiveWindowAvailable()); // FreeBSD tcp_input: rcv_wnd = max(sbspace, rcv_adv - rcv_nxt)
        }

        SeqNumber seq = h.SequenceNumber;
        if (segLen == 0)
        {
            // DEVIATION from RFC 9293's RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND by one: like Linux (tcp_sequence: !after(seq,
            // rcv_nxt + window)) an empty segment exactly at the right edge is acceptable (kselftest tcp_rcv_wnd_*).
            int edge = _layer.Settings.AcceptEmptySegmentAtRightEdge ? 1 : 0;
            return wnd == 0 ? seq == _rcvNxt : seq.InRange(_rcvNxt, _rcvNxt + wnd + edge);
        }

        if (wnd == 0)
        {
            // A zero window still takes a pure ACK/FIN at RCV.NXT (and RST); data is not accepted.
            return seq == _rcvNxt && payloadLength == 0;
        }

        SeqNumber last = seq + (segLen - 1);
        // The third case (a segment spanning the whole window) only when it really starts before RCV.NXT: a
        // sequence number exactly 2^31 away is both "before" and "after" RCV.NXT in signed comparison (RFC 9293
        // §3.4 comparisons hold only under 2^31), so the distance is taken unsigned (found by the fuzzer).
        return seq.InRange(_rcvNxt, _rcvNxt + wnd) || last.InRange(_rcvNxt, _rcvNxt + wnd) ||
               (seq < _rcvNxt && unchecked(_rcvNxt.Value - seq.Value) < (uint)segLen && last >= _rcvNxt + wnd);
    }

    private void OnReset(in TcpHeader h, Instant now)
    {
        if (h.SequenceNumber != _rcvNxt)
        {
            // RFC 5961 §3.2: in the window but not exact: challenge ACK.
            _layer.SendChallengeAck(this, now);
            return;
        }

        switch (State)
        {
            case TcpState.SynReceived when Listener is not null:
                // RFC 9293 §3.10.7.4: a passive open returns to LISTEN; the half-open connection just goes.
                _layer.Counters.AttemptFails++;
                Fail(SocketError.Success, null, now);
                return;
            case TcpState.SynReceived:
                _layer.Counters.AttemptFails++;
                Fail(SocketError.ConnectionRefused, "connection refused: reset during simultaneous open", now);
                return;
            case TcpState.Established:
            case TcpState.FinWait1:
            case TcpState.FinWait2:
            case TcpState.CloseWait:
                _layer.Counters.EstabResets++;
                Fail(SocketError.ConnectionReset, ResetExplanation(), now);
                return;
            case TcpState.TimeWait when _layer.Settings.Rfc1337:
                return; // RFC 1337 §3 (TIME-WAIT assassination): ignore RST in TIME-WAIT
            default:
                Fail(SocketError.Success, null, now);
                return;
        }
    }

    /// <summary>SYN-ACKs the peer sent again after we had acknowledged its first: the sign that it dropped our
    /// ACK (an overflowing accept queue, seed 004 §1.4).</summary>
    private int SynAckRepeats => _cold?.SynAckRepeats ?? 0;

    private string ResetExplanation()
    {
        string state = State.SsName();
        if (SynAckRepeats > 0)
        {
            return $"connection reset by peer in {state}: the peer re-sent its SYN-ACK {SynAckRepeats} time(s) after we acknowledged it " +
                   "(its accept queue was full and it dropped our ACK), then reset when our data arrived";
        }

        if (_sndUna == _iss + 1 && _rcvNxt == _irs + 1 && SendQueued > 0)
        {
            // Nothing we sent after the handshake was ever acknowledged and nothing arrived: the peer never had the
            // connection we think we have (seed 004 §1.4: its accept queue was full and it dropped our ACK).
            return $"connection reset by peer in {state}: it never acknowledged any of our {SendQueued} bytes, so it never " +
                   "completed the connection (its accept queue was full and it dropped our handshake ACK), then reset when our data arrived";
        }

        return _everHadData || SendQueued > 0
            ? $"connection reset by peer in {state} (the peer had no such connection or aborted it; {SendQueued} bytes unacknowledged)"
            : $"connection reset by peer in {state}";
    }

    private bool _everHadData;

    /// <summary>SYN-RECEIVED, ACK arrives (RFC 9293 §3.10.7.4 fifth): "If SND.UNA &lt; SEG.ACK =&lt; SND.NXT, then
    /// enter ESTABLISHED"; otherwise reset. A passive open also needs room in the accept queue (seed 004 §1.4).</summary>
    private bool CompleteHandshake(in TcpHeader h, int payloadLength, Instant now)
    {
        if (!(h.AcknowledgmentNumber > _sndUna && h.AcknowledgmentNumber <= _sndNxt))
        {
            _layer.SendResetFor(Tuple, h.AcknowledgmentNumber, default, ack: false, now);
            return false;
        }

        if (Listener is not null && Retransmits < DeferAcceptTimeouts && payloadLength == 0 && !h.Has(TcpFlags.Fin))
        {
            // Linux tcp_check_req: "While TCP_DEFER_ACCEPT is active, drop bare ACK"; the request remembers it was
            // acknowledged, so its SYN-ACK timer stops resending until the last chance (OnRetransmitTimeout).
            Cold.DeferAcked = true;
            _layer.Counters.TCPDeferAcceptDrop++;
            return false;
        }

        if (Listener is not null && !_layer.TryQueueForAccept(this, now))
        {
            return false; // accept queue full: the ACK is dropped (or the connection reset), as Linux does
        }

        TakeRttSampleFromSyn(h, now);
        _sndUna = h.AcknowledgmentNumber;
        _sndWnd = (uint)h.Window << _sndScale;
        _maxSndWnd = Math.Max(_maxSndWnd, _sndWnd);
        _sndWl1 = h.SequenceNumber;
        _sndWl2 = h.AcknowledgmentNumber;
        _rtoAt = null;
        _waitAt = null;
        Retransmits = 0;
        Congestion!.Initialize(Mss, now);
        SetState(TcpState.Established, now);
        Notify();
        return true;
    }

    /// <summary>RFC 9293 §3.10.7.4 fifth, the synchronized states; RFC 5961 §5.2 ACK validation. Returns false when
    /// the segment is to be dropped.</summary>
    private bool ProcessAck(in TcpHeader h, int payloadLength, Instant now)
    {
        SeqNumber ack = h.AcknowledgmentNumber;
        if (ack > _sndMax)
        {
            // "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an ACK, drop the segment".
            _layer.Counters.TCPACKSkippedChallenge++;
            SendAck(now);
            return false;
        }

        if (ack < _sndUna - (int)Math.Min(_maxSndWnd, int.MaxValue))
        {
            // RFC 5961 §5.2: too old to be acceptable: challenge ACK and drop.
            _layer.SendChallengeAck(this, now);
            return false;
        }

        // RFC 7323 §4.3 (2): TS.Recent takes the TSval of a segment that covers Last.ACK.sent, and (§5.3 R3, Linux
        // tcp_ack's FLAG_UPDATE_TS_RECENT) only once the segment is known good: a segment with an unacceptable ACK
        // (dropped above, answered with a challenge ACK) must not move the timestamp we echo.
        if (_tsEnabled && h.Options.HasTimestamp && h.SequenceNumber <= _lastAckSent)
        {
            _tsRecent = h.Options.TsVal;
            _tsRecentAge = now;
        }

        uint scaledWindow = (uint)h.Window << _sndScale;
        SeqNumber unaBefore = _sndUna;
        int flightBefore = FlightSize;
        if (ack > _sndUna)
        {
            OnNewAck(h, ack, now);
        }
        else if (ack == _sndUna && payloadLength == 0 && !h.Has(TcpFlags.Fin) && scaledWindow == _sndWnd && _sndMax > _sndUna)
        {
            OnDuplicateAck(h, now);
        }
        else if (_sackEnabled && h.Options.SackCount > 0)
        {
            OnSackOnlyAck(h, now);
        }

        if (_cold is { TlpOutstanding: true })
        {
            bool notDuplicate = ack > unaBefore || payloadLength > 0 || scaledWindow != _sndWnd;
            OnAckForLossProbe(h, ack, ack > unaBefore, notDuplicate, flightBefore, now);
        }

        if (ack > unaBefore)
        {
            ScheduleLossProbe(now); // RFC 8985 §7.2: an ACK that cumulatively acknowledges new data
        }

        // RFC 9293 §3.10.7.4: update the send window when the segment is newer (SND.WL1/SND.WL2 rule).
        if (_sndWl1 < h.SequenceNumber || (_sndWl1 == h.SequenceNumber && _sndWl2 <= ack))
        {
            bool opened = _sndWnd == 0 && scaledWindow > 0;
            _sndWnd = scaledWindow;
            _maxSndWnd = Math.Max(_maxSndWnd, _sndWnd);
            _sndWl1 = h.SequenceNumber;
            _sndWl2 = ack;
            if (opened)
            {
                PersistAt = null;
                _probesOut = 0;
                _persistBackoff = 0;
                ProbeStart = null;
                Trace?.Add(new TcpTraceEvent(now, "window", $"peer window opened to {scaledWindow}"));
            }
        }

        _probesOut = 0; // Linux: any acceptable ACK shows the peer is alive
        return AfterAckStateChanges(now);
    }

    /// <summary>FIN-WAIT-1 / CLOSING / LAST-ACK transitions once our FIN is acknowledged.</summary>
    private bool AfterAckStateChanges(Instant now)
    {
        bool finAcked = _finSent && _sndUna > _finSeq;
        switch (State)
        {
            case TcpState.FinWait1 when finAcked:
                SetState(TcpState.FinWait2, now);
                if (IsOrphan)
                {
                    if (FinWait2Timeout < TimeSpan.Zero)
                    {
                        // Linux tcp_rcv_state_process (FIN-WAIT-1, orphan, linger2 < 0): tcp_done, counted as
                        // TCPAbortOnData, and the ACK is answered with a reset (tcp_v4_do_rcv sends one when the
                        // state machine returns non-zero): <SEQ=SEG.ACK><CTL=RST>.
                        _layer.Counters.TCPAbortOnData++;
                        FourTuple tuple = Tuple;
                        SeqNumber resetSeq = _sndUna;
                        Fail(SocketError.Success, null, now);
                        _layer.SendResetFor(tuple, resetSeq, default, ack: false, now);
                        return false;
                    }

                    _waitAt = now + FinWait2Time;
                }

                break;
            case TcpState.Closing when finAcked:
                EnterTimeWait(now);
                return false;
            case TcpState.LastAck when finAcked:
                Fail(SocketError.Success, null, now);
                return false;
        }

        return true;
    }
}
