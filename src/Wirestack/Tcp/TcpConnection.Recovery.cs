// Acknowledgment processing and loss recovery: RFC 5681 (fast retransmit), RFC 6582 (NewReno), RFC 2018 / RFC 6675
// (SACK-based recovery), RFC 6937 (proportional rate reduction), RFC 2883 (D-SACK), RFC 6298 (RTT samples, Karn) and
// RFC 7323 §4 (RTTM).
using Wirestack.Tcp.Congestion;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tcp;

public sealed partial class TcpConnection
{
    private SackScoreboard? _sack; // created when SACK information first matters (most connections never need it)

    /// <summary>The SACK scoreboard, created on first use already caught up with SND.UNA (an empty board that had
    /// seen every cumulative ACK would be in the same state).</summary>
    private SackScoreboard Sack
    {
        get
        {
            if (_sack is null)
            {
                _sack = new SackScoreboard();
                _sack.OnCumulativeAck(_sndUna);
            }

            return _sack;
        }
    }
    private bool _inRecovery;
    private SeqNumber _recoveryPoint;
    private SeqNumber _highRxt;
    private int _dupAcks;

    public bool InRecovery => _inRecovery;

    /// <summary>Bytes sent and not yet acknowledged (FlightSize, RFC 5681 §2).</summary>
    public int FlightSize => _sndMax - _sndUna;

    /// <summary>SEG.ACK advanced: free acknowledged data, sample the RTT, grow or recover the window.</summary>
    private void OnNewAck(in TcpHeader h, SeqNumber ack, Instant now)
    {
        int acked = ack - _sndUna;
        int dataAcked = acked;
        if (_finSent && ack > _finSeq)
        {
            dataAcked -= 1; // the FIN's sequence number carries no data
        }

        dataAcked = Math.Min(dataAcked, SendQueued);
        if (dataAcked > 0)
        {
            _dataAcknowledged = true;
            _sendQueue!.Discard(dataAcked);
            if (_sendQueue.Length == 0)
            {
                _sendQueue.Clear();
            }
        }

        int flightBefore = FlightSize;
        int sackedBefore = _sack?.SackedBytes ?? 0;
        SeqNumber lostBefore = LostBoundary();
        bool wasInRecovery = _inRecovery;
        _sndUna = ack;
        if (_sndNxt < _sndUna)
        {
            _sndNxt = _sndUna;
        }

        TimeSpan? sample = TakeRttSample(h, ack, now, out TimeSpan? ccSample);
        if (sample is { } rtt)
        {
            Rtt.AddSample(rtt, _sndUna, _sndMax);
        }

        Retransmits = 0;
        FirstRexmitAt = null;
        Rtt.ResetBackoff();
        _rtoAt = _sndMax > _sndUna ? now + RetransmitTimeout : null; // RFC 6298 §5.3 restart, §5.2 stop
        _ptoLead = -1; // the loss probe, if due, is scheduled again once the ACK is processed (ProcessAck)

        if (_sackEnabled)
        {
            _sack?.OnCumulativeAck(ack);
            if (h.Options.SackCount > 0)
            {
                UpdateScoreboard(h, now, acked, sackedBefore);
            }
        }

        if (_inRecovery)
        {
            // The ACK that started recovery was counted by EnterRecovery already.
            int delivered = wasInRecovery ? NewlyDelivered(acked, sackedBefore) : 0;
            OnAckInRecovery(h, ack, acked, delivered, LostBoundary() > lostBefore, now);
        }
        else
        {
            int credited = _layer.Settings.AbcLimit > 0 ? acked : NewlyDelivered(acked, sackedBefore);
            _dupAcks = 0;
            ICongestionController cc = Congestion!;
            cc.OnAck(credited, flightBefore, ccSample, now, CongestionContext(cc));
            AutotuneSendBuffer();
        }

        // A writer is woken by an ACK only once a third of the send buffer is free (CanWrite), as Linux's
        // tcp_check_space → sk_stream_write_space wakes it only when sk_stream_is_writeable: an application that
        // fills the buffer then writes a third of it at a time instead of a segment or two per ACK. Once the
        // sending side is closed (FIN queued or sent) every ACK that frees space is announced: a lingering close
        // or SIOCOUTQ-style wait watches the queue drain.
        if (SendSpace > 0 && (CanWrite || _finQueued || State is not (TcpState.Established or TcpState.CloseWait)))
        {
            Notify();
        }
    }

