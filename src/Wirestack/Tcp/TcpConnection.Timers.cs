// Timers: retransmission (RFC 6298 §5) and the tail loss probe that may precede it (RFC 8985 §7, .LossProbe.cs), SYN and SYN-ACK retries (Linux tcp_syn_retries / tcp_synack_retries),
// delayed ACK (RFC 1122 §4.2.3.2), persist / zero-window probes (RFC 9293 §3.8.6.1), keep-alive (RFC 1122
// §4.2.3.6), user timeout (RFC 5482), TIME-WAIT and FIN-WAIT-2 timeouts.
using System.Globalization;
using System.Net.Sockets;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tcp;

public sealed partial class TcpConnection
{
    private Instant? _rtoAt;
    private Instant? _delAckAt;
    private Instant? _waitAt;
    private Instant? _connectStart; // when the SYN or SYN-ACK exchange began (null: never; Instant 0 is a real time)
    // The persist and keep-alive deadlines, the first retransmission's time and the start of probing are set only
    // when a peer stalls, closes its window or keep-alive is on: they live in the side object (ColdState), so a
    // connection that never needs them carries 64 bytes less; clearing them does not allocate it.
    private Instant? PersistAt { get => _cold?.PersistAt; set { if (value is not null || _cold is not null) Cold.PersistAt = value; } }
    private Instant? KeepAt { get => _cold?.KeepAt; set { if (value is not null || _cold is not null) Cold.KeepAt = value; } }
    private Instant? FirstRexmitAt { get => _cold?.FirstRexmitAt; set { if (value is not null || _cold is not null) Cold.FirstRexmitAt = value; } }
    private Instant? ProbeStart { get => _cold?.ProbeStart; set { if (value is not null || _cold is not null) Cold.ProbeStart = value; } }
    private int _probesOut;      // unanswered probes (reset by any acceptable ACK, like Linux's icsk_probes_out)
    private int _persistBackoff; // the probe interval's exponent: kept until the window opens (Linux's icsk_backoff)
    private int _keepProbes;

    /// <summary>The earliest pending deadline of this connection (a loss probe's is never after the RTO's).</summary>
    public Instant? NextDeadline =>
        Instant.Earliest(Instant.Earliest(Instant.Earliest(PtoAt ?? _rtoAt, _delAckAt), Instant.Earliest(PersistAt, KeepAliveDeadline)), _waitAt);

    /// <summary>Which timer <c>ss -o</c> would show (a pending loss probe shows as "on", as in Linux).</summary>
    public string TimerName => _rtoAt is not null ? "on" : PersistAt is not null ? "persist" :
        _waitAt is not null && State == TcpState.TimeWait ? "timewait" : KeepAliveDeadline is not null ? "keepalive" : "off";

    private Instant? KeepAliveDeadline => KeepAt;

    /// <summary>The retransmission timeout to arm: the estimator's (RFC 6298, backed off and clamped), plus FreeBSD's
    /// rexmit_slop once it has backed off or comes from RTT samples (TCPT_RANGESET adds it; the first SYN's initial RTO
    /// is set without it), still at most the maximum.</summary>
    private TimeSpan RetransmitTimeout
    {
        get
        {
            TimeSpan rto = Rtt.CurrentRto;
            TimeSpan slop = _layer.Settings.RetransmitSlop;
            return slop > TimeSpan.Zero && (Rtt.Backoff > 0 || Rtt.SmoothedRtt is not null)
                ? TimeSpan.FromTicks(Math.Min(rto.Ticks + slop.Ticks, _layer.Settings.MaxRto.Ticks))
                : rto;
        }
    }

    private void ArmRetransmit(Instant now)
    {
        StartRetransmitTimer(now);
        ScheduleTimer();
    }

    /// <summary>RFC 6298 §5.1: start the retransmission timer unless it is running.</summary>
    private void StartRetransmitTimer(Instant now)
    {
        if (_rtoAt is null)
        {
            _rtoAt = now + RetransmitTimeout;
            _ptoLead = -1;
        }
    }

    internal void ScheduleTimer()
    {
        if (State is TcpState.Established or TcpState.CloseWait && KeepAlive && KeepAt is null)
        {
            KeepAt = _lastReceived + (KeepIdle ?? _layer.Settings.KeepAliveTime);
        }

        Instant? next = NextDeadline;
        if (next is null)
        {
            _layer.Timers.Cancel(_timer);
        }
        else if (!_timer.IsArmed || _timer.Deadline != next.Value)
        {
            _layer.Timers.Arm(_timer, next.Value);
        }
    }

