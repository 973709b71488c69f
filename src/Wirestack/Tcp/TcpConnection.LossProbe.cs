// Tail loss probe: RFC 8985 §7 (the TLP half of RACK-TLP), as Linux has it with net.ipv4.tcp_early_retrans = 3
// (its default): when a flight's last segments (or their ACKs) are lost, nothing comes back to start fast recovery,
// so after about two round trips without an ACK the sender sends one probe segment, whose ACK (or SACK) shows the
// loss; only if that fails does the RTO fire. RACK's time-based loss detection (RFC 8985 §6) is not implemented:
// what the probe's ACK reveals is acted on by the duplicate-ACK and SACK rules of RFC 5681 / RFC 6675.
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tcp;

public sealed partial class TcpConnection
{
    // The probe timeout (PTO) is never later than the retransmission timer (RFC 8985 §7.2), so it is kept as how long
    // before _rtoAt it expires, in microseconds (-1: none): 4 bytes, not another Instant?. Every place that moves
    // _rtoAt clears it; ScheduleLossProbe sets it again where a probe is due. The state of a probe sent and not yet
    // resolved (TLP.end_seq, TLP.is_retrans) is rare and lives in the cold side object. Where the highest-sequence
    // segment sent so far began (RFC 8985 §7.3) is _lastSegmentStart, declared in .Send.cs.
    private int _ptoLead = -1;

    /// <summary>When the loss probe is due, if one is scheduled.</summary>
    private Instant? PtoAt => _ptoLead >= 0 && _rtoAt is { } rto ? new Instant(rto.Microseconds - _ptoLead) : null;

    /// <summary>Whether a probe may be scheduled: the Linux profile's TLP, SACK (Linux probes only SACK connections),
    /// a synchronized state, and the sender in the "open" state of RFC 8985 §7.2: not in fast recovery, not
    /// recovering from an RTO (SND.UNA short of the point it set), no duplicate ACKs or SACKed data outstanding
    /// (Linux's TCP_CA_Open).</summary>
    private bool LossProbeAllowed =>
        _layer.Settings.TailLossProbe && _sackEnabled &&
        (State is TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck) &&
        _sndMax != _sndUna && !_inRecovery && _sndUna >= _recoveryPoint && _dupAcks == 0 && (_sack is null || _sack.IsEmpty);

    /// <summary>RFC 8985 §7.2: (re)starts the PTO after new data was sent (not itself a probe) or an ACK acknowledged
    /// new data. PTO = 2·SRTT, plus WCDelAckT when one segment is in flight (its ACK may be delayed) or Linux's 2 ms
    /// (TCP_TIMEOUT_MIN) otherwise; 1 s without an RTT sample; and never later than the RTO would fire. At most one
    /// probe is outstanding (§7.3): while one is, the RTO alone watches the flight. The caller re-arms the timer.</summary>
    private void ScheduleLossProbe(Instant now)
    {
        _ptoLead = -1;
        if (_rtoAt is not { } rtoAt || rtoAt <= now || !LossProbeAllowed || _cold is { TlpOutstanding: true })
        {
            return;
        }

        TimeSpan pto;
        if (Rtt.SmoothedRtt is { } srtt)
        {
            // One segment in flight: everything unacknowledged began with the last segment sent, and is one MSS at
            // most (a large offloaded segment counts as several, as Linux's tcp_skb_pcount does).
            bool oneSegment = _lastSegmentStart <= _sndUna && FlightSize <= Mss + 1;
            pto = 2 * srtt + (oneSegment ? _layer.Settings.WorstCaseDelayedAck : TimeSpan.FromMilliseconds(2));
        }
        else
        {
            pto = Rtt.InitialRto; // RFC 8985 §7.2: 1 s (Linux TCP_TIMEOUT_INIT)
        }

        // RFC 8985 §7.2: "If Now() + PTO > TCP_RTO_expire(): PTO = TCP_RTO_expire() - Now()".
        long lead = rtoAt.Microseconds - (now + pto).Microseconds;
        _ptoLead = (int)Math.Clamp(lead, 0, int.MaxValue);
    }

    /// <summary>RFC 8985 §7.3: the PTO expired. Send one new segment if the peer's window allows it (cwnd and Nagle
    /// do not hold a probe back), else retransmit the highest-sequence segment sent; remember TLP.end_seq and
    /// whether the probe was a retransmission, and restart the RTO from now.</summary>
    private void OnLossProbeTimeout(Instant now)
    {
        if (!LossProbeAllowed || _cold is { TlpOutstanding: true })
        {
            return; // the RTO, still armed, takes over
        }

        bool newData = SendLossProbeNewData(now);
        if (!newData)
        {
            RetransmitLastSegment(now);
        }

        ColdState cold = Cold;
        cold.TlpOutstanding = true;
        cold.TlpEndSeq = _sndMax; // TLP.end_seq = SND.NXT (the stack's SND.MAX: the highest sequence sent + 1)
        cold.TlpIsRetrans = !newData;
        _layer.Counters.TCPLossProbes++;
        Trace?.Add(new TcpTraceEvent(now, "probe", $"tail loss probe ({(newData ? "new data" : "retransmission")}), end {_sndMax.Value}"));
        // RFC 8985 §7.3 TCP_RTO_start(): the RTO runs from the probe (Linux tcp_rearm_rto after a probe is sent).
        _rtoAt = now + RetransmitTimeout;
        _ptoLead = -1;
    }