    /// <summary>
    /// What an ACK that acknowledged <paramref name="acked"/> new bytes delivered, as Linux counts it for the
    /// congestion controller (tcp_ack: tcp_cong_control gets the tp->delivered delta): data delivered before,
    /// SACKed or announced by a duplicate ACK, is not counted again. Called after the scoreboard took the ACK;
    /// <paramref name="sackedBefore"/> is what it held SACKed before.
    /// </summary>
    private int NewlyDelivered(int acked, int sackedBefore)
    {
        if (_sackEnabled)
        {
            // Linux tcp_clean_rtx_queue counts as delivered only the acknowledged segments not already SACKed,
            // and tcp_sacktag_write_queue those this ACK newly SACKs: the bytes acknowledged, less those SACKed
            // below the new SND.UNA before, plus those newly SACKed above it. The bytes SACKed above it before
            // are in both sackedBefore and sackedAfter, so acked - sackedBefore + sackedAfter is that sum.
            int sackedAfter = _sack?.SackedBytes ?? 0;
            return Math.Max(0, acked - sackedBefore + sackedAfter);
        }

        // Without SACK Linux counts each duplicate ACK as one segment delivered (tcp_add_reno_sack), and a
        // cumulative ACK then credits max(segments acknowledged - those duplicate ACKs, 1) (tcp_remove_reno_sacks:
        // "One ACK acked hole. The rest eat duplicate ACKs.").
        return Math.Max(acked - _dupAcks * Mss, Math.Min(acked, Mss));
    }

    /// <summary>
    /// The RTT samples an ACK that advanced SND.UNA gives: for the estimator, and for the congestion controller in
    /// <paramref name="ccSample"/>. Linux (tcp_clean_rtx_queue, tcp_ack_update_rtt) times the newly acknowledged data
    /// from its transmit time, with or without timestamps, in microseconds: the earliest such transmit for the
    /// estimator (seq_rtt_us), the latest for the controller (ca_rtt_us, which HyStart's delay detection compares
    /// round by round); RFC 7323 §4.1's now − TSecr, in whole milliseconds, only when no such data was acknowledged
    /// (it was all retransmitted). Without the Linux profile: timestamps when present, else one timed segment.
    /// </summary>
    private TimeSpan? TakeRttSample(in TcpHeader h, SeqNumber ack, Instant now, out TimeSpan? ccSample)
    {
        if (_sendTimes is { Count: > 0 } times && times.TryTake(ack, out Instant first, out Instant last))
        {
            ccSample = now - last;
            return now - first;
        }

        ccSample = null;
        if (_tsEnabled && h.Options.HasTimestamp && h.Options.TsEcr != 0)
        {
            // RFC 7323 §4.1: RTT = now - TSecr, from any ACK that advances the left edge.
            uint ms = unchecked(TsNow(now) - h.Options.TsEcr);
            if (ms < 120_000)
            {
                ccSample = TimeSpan.FromMilliseconds(Math.Max(ms, 1));
                return ccSample;
            }
        }

        return null;
    }