    private void ArmPersistIfNeeded(Instant now)
    {
        // RFC 9293 §3.8.6.1: with data waiting and nothing in flight, something must wake the sender: a zero window,
        // or one too small for the sender's SWS rule (Linux tcp_check_probe_timer), arms the persist timer.
        bool unsent = _sndUna + SendQueued > _sndNxt || (_finQueued && !_finSent);
        if (unsent && _sndMax == _sndUna)
        {
            if (PersistAt is null)
            {
                ProbeStart ??= now;
                PersistAt = now + Backoff(Rtt.Rto, _persistBackoff);
            }
        }
        else
        {
            PersistAt = null;
            if (_sndMax != _sndUna || !unsent)
            {
                ProbeStart = null;
                _persistBackoff = 0;
            }
        }

        ScheduleTimer();
    }

    private TimeSpan Backoff(TimeSpan rto, int shift)
    {
        double ticks = rto.Ticks * Math.Pow(2, Math.Min(shift, 30));
        return TimeSpan.FromTicks((long)Math.Min(ticks, _layer.Settings.MaxRto.Ticks));
    }

    void ITimerCallback.OnTimer(TimerEntry entry, Instant now)
    {
        if (_waitAt is { } wait && wait <= now)
        {
            _waitAt = null;
            if (OnWaitExpired(now))
            {
                return;
            }
        }

        if (_delAckAt is { } delAck && delAck <= now)
        {
            _delAckAt = null;
            _layer.Counters.DelayedACKs++;
            SendAck(now);
        }

        if (PtoAt is { } pto && pto <= now)
        {
            _ptoLead = -1;
            OnLossProbeTimeout(now); // restarts the RTO when it sends a probe
        }

        if (_rtoAt is { } rto && rto <= now)
        {
            _rtoAt = null;
            _ptoLead = -1;
            if (OnRetransmitTimeout(now))
            {
                return;
            }
        }

        if (PersistAt is { } persist && persist <= now)
        {
            PersistAt = null;
            if (OnPersistTimeout(now))
            {
                return;
            }
        }

        if (KeepAt is { } keep && keep <= now)
        {
            KeepAt = null;
            if (OnKeepAliveTimeout(now))
            {
                return;
            }
        }

        if (State != TcpState.Closed)
        {
            ScheduleTimer();
        }
    }

    /// <summary>TIME-WAIT over, orphan FIN-WAIT-2 over, or (FreeBSD keepinit) the connect deadline.</summary>
    private bool OnWaitExpired(Instant now)
    {
        switch (State)
        {
            case TcpState.TimeWait:
            case TcpState.FinWait2:
                Fail(SocketError.Success, null, now);
                return true;
            case TcpState.SynSent:
                _layer.Counters.AttemptFails++;
                _layer.Counters.TCPAbortOnTimeout++;
                Fail(SocketError.TimedOut, ConnectTimeoutExplanation(now), now);
                return true;
            default:
                return false;
        }
    }