    /// <summary>RFC 8985 §7.3 first case: the next unsent segment (at most one MSS, or the FIN), when the receive
    /// window takes it (Linux tcp_snd_wnd_test).</summary>
    private bool SendLossProbeNewData(Instant now)
    {
        if (_sndNxt != _sndMax)
        {
            return false;
        }

        int avail = _sndUna + SendQueued - _sndNxt;
        int room = (int)Math.Min(_sndWnd, int.MaxValue) - (_sndNxt - _sndUna);
        if (avail > 0)
        {
            int mss = SegmentMss();
            int len = Math.Min(mss, avail);
            if (room < len)
            {
                return false;
            }

            bool isLast = len == avail;
            SeqNumber start = _sndNxt;
            SendData(start, len, TcpFlags.Ack | (isLast ? TcpFlags.Psh : 0), withFin: _finQueued && isLast, now);
            if (len < mss)
            {
                _sndSml = start + len; // tcp_minshall_update, as for any small segment
            }

            return true;
        }

        if (_finQueued && !_finSent && room > 0)
        {
            SendData(_sndNxt, 0, TcpFlags.Ack, withFin: true, now);
            return true;
        }

        return false;
    }

    /// <summary>RFC 8985 §7.3 second case: retransmit the highest-sequence segment sent so far, its last MSS when it
    /// was larger (Linux splits the last packet at (pcount - 1)·mss), with the FIN if the FIN ends it.</summary>
    private void RetransmitLastSegment(Instant now)
    {
        SeqNumber dataEnd = _finSent && _sndMax == _finSeq + 1 ? _finSeq : _sndMax;
        SeqNumber start = SeqNumber.Max(_lastSegmentStart, _sndUna);
        int length = dataEnd - start;
        int mss = SegmentMss();
        if (length > mss)
        {
            start += (length - 1) / mss * mss;
        }
        else if (length < 0)
        {
            start = dataEnd;
        }

        RetransmitRange(start, _sndMax - start, now);
    }

    /// <summary>RFC 8985 §7.4 (Linux tcp_process_tlp_ack): what an ACK at or beyond TLP.end_seq says about the probe.
    /// A probe of new data just ends. A retransmitted probe that the peer reports as a duplicate (D-SACK), or answers
    /// with a pure duplicate ACK, repaired nothing. An ACK beyond TLP.end_seq with neither means the probe repaired a
    /// lost segment: a congestion event, answered like a fast recovery that ends at once (Linux enters and ends CWR:
    /// cwnd = ssthresh), counted in TCPLossProbeRecovery.</summary>
    private void OnAckForLossProbe(in TcpHeader h, SeqNumber ack, bool unaAdvanced, bool notDuplicate, int flightBefore, Instant now)
    {
        ColdState cold = _cold!;
        if (ack < cold.TlpEndSeq)
        {
            return;
        }

        if (!cold.TlpIsRetrans)
        {
            cold.TlpOutstanding = false; // the probe carried new data, and it was delivered
            return;
        }

        bool dsack = false;
        bool sacked = false;
        if (h.Options.SackCount > 0)
        {
            // RFC 2883 §4: a first block below the cumulative ACK is a D-SACK. It matches the probe when it ends where
            // the probe's data ended (a FIN has no byte to report).
            SackBlock first = h.Options.Sacks[0];
            dsack = first.Right <= ack;
            sacked = !dsack || h.Options.SackCount > 1;
            dsack = dsack && (first.Right == cold.TlpEndSeq || first.Right + 1 == cold.TlpEndSeq);
        }

        if (dsack)
        {
            cold.TlpOutstanding = false; // the original and the probe both arrived: no loss
        }
        else if (ack > cold.TlpEndSeq)
        {
            cold.TlpOutstanding = false;
            _layer.Counters.TCPLossProbeRecovery++;
            Congestion!.OnCongestionEvent(flightBefore, now);
            Congestion.OnRecoveryComplete(now);
            Trace?.Add(new TcpTraceEvent(now, "recovery", $"tail loss probe repaired a loss (cwnd {Congestion.Cwnd}, ssthresh {Congestion.Ssthresh})"));
        }
        else if (!unaAdvanced && !notDuplicate && !sacked)
        {
            cold.TlpOutstanding = false; // a pure duplicate ACK: the original and the probe both arrived
        }
    }

    /// <summary>RFC 8985 §7.4 as Linux does it: entering fast recovery or an RTO forgets the probe (TLP.end_seq =
    /// None) and the PTO.</summary>
    private void ForgetLossProbe()
    {
        _ptoLead = -1;
        if (_cold is { } cold)
        {
            cold.TlpOutstanding = false;
        }
    }
}