    /// <summary>RFC 5681 §3.2 / RFC 6675 §5: count duplicate ACKs and enter recovery at the third (or when SACK
    /// information shows the first segment lost).</summary>
    private void OnDuplicateAck(in TcpHeader h, Instant now)
    {
        _dupAcks++;
        bool sackSaysLost = false;
        int sackedBefore = _sack?.SackedBytes ?? 0;
        SeqNumber lostBefore = LostBoundary();
        bool wasInRecovery = _inRecovery;
        if (_sackEnabled && h.Options.SackCount > 0)
        {
            UpdateScoreboard(h, now, 0, sackedBefore);
            sackSaysLost = Sack.IsLost(_sndUna, Mss);
        }

        if (_inRecovery)
        {
            if (_sackEnabled)
            {
                if (wasInRecovery)
                {
                    PrrOnAck(NewlyDelivered(0, sackedBefore), unaAdvanced: false, LostBoundary() > lostBefore);
                }

                SackRecoveryOutput(now);
            }
            else
            {
                // RFC 6582 §3.2 step 4: inflate by one segment per further duplicate ACK.
                Congestion!.Cwnd += Mss;
                Output(now);
            }

            return;
        }

        // RFC 6582 §3.2 step 1 / RFC 6675 §5 (via RecoveryPoint): no new recovery for losses in a window already
        // recovered from.
        if ((_dupAcks >= 3 || sackSaysLost) && _sndUna >= _recoveryPoint)
        {
            EnterRecovery(now, _sackEnabled ? NewlyDelivered(0, sackedBefore) : Mss);
            return;
        }

        if (_dupAcks <= 2)
        {
            Output(now); // RFC 3042: limited transmit
        }
    }

    /// <summary>An ACK that neither advances SND.UNA nor counts as a duplicate (it carries data or a window update)
    /// but SACKs: the scoreboard takes it, and in SACK recovery what it delivered paces the output as any ACK's does
    /// (Linux tcp_ack runs tcp_cong_control for every ACK).</summary>
    private void OnSackOnlyAck(in TcpHeader h, Instant now)
    {
        int sackedBefore = _sack?.SackedBytes ?? 0;
        SeqNumber lostBefore = LostBoundary();
        bool wasInRecovery = _inRecovery;
        UpdateScoreboard(h, now, 0, sackedBefore);
        if (wasInRecovery && _inRecovery && UsePrr)
        {
            PrrOnAck(NewlyDelivered(0, sackedBefore), unaAdvanced: false, LostBoundary() > lostBefore);
            SackRecoveryOutput(now);
        }
    }

    /// <param name="h">The ACK.</param>
    /// <param name="now">The stack's clock.</param>
    /// <param name="acked">Bytes the ACK newly acknowledged cumulatively (0 for a duplicate).</param>
    /// <param name="sackedBefore">What the scoreboard held SACKed before the ACK (for what it delivered).</param>
    private void UpdateScoreboard(in TcpHeader h, Instant now, int acked, int sackedBefore)
    {
        Span<SackBlock> blocks = stackalloc SackBlock[4];
        int n = Math.Min(h.Options.SackCount, 4);
        for (int i = 0; i < n; i++)
        {
            blocks[i] = h.Options.Sacks[i];
        }

        Sack.Update(h.AcknowledgmentNumber, _sndMax, blocks[..n], out bool isDsack);
        if (isDsack)
        {
            _layer.Counters.TCPDSACKRecv++;
            OnDuplicateReported(blocks[0], _sndUna - acked, now); // RFC 2883 §4: the D-SACK block comes first
        }

        if (!_inRecovery && _sndUna >= _recoveryPoint && _sack!.IsLost(_sndUna, Mss))
        {
            EnterRecovery(now, NewlyDelivered(acked, sackedBefore));
        }
    }