    /// <summary>RFC 6298 §5.4-5.6: retransmit the earliest unacknowledged segment, back off the timer; give up
    /// after the configured retries with ETIMEDOUT. Returns true when the connection ended.</summary>
    private bool OnRetransmitTimeout(Instant now)
    {
        TcpSettings settings = _layer.Settings;
        switch (State)
        {
            case TcpState.SynSent:
                if (Retransmits >= (SynCount ?? settings.SynRetries))
                {
                    _layer.Counters.AttemptFails++;
                    _layer.Counters.TCPAbortOnTimeout++;
                    Fail(SocketError.TimedOut, ConnectTimeoutExplanation(now), now);
                    return true;
                }

                Retransmits++;
                Rtt.OnTimeout();
                _layer.Counters.TCPTimeouts++;
                _layer.Counters.TCPSynRetrans++;
                _layer.Counters.RetransSegs++;
                TotalRetransmits++;
                Trace?.Add(new TcpTraceEvent(now, "rexmit", $"SYN #{Retransmits + 1} (RTO {Rtt.CurrentRto.TotalSeconds:0.###} s next)"));
                if (ReferenceEquals(_synTimes, OnlySynAtConnectStart))
                {
                    _synTimes = [_connectStart!.Value, now]; // set together with OnlySynAtConnectStart
                }
                else
                {
                    _synTimes?.Add(now);
                }

                SendSyn(now);
                return false;
            case TcpState.SynReceived:
                // Linux syn_ack_recalc: under TCP_DEFER_ACCEPT, a request whose handshake a bare ACK completed lives
                // until the deferral ends, and is not resent to until its last timeout (a last chance for data or
                // an ACK).
                int defer = Listener is not null ? DeferAcceptTimeouts : 0;
                bool acked = defer > 0 && (_cold?.DeferAcked ?? false);
                if (Retransmits >= settings.SynAckRetries && (!acked || Retransmits >= defer))
                {
                    // Linux: the half-open request silently expires; the client learns later (seed 004 §1.4).
                    _layer.Counters.TCPSynRetransFailed += 0;
                    if (Listener is not null)
                    {
                        _layer.Counters.AttemptFails++;
                        Fail(SocketError.Success, null, now);
                    }
                    else
                    {
                        _layer.Counters.AttemptFails++;
                        Fail(SocketError.TimedOut, $"connect timed out in SYN-RECEIVED after {Retransmits + 1} SYN-ACKs", now);
                    }

                    return true;
                }

                bool resend = !acked || Retransmits >= defer - 1;
                Retransmits++;
                Rtt.OnTimeout();
                _layer.Counters.TCPTimeouts++;
                if (!resend)
                {
                    ArmRetransmit(now);
                    return false;
                }

                _layer.Counters.TCPSynRetrans++;
                _layer.Counters.RetransSegs++;
                TotalRetransmits++;
                SendSynAck(now);
                return false;
        }

        if (_sndMax == _sndUna)
        {
            return false;
        }

        FirstRexmitAt ??= now;
        int limit = IsOrphan ? settings.OrphanRetries : settings.Retries2;
        bool userTimedOut = UserTimeout > TimeSpan.Zero && now - FirstRexmitAt.Value >= UserTimeout;
        if (Retransmits >= limit || userTimedOut)
        {
            _layer.Counters.TCPAbortOnTimeout++;
            string why = userTimedOut
                ? $"TCP_USER_TIMEOUT {UserTimeout.TotalSeconds:0.###} s passed with data unacknowledged"
                : $"{Retransmits + 1} transmissions of sequence {_sndUna.Value} unacknowledged (tcp_retries2 {limit})";
            Fail(SocketError.TimedOut, "connection timed out: " + why, now);
            return true;
        }

        Retransmits++;
        Rtt.OnTimeout();
        _layer.Counters.TCPTimeouts++;
        ForgetLossProbe(); // RFC 8985 §7.4 / Linux tcp_retransmit_timer: TLP.end_seq = None
        Trace?.Add(new TcpTraceEvent(now, "timeout", $"RTO expired, retransmit from {_sndUna.Value} (backoff {Rtt.Backoff})"));
        // RFC 5681 §3.1 eq. 4 and the loss window; recovery, if any, is over; SACK state is kept but go-back-N.
        Congestion!.OnRetransmitTimeout(FlightSize, now);
        _inRecovery = false;
        if (_cold is { } prr)
        {
            prr.PrrPriorCwnd = 0; // an RTO ends proportional rate reduction too
            prr.UndoActive = false; // and what recovery might have undone (its retransmissions timed out)
        }

        _recoveryPoint = _sndMax;
        _dupAcks = 0;
        _sndNxt = _sndUna;
        _highRxt = _sndUna;
        if (_finSent && _sndNxt <= _finSeq)
        {
            _finSent = _sndNxt < _finSeq || _finSent;
        }

        if (!SendOne(now))
        {
            // zero window or FIN-only: resend the FIN or probe the window
            if (_finSent && _sndUna == _finSeq)
            {
                RetransmitRange(_sndUna, 1, now);
            }
        }

        StartRetransmitTimer(now);
        return false;
    }