    /// <summary>RFC 6675 §5 / RFC 6582 §3.2 step 2: fast retransmit and enter fast recovery.</summary>
    /// <param name="now">The stack's clock.</param>
    /// <param name="delivered">Bytes the ACK that starts recovery delivered (PRR counts them).</param>
    private void EnterRecovery(Instant now, int delivered)
    {
        _inRecovery = true;
        _recoveryPoint = _sndMax;
        _highRxt = _sndUna;
        ForgetLossProbe(); // Linux tcp_init_cwnd_reduction: no probe during recovery, TLP.end_seq = None
        int flight = FlightSize;
        int priorCwnd = Congestion!.Cwnd;
        // Linux tcp_init_undo: what an undo restores if the losses turn out to be reordering. prior_ssthresh is
        // tcp_current_ssthresh: the larger of ssthresh and three quarters of cwnd (unbounded in slow start).
        ColdState undo = Cold;
        undo.UndoActive = true;
        undo.UndoMarker = _sndUna;
        undo.UndoRetrans = 0;
        undo.RetransStamp = 0;
        undo.UndoPriorCwnd = priorCwnd;
        undo.UndoPriorSsthresh = Math.Max(Congestion.Ssthresh, priorCwnd / 2 + priorCwnd / 4);
        Congestion.OnCongestionEvent(flight, now);
        _layer.Counters.TCPFastRetrans++;
        Trace?.Add(new TcpTraceEvent(now, "recovery", $"enter at {_sndUna.Value} (cwnd {Congestion.Cwnd}, ssthresh {Congestion.Ssthresh}, flight {flight})"));
        if (_sackEnabled)
        {
            _layer.Counters.TCPSACKRecovery++;
            if (UsePrr)
            {
                // RFC 6937 §3 "at the beginning of recovery"; Linux tcp_init_cwnd_reduction, then tcp_cwnd_reduction
                // for the ACK in hand (tcp_cong_control), which lets at least the fast retransmit go.
                ColdState cold = Cold;
                cold.PrrPriorCwnd = Math.Max(1, priorCwnd / Mss);
                cold.PrrDelivered = 0;
                cold.PrrOut = 0;
                PrrOnAck(delivered, unaAdvanced: false, newlyLost: true); // the ACK that found the loss
            }

            RetransmitRange(_sndUna, Mss, now);
            SackRecoveryOutput(now);
        }
        else
        {
            _layer.Counters.TCPRenoRecovery++;
            RetransmitRange(_sndUna, Mss, now);
            Congestion.Cwnd = Congestion.Ssthresh + 3 * Mss;
        }
    }

    /// <param name="ack">SEG.ACK.</param>
    /// <param name="acked">Bytes newly acknowledged cumulatively.</param>
    /// <param name="delivered">Bytes the ACK delivered for PRR (0 when EnterRecovery counted them).</param>
    /// <param name="newlyLost">The ACK marked more data lost.</param>
    /// <param name="now">The stack's clock.</param>
    private void OnAckInRecovery(in TcpHeader h, SeqNumber ack, int acked, int delivered, bool newlyLost, Instant now)
    {
        if (ack >= _recoveryPoint)
        {
            // RFC 6582 §3.2 step 3 / RFC 6675 §5: full acknowledgment ends recovery; deflate the window.
            _inRecovery = false;
            _dupAcks = 0;
            if (_cold is { } prr)
            {
                prr.PrrPriorCwnd = 0; // PRR ends with the recovery: cwnd = ssthresh (Linux tcp_end_cwnd_reduction)
            }

            Congestion!.OnRecoveryComplete(now);
            Congestion.Cwnd = Math.Min(Congestion.Cwnd, Math.Max(FlightSize + Mss, 2 * Mss));
            Trace?.Add(new TcpTraceEvent(now, "recovery", $"exit at {ack.Value} (cwnd {Congestion.Cwnd}, ssthresh {Congestion.Ssthresh}, flight {FlightSize})"));
            TryUndoRecovery(h, now);
            return;
        }

        if (_sackEnabled)
        {
            PrrOnAck(delivered, unaAdvanced: true, newlyLost);
            SackRecoveryOutput(now);
            return;
        }

        // RFC 6582 §3.2 step 5, partial acknowledgment: retransmit the next unacknowledged segment, deflate by
        // the amount acknowledged and add back one segment.
        RetransmitRange(_sndUna, Mss, now);
        Congestion!.Cwnd = Math.Max(Mss, Congestion.Cwnd - acked + Mss);
    }

    /// <summary>
    /// The recovery just ended: when its retransmissions were not needed, undo its reduction (Linux
    /// tcp_try_undo_recovery, tcp_may_undo). Either every retransmission was reported a duplicate by a D-SACK
    /// (RFC 3708 §3), or the ACK that ended it echoes a timestamp older than the first retransmission, so the data it
    /// acknowledges is the original transmission, which was only delayed (RFC 3522 Eifel detection, Linux
    /// tcp_packet_delayed). Reordering then costs a retransmission, not half the window.
    /// </summary>
    private void TryUndoRecovery(in TcpHeader h, Instant now)
    {
        if (_cold is not { UndoActive: true } undo)
        {
            return;
        }

        bool allDuplicates = undo.UndoRetrans == 0;
        bool delayed = _tsEnabled && h.Options.HasTimestamp && h.Options.TsEcr != 0 && undo.RetransStamp != 0 &&
            unchecked((int)(h.Options.TsEcr - undo.RetransStamp)) < 0;
        if (allDuplicates || delayed)
        {
            Undo(undo, allDuplicates, now);
        }

        // Otherwise the D-SACKs for its retransmissions, an RTT behind, may still show it spurious (OnDuplicateReported).
    }

    private void Undo(ColdState undo, bool byDsack, Instant now)
    {
        undo.UndoActive = false;
        Congestion!.OnSpuriousCongestionEvent(undo.UndoPriorCwnd, undo.UndoPriorSsthresh);
        if (byDsack)
        {
            _layer.Counters.TCPDSACKUndo++;
        }
        else
        {
            _layer.Counters.TCPFullUndo++;
        }

        Trace?.Add(new TcpTraceEvent(now, "undo", $"recovery was spurious ({(byDsack ? "D-SACK" : "timestamps")}): cwnd {Congestion.Cwnd}, ssthresh {Congestion.Ssthresh}"));
    }

    /// <summary>A D-SACK reported <paramref name="block"/> received twice: a retransmission of this recovery's that
    /// was not needed (Linux tcp_check_dsack: the block lies between the undo marker and SND.UNA before the ACK).</summary>
    private void OnDuplicateReported(SackBlock block, SeqNumber priorSndUna, Instant now)
    {
        if (_cold is { UndoActive: true } undo && undo.UndoRetrans > 0 && block.Right <= priorSndUna && block.Right > undo.UndoMarker)
        {
            undo.UndoRetrans = Math.Max(0, undo.UndoRetrans - SegmentsIn(block.Right - block.Left, Mss));
            if (undo.UndoRetrans == 0 && !_inRecovery)
            {
                // The recovery is over and every retransmission it made arrived twice: Linux tcp_try_undo_dsack (Open
                // and Disorder states). A recovery still running is undone when it ends (TryUndoRecovery).
                Undo(undo, byDsack: true, now);
            }
        }
    }

    /// <summary>Proportional rate reduction in this recovery (the Linux profile, with SACK).</summary>
    private bool UsePrr => _sackEnabled && _layer.Settings.ProportionalRateReduction;

    /// <summary>
    /// RFC 6937 §3, on every ACK during SACK recovery, in segments as Linux 6.x's tcp_cwnd_reduction keeps them: with
    /// pipe above ssthresh, send in proportion, ⌈ssthresh · prr_delivered / RecoverFS⌉ − prr_out (Linux takes cwnd at
    /// the start, prior_cwnd, as RecoverFS); at or below it, max(prr_delivered − prr_out, DeliveredData), one more
    /// when SND.UNA advanced and the ACK marked nothing newly lost (slow-start reduction bound, otherwise the
    /// conservative one), at most ssthresh − pipe. The first ACK always lets the fast retransmit go. cwnd becomes
    /// pipe + sndcnt, so SackRecoveryOutput sends sndcnt segments.
    /// </summary>
    /// <param name="deliveredBytes">What the ACK delivered (newly acknowledged and newly SACKed).</param>
    /// <param name="unaAdvanced">The ACK moved SND.UNA (Linux FLAG_SND_UNA_ADVANCED).</param>
    /// <param name="newlyLost">The ACK moved the scoreboard's lost boundary up (standing in for Linux's rs->losses).</param>
    private void PrrOnAck(int deliveredBytes, bool unaAdvanced, bool newlyLost)
    {
        if (!UsePrr || deliveredBytes <= 0 || _cold is not { PrrPriorCwnd: > 0 } cold)
        {
            return;
        }

        int mss = Mss;
        int delivered = (deliveredBytes + mss - 1) / mss;
        cold.PrrDelivered += delivered;
        if (_highRxt < _sndUna)
        {
            _highRxt = _sndUna;
        }

        int pipe = (Sack.Pipe(_sndUna, _sndMax, _highRxt, mss) + mss - 1) / mss;
        int ssthresh = Math.Max(1, Congestion!.Ssthresh / mss);
        long sndcnt;
        if (pipe > ssthresh)
        {
            sndcnt = ((long)ssthresh * cold.PrrDelivered + cold.PrrPriorCwnd - 1) / cold.PrrPriorCwnd - cold.PrrOut;
        }
        else
        {
            sndcnt = Math.Max(cold.PrrDelivered - cold.PrrOut, delivered) + (unaAdvanced && !newlyLost ? 1 : 0);
            sndcnt = Math.Min(ssthresh - pipe, sndcnt);
        }

        sndcnt = Math.Max(sndcnt, cold.PrrOut > 0 ? 0 : 1); // force the fast retransmit
        Congestion.Cwnd = (int)Math.Min((pipe + Math.Max(0, sndcnt)) * mss, CongestionControl.MaxWindow);
    }