    /// <summary>RFC 9293 §3.8.6.1: probe a zero window, backing off; RFC 5482 / Linux: give up when the user timeout
    /// has passed since probing began, or after tcp_retries2 unanswered probes.</summary>
    private bool OnPersistTimeout(Instant now)
    {
        if (State is not (TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.LastAck or TcpState.Closing))
        {
            _probesOut = 0;
            ProbeStart = null;
            return false;
        }

        if (_sndWnd > 0)
        {
            // A window too small for the SWS rule: after the persist time, send what fits (RFC 9293 §3.8.6.2.1's
            // override, as Linux does), then wait for the ACK as usual.
            SeqNumber dataEnd = _sndUna + SendQueued;
            int len = (int)Math.Min(Math.Min((uint)SegmentMss(), _sndWnd), (uint)Math.Max(0, dataEnd - _sndNxt));
            if (len > 0)
            {
                _layer.Counters.TCPWinProbe++;
                SendData(_sndNxt, len, TcpFlags.Ack | TcpFlags.Psh, withFin: false, now);
                ProbeStart = null;
                _persistBackoff = 0;
                return false;
            }

            Output(now);
            return false;
        }

        if (UserTimeout > TimeSpan.Zero && ProbeStart is { } start && now - start >= UserTimeout)
        {
            _layer.Counters.TCPAbortOnTimeout++;
            Fail(SocketError.TimedOut,
                $"connection timed out: the peer kept its window at zero for {(now - start).TotalSeconds:0.###} s (TCP_USER_TIMEOUT {UserTimeout.TotalSeconds:0.###} s)", now);
            return true;
        }

        if (_probesOut >= _layer.Settings.Retries2)
        {
            _layer.Counters.TCPAbortOnTimeout++;
            Fail(SocketError.TimedOut, $"connection timed out: {_probesOut} zero-window probes unanswered", now);
            return true;
        }

        _probesOut++;
        _persistBackoff++;
        _layer.Counters.TCPWinProbe++;
        SendProbe(now);
        TimeSpan next = Backoff(Rtt.Rto, _persistBackoff);
        if (UserTimeout > TimeSpan.Zero && ProbeStart is { } begun)
        {
            // Linux clamps the probe interval so the user timeout is noticed on time.
            TimeSpan left = UserTimeout - (now - begun);
            next = left > TimeSpan.Zero && left < next ? left : next;
        }

        PersistAt = now + next;
        return false;
    }

    /// <summary>RFC 1122 §4.2.3.6: after the idle time, probe; after the probe count unanswered, the peer is gone.</summary>
    private bool OnKeepAliveTimeout(Instant now)
    {
        if (!KeepAlive || State is not (TcpState.Established or TcpState.CloseWait or TcpState.FinWait2))
        {
            return false;
        }

        TimeSpan idle = KeepIdle ?? _layer.Settings.KeepAliveTime;
        TimeSpan interval = KeepInterval ?? _layer.Settings.KeepAliveInterval;
        int count = KeepCount ?? _layer.Settings.KeepAliveProbes;
        if (_keepProbes == 0 && now - _lastReceived < idle)
        {
            KeepAt = _lastReceived + idle;
            return false;
        }

        if (_sndMax != _sndUna)
        {
            KeepAt = now + interval; // data outstanding: the retransmission timer watches the peer
            return false;
        }

        if (_keepProbes >= count || (UserTimeout > TimeSpan.Zero && now - _lastReceived >= UserTimeout && _keepProbes > 0))
        {
            _layer.Counters.TCPAbortOnTimeout++;
            Fail(SocketError.TimedOut,
                $"connection timed out: {_keepProbes} keep-alive probes unanswered (idle {idle.TotalSeconds:0.###} s, interval {interval.TotalSeconds:0.###} s)", now);
            return true;
        }

        _keepProbes++;
        _layer.Counters.TCPKeepAlive++;
        SendProbe(now);
        KeepAt = now + interval;
        return false;
    }

    /// <summary>A zero-length segment with SEG.SEQ = SND.UNA - 1, which the peer must answer with an ACK (RFC 1122
    /// §4.2.3.6; Linux uses the same form for window probes).</summary>
    private void SendProbe(Instant now) => Transmit(_sndUna - 1, TcpFlags.Ack, 0, default, 0, 0, now);

    private string ConnectTimeoutExplanation(Instant now)
    {
        var times = SynTimes is null
            ? "?"
            : string.Join(",", SynTimes.Select(t => (t - (_connectStart ?? t)).TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)));
        int n = SynTimes?.Count ?? 0;
        return $"connect timed out: {n} SYNs sent at {times} s to {Tuple.RemoteAddress}:{Tuple.RemotePort}, no answer after {(now - (_connectStart ?? now)).TotalSeconds:0.###} s";
    }
}