    /// <summary>Where un-SACKed data starts to count as lost (<see cref="SackScoreboard.LostBoundary"/>), SND.UNA when
    /// nothing is.</summary>
    private SeqNumber LostBoundary() => _sack?.LostBoundary(Mss) ?? _sndUna;

    /// <summary>PRR's prr_out: segments sent while in SACK recovery (retransmissions and new data).</summary>
    private void PrrCountOut(int len)
    {
        if (_inRecovery && _cold is { PrrPriorCwnd: > 0 } cold)
        {
            cold.PrrOut += SegmentsIn(len, Mss);
        }
    }

    /// <summary>RFC 6675 §5 steps (C): while cwnd - pipe &gt;= 1 SMSS, send NextSeg().</summary>
    private void SackRecoveryOutput(Instant now)
    {
        SackRecoveryPass(now);
        NotifyIfNotSentLow(); // new data sent in recovery may have made a TCP_NOTSENT_LOWAT writer writable
    }

    private void SackRecoveryPass(Instant now)
    {
        // A new pass: GSO packets (the PSH marks of SendOne) and the guard count from here.
        _burstSegments = 0;
        _passSegments = 0;
        while (_passSegments < MaxSegmentsPerPass)
        {
            if (_highRxt < _sndUna)
            {
                _highRxt = _sndUna;
            }

            int pipe = Sack.Pipe(_sndUna, _sndMax, _highRxt, Mss);
            if (Congestion!.Cwnd - pipe < Mss)
            {
                return;
            }

            bool found = _sack!.NextSegment(_sndUna, _sndMax, _highRxt, Mss, out SeqNumber seq, out int len, out bool rule3);
            if (found && !rule3)
            {
                RetransmitRange(seq, len, now); // rule 1: lost and not yet retransmitted
                _passSegments++;
                continue;
            }

            // Rule 2: new data, up to cwnd - pipe and within the peer's window (not cwnd counted from SND.UNA, which
            // would send none until the holes below were repaired and end recovery with nothing in flight).
            if (SendOne(now, Congestion.Cwnd - pipe))
            {
                continue;
            }

            if (found)
            {
                RetransmitRange(seq, len, now); // rule 3
                _passSegments++;
                continue;
            }

            return;
        }
    }

    /// <summary>Retransmits up to <paramref name="len"/> bytes at <paramref name="seq"/> (or the FIN there).</summary>
    private void RetransmitRange(SeqNumber seq, int len, Instant now)
    {
        SeqNumber dataEnd = _sndUna + SendQueued;
        int dataLen = Math.Min(Math.Min(len, SegmentMss()), Math.Max(0, dataEnd - seq));
        bool fin = _finSent && seq + dataLen == _finSeq && dataLen < len;
        if (dataLen == 0 && !fin)
        {
            _highRxt = SeqNumber.Max(_highRxt, seq + len);
            return;
        }

        CountRetransmission(seq, dataLen, now);
        PrrCountOut(dataLen);
        if (dataLen > 0)
        {
            DataLeaves(now);
        }

        TcpFlags flags = TcpFlags.Ack | (fin ? TcpFlags.Fin : 0);
        Transmit(seq, flags, 0, default, dataLen, seq - _sndUna, now);
        _highRxt = SeqNumber.Max(_highRxt, seq + dataLen + (fin ? 1 : 0));
        StartRetransmitTimer(now);
    }
}
