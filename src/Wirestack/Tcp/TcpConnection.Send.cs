// Output: opening handshakes, segmentation, Nagle and sender-side silly-window avoidance, ACKs and resets.
using System.Net.Sockets;
using Wirestack.Buffers;
using Wirestack.Tcp.Congestion;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tcp;

public sealed partial class TcpConnection
{
    private SackBlock _dsack;
    private bool _hasDsack;
    private SendTimeLog? _sendTimes; // without timestamps: when new data left, for RTT samples (created at first use)
    private int _unackedSegments;   // full segments received since the last ACK we sent
    private SeqNumber _sndSml;      // the end of the last small segment sent (Linux snd_sml, Minshall's Nagle)
    // Where the last segment of new data began (RFC 8985 §7.3, the segment a tail loss probe resends). Declared here,
    // after another 4-byte struct, it fills the gap before the 8-byte timer fields instead of opening one elsewhere.
    private SeqNumber _lastSegmentStart;

    /// <summary>RFC 9293 §3.10.1 OPEN, active: choose the ISS, send SYN, enter SYN-SENT.</summary>
    internal void OpenActive(FourTuple tuple, Instant now)
    {
        Tuple = tuple;
        InitializeSequence(now);
        _sndUna = _iss;
        _sndNxt = _iss;
        _sndMax = _iss;
        _recoveryPoint = _iss; // RFC 6582: no recovery has happened; SND.UNA is always at or past it
        _sndSml = _iss;
        _synTimes = OnlySynAtConnectStart; // SendSyn below, at _connectStart
        SetState(TcpState.SynSent, now);
        _connectStart = now;
        if (_layer.Settings.ConnectTimeout is { } keepinit)
        {
            _waitAt = now + keepinit; // FreeBSD's net.inet.tcp.keepinit caps the whole attempt
        }

        SendSyn(now);
    }

    /// <summary>RFC 9293 §3.10.7.2 LISTEN, SYN arrives: record the peer's ISN and options, send SYN-ACK, enter
    /// SYN-RECEIVED.</summary>
    internal void OpenPassive(TcpListener listener, in TcpHeader syn, FourTuple tuple, Instant now)
    {
        Tuple = tuple;
        Listener = listener;
        InitializeSequence(now);
        _sndUna = _iss;
        _sndNxt = _iss;
        _sndMax = _iss;
        _recoveryPoint = _iss;
        _sndSml = _iss;
        _irs = syn.SequenceNumber;
        _rcvNxt = syn.SequenceNumber + 1;
        NegotiateFromSyn(syn);
        _rcvAdvertisedEdge = _rcvNxt + SynWindow();
        _sndWnd = syn.Window; // RFC 7323 §2.2: the window in a SYN is never scaled
        _sndWl1 = syn.SequenceNumber;
        _sndWl2 = _iss;
        SetState(TcpState.SynReceived, now);
        _connectStart = now;
        SendSynAck(now);
    }

    /// <summary>RFC 4987 §3.6: a connection rebuilt from a SYN cookie, straight into ESTABLISHED.</summary>
    internal void OpenFromCookie(TcpListener listener, in TcpHeader ack, FourTuple tuple, int mss, Instant now)
    {
        Tuple = tuple;
        Listener = listener;
        InitializeSequence(now);
        _iss = ack.AcknowledgmentNumber - 1;
        _sndUna = ack.AcknowledgmentNumber;
        _sndNxt = _sndUna;
        _sndMax = _sndUna;
        _recoveryPoint = _sndUna;
        _sndSml = _sndUna;
        _irs = ack.SequenceNumber - 1;
        _rcvNxt = ack.SequenceNumber;
        _rcvAdvertisedEdge = _rcvNxt + Math.Min(65535, ReceiveLimit);
        _peerMss = Math.Max(mss, _layer.Settings.MinSendMss);
        UpdateMss();
        _sndWnd = ack.Window;
        _maxSndWnd = _sndWnd;
        _sndWl1 = ack.SequenceNumber;
        _sndWl2 = ack.AcknowledgmentNumber;
        Congestion!.Initialize(Mss, now);
        _connectStart = now;
        SetState(TcpState.Established, now);
    }

    private void InitializeSequence(Instant now)
    {
        _iss = _layer.NextIsn(Tuple, now);
        _tsOffset = (uint)_layer.Random.Next();
        AdvertisedMss = ComputeAdvertisedMss();
        Mss = Math.Min(536, AdvertisedMss);
        Congestion = CongestionControl.Create(_layer.Settings.CongestionControl, _layer.Settings.AbcLimit, _layer.Settings.HyStart);
        TcpSettings settings = _layer.Settings;
        if (Rtt.InitialRto == settings.InitialRto && Rtt.MinimumRto == settings.MinRto && Rtt.MaximumRto == settings.MaxRto &&
            Rtt.IsLinux == settings.LinuxRttEstimator)
        {
            Rtt.Reset(); // the same as a new estimator, without the garbage of one per connection
        }
        else
        {
            Rtt = new RttEstimator(settings.InitialRto, settings.MinRto, settings.MaxRto, settings.LinuxRttEstimator);
        }
    }

    private int ComputeAdvertisedMss()
    {
        int mtu = _layer.Ip.MtuFor(Tuple.RemoteAddress);
        int mss = mtu - IPv4Header.Length - TcpSegment.MinHeaderLength;
        if (MaxSegmentOption > 0)
        {
            mss = Math.Min(mss, MaxSegmentOption);
        }

        return Math.Clamp(mss, Math.Min(88, mtu - 40), 65495);
    }

    /// <summary>RFC 7323 §2.2/§3.2 and RFC 2018 §2: options are in effect only when both SYNs carry them.</summary>
    private void NegotiateFromSyn(in TcpHeader syn)
    {
        TcpSettings settings = _layer.Settings;
        // RFC 9293 §3.7.1: without an MSS option the peer's MSS is 536; Linux floors it at tcp_min_snd_mss.
        int peerMss = syn.Options.Mss ?? 536;
        _peerMss = Math.Max(peerMss, settings.MinSendMss);
        _wsEnabled = settings.WindowScaling && syn.Options.WindowScale.HasValue;
        _sndScale = _wsEnabled ? (byte)Math.Min((int)syn.Options.WindowScale!.Value, 14) : (byte)0; // RFC 7323 §2.3: above 14, use 14
        _rcvScale = _wsEnabled ? (byte)ChooseReceiveScale() : (byte)0;
        _tsEnabled = settings.Timestamps && syn.Options.HasTimestamp;
        if (_tsEnabled)
        {
            _tsRecent = syn.Options.TsVal;
        }

        _sackEnabled = settings.Sack && syn.Options.SackPermitted;
        UpdateMss();
        RoundBuffersToMss();
    }

    private void UpdateMss()
    {
        // RFC 9293 §3.7.1: the payload per segment is the smaller MSS less the options every segment carries.
        int mss = Math.Min(_peerMss, AdvertisedMss) - (_tsEnabled ? 12 : 0);
        Mss = Math.Max(mss, _layer.Settings.MinSendMss);
        Congestion?.OnMssChanged(Mss);
    }

    /// <summary>RFC 7323 §2.3: the shift is chosen once, for the largest window this connection may ever offer.
    /// Linux tcp_select_initial_window sizes it for max(tcp_rmem[2], rmem_max) (the buffer autotuning may grow to),
    /// clamped by the window clamp, which is tcp_full_space (half the buffer) when the user fixed SO_RCVBUF before
    /// connect() or listen(): rcv_wscale = ilog2(space) - 15, the smallest shift that fits space in 16 bits, at most 14.
    /// </summary>
    private int ChooseReceiveScale()
    {
        TcpSettings settings = _layer.Settings;
        long space = Math.Max(Math.Max((long)ReceiveLimit, settings.ReceiveBufferMax), settings.CoreReceiveBufferMax);
        if (_userSetReceiveBuffer)
        {
            space = Math.Min(space, ReceiveLimit); // SOCK_RCVBUF_LOCK: window_clamp = tcp_full_space(sk)
        }

        int scale = 0;
        while (scale < TcpOptions.MaxWindowScale && (space >> scale) > 65535)
        {
            scale++;
        }

        return scale;
    }

    private TcpOptions SynOptions(bool reply, in TcpHeader? peerSyn, Instant now)
    {
        TcpSettings settings = _layer.Settings;
        var options = new TcpOptions { Mss = (ushort)AdvertisedMss, BsdLayout = settings.BsdSynOptionLayout };
        if (reply)
        {
            if (_wsEnabled) options.WindowScale = (byte)_rcvScale;
            if (_sackEnabled) options.SackPermitted = true;
            if (_tsEnabled) { options.HasTimestamp = true; options.TsVal = TsNow(now); options.TsEcr = _tsRecent; }
        }
        else
        {
            if (settings.WindowScaling) options.WindowScale = (byte)ChooseReceiveScale();
            if (settings.Sack) options.SackPermitted = true;
            if (settings.Timestamps) { options.HasTimestamp = true; options.TsVal = TsNow(now); }
        }

        return options;
    }

    /// <summary>RFC 7323 §5.4: TSval from a clock of 1 ms ticks, offset per connection. From the time of the call
    /// itself: a send made by an application after an idle stretch carries that moment, not the last time the
    /// stack was polled (it used to, and the peer's echo then gave a bogus RTT sample).</summary>
    private uint TsNow(Instant now) => unchecked((uint)now.TotalMilliseconds + _tsOffset);

    private void SendSyn(Instant now)
    {
        TcpOptions options = SynOptions(reply: false, null, now);
        Transmit(_iss, TcpFlags.Syn, SynWindow(), options, 0, 0, now);
        _sndNxt = _iss + 1;
        _sndMax = SeqNumber.Max(_sndMax, _sndNxt);
        ArmRetransmit(now);
    }

    private void SendSynAck(Instant now)
    {
        TcpOptions options = SynOptions(reply: true, null, now);
        Transmit(_iss, TcpFlags.Syn | TcpFlags.Ack, SynWindow(), options, 0, 0, now);
        _sndNxt = _iss + 1;
        _sndMax = SeqNumber.Max(_sndMax, _sndNxt);
        ArmRetransmit(now);
    }

    private ushort SynWindow() => (ushort)Math.Min(ReceiveLimit, 65535);

    /// <summary>Bytes of receive buffer free for new data.</summary>
    private int ReceiveWindowAvailable() => Math.Max(0, ReceiveLimit - ReceiveQueued - OutOfOrderBytes);

    /// <summary>The window to advertise now (RFC 9293 §3.8.6.2.2, receiver-side SWS avoidance): the right edge only
    /// moves right, and only by at least min(buffer/2, MSS) at a time.</summary>
    private uint CurrentReceiveWindow()
    {
        // The window field can say at most 65535 << RCV.WIND.SHIFT: the edge never goes past what can be advertised.
        int free = (int)Math.Min(ReceiveWindowAvailable(), (long)65535 << _rcvScale);
        SeqNumber proposedEdge = _rcvNxt + free;
        int grow = proposedEdge - _rcvAdvertisedEdge;
        // FreeBSD tcp_output advertises all the free space unless it is small (under a quarter of the buffer and under
        // a segment), so the edge may move by less than the RFC 9293 §3.8.6.2.2 step Linux keeps.
        bool enough = _layer.Settings.BsdSocketBuffers ? free >= Math.Min(ReceiveLimit / 4, Mss) : grow >= Math.Min(ReceiveLimit / 2, Mss);
        if (grow > 0 && enough || _rcvAdvertisedEdge < _rcvNxt)
        {
            _rcvAdvertisedEdge = SeqNumber.Max(proposedEdge, _rcvNxt);
        }

        int window = Math.Max(0, _rcvAdvertisedEdge - _rcvNxt);
        uint max = (uint)65535 << _rcvScale;
        return Math.Min((uint)window, max);
    }

    /// <summary>Sends whatever the windows, Nagle and the state allow (RFC 9293 §3.10.2, RFC 5681, RFC 6675).</summary>
    internal void Output(Instant now)
    {
        if (State is not (TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.LastAck or TcpState.Closing))
        {
            return;
        }

        if (_inRecovery && _sackEnabled)
        {
            SackRecoveryOutput(now); // checks TCP_NOTSENT_LOWAT itself
            return;
        }

        _burstSegments = 0;
        _passSegments = 0;
        // The timers are worked out once for the whole burst, after it (nothing fires in between, and each segment's
        // loss probe and deadline would replace the one before): see SendData.
        _burstTimers = true;
        while (_passSegments < MaxSegmentsPerPass && SendOne(now))
        {
        }

        _burstTimers = false;
        if (_burstNewData)
        {
            _burstNewData = false;
            ScheduleLossProbe(now);
        }

        ArmPersistIfNeeded(now); // re-arms the connection's timer
        NotifyIfNotSentLow();
    }

    /// <summary>TCP_NOTSENT_LOWAT: what was just sent (on an ACK, a timer, in recovery or not) may have made the socket
    /// writable; Linux checks after every ACK's output (tcp_data_snd_check → tcp_check_space).</summary>
    private void NotifyIfNotSentLow()
    {
        if ((_layer.Settings.NotSentLowWatermark != int.MaxValue || _cold is { NotSentLowat: not 0 }) && !(_cold?.InSend ?? false))
        {
            Notify();
        }
    }

    private int _burstSegments; // new-data segments sent by the current Output pass
    private int _passSegments; // segments (a large segment counts what it stands for) sent by the current pass

    /// <summary>The most segments one output pass sends (a guard; the windows end a pass long before). A large
    /// segment counts as the segments it stands for, so a pass ends at the same byte with or without offload.</summary>
    private const int MaxSegmentsPerPass = 256;

    /// <summary>The segments a send of <paramref name="len"/> bytes stands for: a large segment counts each MSS of it
    /// (the last maybe short), anything else (a FIN or a short segment included) one.</summary>
    private static int SegmentsIn(int len, int mss) => len > mss ? (len + mss - 1) / mss : 1;
    private bool _burstTimers; // inside Output's loop: SendData leaves the loss probe and the timer to Output
    private bool _burstNewData; // new data went out in this Output pass: the loss probe is due for scheduling
    private bool _dataAcknowledged; // the peer has acknowledged data (not only our SYN)

    /// <summary>How many segments Linux puts in one TSO/GSO packet now (tcp_tso_autosize): about a millisecond of data
    /// at the pacing rate (mss · cwnd / SRTT, times 2 in slow start and 1.2 after, tcp_update_pacing_rate), plus a bonus
    /// of 64 KB &gt;&gt; (min RTT in µs / 512) for short paths, at most 64 KB, at least tcp_min_tso_segs (2). Until data
    /// has been acknowledged the rate counts as unlimited (sk_pacing_rate starts at ~0UL): the corpus shows Linux's
    /// initial window leaving as one TSO packet (limited_transmit, mss-setsockopt-tcp_maxseg-client).</summary>
    private int GsoSegments(int mss)
    {
        long bytes = GsoMaxSize;
        long rate = PacingRate();
        if (rate > 0 && Rtt.SmoothedRtt is { } srtt)
        {
            bytes = rate >> 10; // sk_pacing_rate >> sk_pacing_shift
            long minRttUs = (long)(Rtt.MinRtt ?? srtt).TotalMicroseconds >> 9; // tcp_tso_rtt_log
            if (minRttUs < 32)
            {
                bytes += GsoMaxSize >> (int)minRttUs;
            }

            bytes = Math.Min(bytes, GsoMaxSize);
        }

        return (int)Math.Max(bytes / Math.Max(mss, 1), 2);
    }

    /// <summary>Linux GSO_MAX_SIZE: the most one TSO/GSO packet carries.</summary>
    private const int GsoMaxSize = 65536;

    /// <summary>The pacing rate in bytes per second that Linux computes even without a pacing qdisc
    /// (tcp_update_pacing_rate, sk_pacing_rate): cwnd / SRTT, times tcp_pacing_ss_ratio (2) while cwnd is below half
    /// of ssthresh and tcp_pacing_ca_ratio (1.2) after. 0 until data has been acknowledged with an SRTT (Linux's
    /// rate starts unlimited).</summary>
    private long PacingRate()
    {
        if (_dataAcknowledged && Rtt.SmoothedRtt is { } srtt && srtt > TimeSpan.Zero && Congestion is { } cc)
        {
            double ratio = cc.Cwnd < cc.Ssthresh / 2 ? 2.0 : 1.2;
            return (long)(ratio * cc.Cwnd / srtt.TotalSeconds);
        }

        return 0;
    }

    /// <summary>What the congestion controller is told besides the window arithmetic (<see cref="AckContext"/>):
    /// SND.UNA, the highest sequence sent (Linux's snd_nxt), the pacing rate, and the GSO size (Linux
    /// sk_gso_max_size: 64 KiB whether or not the device offloads, since Linux's TCP always builds GSO packets and
    /// segments them in software where the device cannot: commit 0a6b2a1dc2a2, "tcp: switch to GSO being always on",
    /// in sk_setup_caps). The last two are worked out only in slow start, the only time CUBIC's HyStart uses them
    /// (0 otherwise).</summary>
    private AckContext CongestionContext(ICongestionController cc)
    {
        if (cc.Cwnd >= cc.Ssthresh)
        {
            return new AckContext(_sndUna, _sndMax, 0, 0, _layer.Counters);
        }

        return new AckContext(_sndUna, _sndMax, PacingRate(), GsoMaxSize, _layer.Counters);
    }

    /// <summary>Sends one segment of new (or go-back-N) data or the FIN; false when nothing may go now.</summary>
    /// <param name="pipeRoom">In SACK recovery, cwnd - pipe (RFC 6675 §5 step (C)): the congestion window limits
    /// what is in the pipe, not SND.NXT - SND.UNA, so new data may go up to this many bytes, within the peer's
    /// window. -1 otherwise: cwnd is counted from SND.UNA.</param>
    private bool SendOne(Instant now, int pipeRoom = -1)
    {
        SeqNumber dataEnd = _sndUna + SendQueued;
        if (_finSent && _sndUna > _finSeq)
        {
            return false; // FIN acknowledged: nothing left
        }

        int avail = dataEnd - _sndNxt;
        // RFC 3042 limited transmit: the first two duplicate ACKs each let one new segment out beyond cwnd.
        int allowance = !_inRecovery && _dupAcks is 1 or 2 ? _dupAcks * Mss : 0;
        // In SACK recovery SND.UNA sits at the first hole while the window's worth sent before the loss is still
        // beyond it: counting cwnd from SND.UNA would hold all new data until the holes were repaired, and recovery
        // would end with nothing in flight. RFC 6675 §5 (C) (NextSeg rule 2) and Linux (tcp_write_xmit:
        // tcp_cwnd_test against packets in flight, tcp_snd_wnd_test against the peer's window only) instead let
        // new data go while pipe is below cwnd.
        uint window = pipeRoom >= 0 ? _sndWnd : Math.Min((uint)(Congestion!.Cwnd + allowance), _sndWnd);
        SeqNumber edge = _sndUna + (int)Math.Min(window, int.MaxValue);
        int usable = Math.Max(0, edge - _sndNxt);
        if (pipeRoom >= 0)
        {
            usable = Math.Min(usable, pipeRoom); // a large segment stops at cwnd (Linux tcp_mss_split_point cuts a TSO packet at cwnd_quota)
        }

        int sackLimit = int.MaxValue;
        if (_sackEnabled && _sndNxt >= _sndUna && _sndNxt < _sndMax && _sack is { IsEmpty: false })
        {
            if (_sndNxt == _sndUna)
            {
                // RFC 2018 §8: the left edge is always retransmitted, SACKed or not (the receiver may renege): one
                // segment there, and a large segment runs on beyond it only over what is not SACKed, as the
                // segments sent one at a time after it skip what is.
                int first = SegmentMss();
                SeqNumber next = _sndNxt + first;
                sackLimit = _sack.SkipSacked(next, out int run) != next ? first : run == int.MaxValue ? int.MaxValue : first + run;
            }
            else
            {
                // Go-back-N after a timeout skips what the receiver has SACKed (Linux keeps the scoreboard too).
                SeqNumber skipped = _sack.SkipSacked(_sndNxt, out sackLimit);
                if (skipped != _sndNxt)
                {
                    _sndNxt = SeqNumber.Min(skipped, _sndMax);
                    avail = dataEnd - _sndNxt;
                    usable = Math.Max(0, edge - _sndNxt);
                }
            }
        }

        if (avail > 0)
        {
            int mss = SegmentMss();
            int len = Math.Min(Math.Min(Math.Min(mss, avail), usable), sackLimit);
            if (len == Mss && avail > Mss && usable > Mss && sackLimit > Mss)
            {
                // full-size segments and no SACK blocks to carry: a large segment where the route offloads
                len = LargeSegmentLength(Math.Min(Math.Min(avail, usable), sackLimit), avail);
            }

            if (len <= 0)
            {
                return false;
            }

            if (_passSegments == 0 && _sndNxt >= _sndMax && ShouldDeferNewData(avail, usable, mss, now))
            {
                return false; // the next ACK lets a larger burst out
            }

            bool inFlight = _sndNxt != _sndUna;
            bool isLast = len == avail;
            // Nagle and SWS avoidance govern new data only: a retransmission (go-back-N after a timeout, possibly a
            // hole smaller than a segment between SACKed blocks) always goes.
            if (len < mss && _sndNxt >= _sndMax)
            {
                // RFC 9293 §3.7.4 Nagle (as in RFC 1122 §4.2.3.4), in Minshall's variant as Linux has it
                // (tcp_nagle_check, tcp_minshall_check): hold a small segment only while an earlier small segment is
                // unacknowledged, so the tail of a write goes out right behind its full segments.
                bool smallOutstanding = _sndSml > _sndUna && _sndSml <= _sndNxt;
                bool pushed = _cold?.NaglePush ?? false;
                // Linux tcp_nagle_test: the segment that carries the FIN (tcp_send_fin) is exempt from Nagle and cork.
                bool carriesFin = _finQueued && isLast;
                if (Corked && !carriesFin)
                {
                    return false; // Linux tcp_nagle_check: a partial segment waits while TCP_NAGLE_CORK is set
                }

                bool nagleOk = NoDelay || pushed || carriesFin || !inFlight || !smallOutstanding || _sndNxt < _sndMax;
                // RFC 9293 §3.8.6.2.1 sender SWS avoidance: send only a full segment, everything left when allowed,
                // or at least half the largest window the peer has offered.
                bool swsOk = (isLast && nagleOk) || len >= (int)(_maxSndWnd / 2);
                if (!swsOk)
                {
                    return false;
                }
            }

            TcpFlags flags = TcpFlags.Ack;
            if (isLast && !(_cold?.TailUnpushed ?? false))
            {
                flags |= TcpFlags.Psh;
            }
            else if (_sndNxt >= _sndMax && (_burstSegments += SegmentsIn(len, mss)) >= 2)
            {
                // Linux __tcp_transmit_skb sets PSH on every TSO/GSO packet of more than one segment ("to expedite GRO
                // flush at receiver"), and GSO leaves it on the packet's last segment. A burst of new data goes out as
                // packets of GsoSegments() segments, the last one cut short where the window or cwnd ends the burst.
                // One segment at a time or as large segments (LargeSegmentLength cuts them at the same packet
                // boundaries, and a NIC's cut keeps PSH on the last frame), the same segments carry PSH.
                int packetSegments = GsoSegments(mss);
                int inPacket = (_burstSegments - 1) % packetSegments + 1;
                int leftUsable = usable - len, leftData = avail - len;
                bool burstEnds = leftUsable < Math.Min(mss, leftData);
                if (inPacket == packetSegments || (burstEnds && inPacket >= 2))
                {
                    flags |= TcpFlags.Psh;
                }
            }

            bool withFin = _finQueued && isLast && len < usable + 1;
            SeqNumber start = _sndNxt;
            bool newData = start >= _sndMax;
            SendData(start, len, flags, withFin, now);
            if (newData && len < mss)
            {
                _sndSml = start + len; // the end of this small segment (tcp_minshall_update)
            }

            return true;
        }

        // The FIN takes a sequence number, so a new one waits for room in the peer's window (Linux tcp_snd_wnd_test
        // counts it in end_seq): with a zero window the persist timer probes until the window opens, as RFC 9293
        // §3.8.6.1 has it for data. A FIN already sent is retransmitted at SND.UNA regardless.
        if (_finQueued && avail == 0 && (_finSent ? _sndNxt == _finSeq : _sndWnd > (uint)(_sndNxt - _sndUna)))
        {
            SendData(_sndNxt, 0, TcpFlags.Ack, withFin: true, now);
            return true;
        }

        return false;
    }

    /// <summary>
    /// Linux's tcp_tso_should_defer (<see cref="TcpSettings.TsoDeferral"/>): whether new data of more than one
    /// segment (<paramref name="avail"/> queued, <paramref name="usable"/> allowed by cwnd and the peer's window) waits
    /// for the next ACK instead of leaving in a small burst. Only where the route takes large segments: Linux asks
    /// only of a socket that can use GSO (sk_can_gso; with <c>ethtool -K gso off tso off</c> it never defers). Asked
    /// once per output pass, before its first segment, as Linux asks once per write-queue skb (up to a large segment's
    /// worth): a burst that starts goes out whole. It waits when all of these hold: no loss recovery, nor what an RTO
    /// left outstanding still unacknowledged (Linux sends at once in its Recovery and Loss states); no duplicate ACKs
    /// (RFC 3042's limited transmit sends on each of the first two); the last transmit within a millisecond (deferring
    /// after a quiet spell would only add a burst); less than a full large segment allowed (GsoSegments,
    /// tcp_tso_autosize); less than a TsoWinDivisor-th of min(cwnd, the peer's window) allowed; data in flight whose
    /// oldest part left more than half an SRTT ago, so its ACK is due soon; no FIN to carry.
    /// </summary>
    private bool ShouldDeferNewData(int avail, int usable, int mss, Instant now)
    {
        TcpSettings settings = _layer.Settings;
        if (!settings.TsoDeferral || avail <= mss || _inRecovery || _sndUna < _recoveryPoint || _dupAcks > 0 || _finQueued || _sndMax == _sndUna ||
            Congestion is null || Rtt.SmoothedRtt is not { } srtt || !RouteOffloadsSegmentation() ||
            _sendTimes is null || !_sendTimes.TryGetSendTimes(out Instant oldest, out Instant newest))
        {
            return false;
        }

        if (now - newest > TimeSpan.FromMilliseconds(1) || usable >= GsoSegments(mss) * mss)
        {
            return false;
        }

        long chunk = Math.Min(_sndWnd, (uint)Congestion.Cwnd);
        if (settings.TsoWinDivisor > 0 ? usable >= chunk / settings.TsoWinDivisor : usable > 3 * mss)
        {
            return false;
        }

        // Linux waits from exactly half an SRTT; strictly beyond it here, so that data sent at this very instant
        // (a simulated path with no delay, where SRTT is 0) never holds back what follows it.
        return now - oldest > srtt / 2;
    }

    /// <summary>The payload a data segment sent now may carry: <see cref="Mss"/> less the SACK blocks the segment
    /// will carry (RFC 9293 §3.7.1: the options a segment carries reduce its data; Linux tcp_current_mss subtracts
    /// the SACK option of tcp_established_options). Without this, a segment with SACK blocks exceeds the MTU and is
    /// fragmented.</summary>
    private int SegmentMss()
    {
        if (!_sackEnabled)
        {
            return Mss;
        }

        int blocks = Math.Min((_hasDsack ? 1 : 0) + (_ooo?.RangeCount ?? 0), _tsEnabled ? 3 : 4);
        return blocks == 0 ? Mss : Math.Max(1, Mss - (4 + 8 * blocks));
    }

    /// <summary>With segmentation offload on the route (<see cref="Links.ILinkDevice.GsoMaxSize"/>): as many whole
    /// MSS of the <paramref name="allowed"/> bytes (more than one MSS) as fit in one large segment, sent as one
    /// packet that stands for that many segments; otherwise one MSS. A tail shorter than an MSS rides along only
    /// where one-segment-at-a-time sending would send it at once too (the last data, TCP_NODELAY); otherwise it is
    /// left to the next call, where Nagle and SWS avoidance judge it as before.</summary>
    private int LargeSegmentLength(int allowed, int avail)
    {
        int room = LargeSegmentRoom();
        if (room < 2 * Mss)
        {
            return Mss;
        }

        // Linux tcp_tso_autosize: a TSO packet carries about a millisecond of the pacing rate (GsoSegments), not
        // always the device's whole gso_max_size.
        int cap = Math.Min(room, GsoSegments(Mss) * Mss);
        // The pass's guard (MaxSegmentsPerPass) ends a pass at the same byte with or without offload: a large
        // segment stops where the segments left to the pass end, as the sender without offload would stop there.
        int passRoom = MaxSegmentsPerPass - _passSegments;
        if (passRoom < 2)
        {
            return Mss;
        }

        cap = Math.Min(cap, passRoom * Mss);
        if (allowed <= cap && allowed == avail && NoDelay && !Corked)
        {
            return allowed;
        }

        int len = Math.Min(allowed, cap);
        return len - len % Mss;
    }

    /// <summary>The most payload a large segment to the peer carries (its route's offload size less the headers);
    /// under two MSS where the route does not offload segmentation.</summary>
    private int LargeSegmentRoom() =>
        _layer.Ip.GsoMaxSizeFor(Tuple.RemoteAddress) - IPv4Header.Length - TcpSegment.MinHeaderLength - TcpOptions.MaxLength;

    /// <summary>Whether the route to the peer takes large segments (Linux's sk_can_gso).</summary>
    private bool RouteOffloadsSegmentation() => LargeSegmentRoom() >= 2 * Mss;

    /// <summary>RFC 5681 §4.1 with Linux's tcp_slow_start_after_idle_check (run as a write queues new data): when
    /// nothing is in flight and no data has been sent for longer than the RTO, the window learnt before the idle
    /// stretch no longer describes the path, so cwnd restarts from at most the restart window
    /// (<see cref="ICongestionController.OnIdleRestart"/>). Off with <see cref="TcpSettings.SlowStartAfterIdle"/>
    /// (<c>net.ipv4.tcp_slow_start_after_idle = 0</c>).</summary>
    private void RestartAfterIdle(Instant now)
    {
        if (!_layer.Settings.SlowStartAfterIdle || Congestion is null || _sndMax != _sndUna)
        {
            return;
        }

        TimeSpan idle = TimeSpan.FromMilliseconds(unchecked(StampMs(now) - _lastDataSentMs));
        TimeSpan rto = RetransmitTimeout;
        if (idle <= rto)
        {
            return;
        }

        int before = Congestion.Cwnd;
        Congestion.OnIdleRestart(idle, rto, now);
        Trace?.Add(new TcpTraceEvent(now, "idle", $"restart after {idle.TotalMilliseconds:0.###} ms idle (rto {rto.TotalMilliseconds:0.###} ms): cwnd {before} -> {Congestion.Cwnd}, ssthresh {Congestion.Ssthresh}"));
    }

    /// <summary>Linux tcp_event_data_sent, for every data segment sent, retransmissions included: with nothing in
    /// flight the congestion controller learns how long the sender was idle (CA_EVENT_TX_START), and lsndtime
    /// moves to now.</summary>
    private void DataLeaves(Instant now)
    {
        uint stamp = StampMs(now);
        if (_sndMax == _sndUna && Congestion is { } cc)
        {
            cc.OnTransmitStart(TimeSpan.FromMilliseconds(unchecked(stamp - _lastDataSentMs)), now);
        }

        _lastDataSentMs = stamp;
    }

    /// <summary>A wrapping millisecond stamp of <paramref name="now"/> (for <c>_lastDataSentMs</c>).</summary>
    private static uint StampMs(Instant now) => unchecked((uint)now.TotalMilliseconds);

    /// <summary>Sends [seq, seq+len) from the send queue, optionally with FIN, and advances SND.NXT/SND.MAX.</summary>
    private void SendData(SeqNumber seq, int len, TcpFlags flags, bool withFin, Instant now)
    {
        if (withFin)
        {
            flags |= TcpFlags.Fin;
        }

        _passSegments += SegmentsIn(len, Mss);
        bool retransmission = seq < _sndMax;
        if (len > 0)
        {
            DataLeaves(now);
        }

        if (retransmission)
        {
            // Only the part below SND.MAX was sent before: a large segment that runs on into new data counts the
            // segments of the old part, as the same bytes sent one MSS at a time would.
            CountRetransmission(seq, Math.Min(len, _sndMax - seq), now);
        }
        else if ((len > 0 || withFin) && (!_tsEnabled || _layer.Settings.LinuxRttEstimator))
        {
            // Linux times every piece of new data, with or without timestamps (skb_mstamp); RFC 6298 §3 and BSD
            // one segment at a time, and only without timestamps.
            (_sendTimes ??= _layer.RentSendTimeLog(everySegment: _layer.Settings.LinuxRttEstimator))
                .Record(seq, seq + len + (withFin ? 1 : 0), now);
        }

        Transmit(seq, flags, 0, default, len, seq - _sndUna, now);
        if (_inRecovery)
        {
            PrrCountOut(len);
        }

        SeqNumber end = seq + len;
        if (withFin)
        {
            _finSent = true;
            _finSeq = end;
            end += 1;
        }

        if (seq == _sndNxt)
        {
            _sndNxt = end;
        }

        _sndMax = SeqNumber.Max(_sndMax, end);
        StartRetransmitTimer(now);
        if (!retransmission)
        {
            _lastSegmentStart = seq;
            if (_burstTimers)
            {
                _burstNewData = true;
                return; // Output schedules the probe and arms the timer after the burst
            }

            ScheduleLossProbe(now); // RFC 8985 §7.2: new data sent (a probe of new data cancels this again)
        }

        if (!_burstTimers)
        {
            ScheduleTimer();
        }
    }

    private void CountRetransmission(SeqNumber seq, int len, Instant now)
    {
        // Linux tcp_retransmit_skb counts the segments a retransmitted TSO/GSO packet stands for (RetransSegs,
        // tcpi_total_retrans), so a large segment counts as the frames it becomes.
        int segments = SegmentsIn(len, Mss);
        _layer.Counters.RetransSegs += segments;
        TotalRetransmits += segments;
        _sendTimes?.MarkRetransmitted(seq, seq + Math.Max(len, 1)); // RFC 6298 §3 (Karn): no sample from data sent twice
        if (_cold is { UndoActive: true } undo)
        {
            undo.UndoRetrans += segments; // Linux undo_retrans: each must be shown a duplicate for a D-SACK undo
            if (undo.RetransStamp == 0 && _tsEnabled)
            {
                undo.RetransStamp = Math.Max(1u, TsNow(now)); // retrans_stamp: the first retransmission's TSval
            }
        }

        Trace?.Add(new TcpTraceEvent(now, "rexmit", $"seq {seq.Value} len {len} ({(_inRecovery ? "recovery" : "timeout")})"));
    }

    /// <summary>Sends a bare ACK now (with SACK blocks when out-of-order data is held).</summary>
    internal void SendAck(Instant now)
    {
        if (State is TcpState.Closed or TcpState.Listen or TcpState.SynSent)
        {
            return;
        }

        Transmit(_sndNxt, TcpFlags.Ack, 0, default, 0, 0, now);
    }

    /// <summary>RFC 9293 §3.10.7.4: a reset for this connection (sequence <paramref name="seq"/>).</summary>
    internal void SendReset(SeqNumber seq, Instant now)
    {
        _layer.Counters.OutRsts++;
        Transmit(seq, TcpFlags.Rst | TcpFlags.Ack, 0, default, 0, 0, now, noWindow: true);
    }

    /// <summary>Builds and sends one segment. For data, <paramref name="queueOffset"/> is where the payload
    /// starts in the send queue. <paramref name="synWindow"/> non-zero means a SYN (unscaled window, given options).</summary>
    private void Transmit(SeqNumber seq, TcpFlags flags, ushort synWindow, in TcpOptions synOptions, int len, int queueOffset,
        Instant now, bool noWindow = false)
    {
        bool isSyn = (flags & TcpFlags.Syn) != 0;
        TcpOptions options = isSyn ? synOptions : default;
        if (!isSyn && (flags & TcpFlags.Rst) == 0)
        {
            AddSegmentOptions(ref options, now);
        }

        if ((flags & TcpFlags.Rst) == 0 && State != TcpState.SynSent || (flags & TcpFlags.Syn) != 0 && (flags & TcpFlags.Ack) != 0)
        {
            flags |= TcpFlags.Ack;
        }

        if (State == TcpState.SynSent && isSyn)
        {
            flags &= ~TcpFlags.Ack;
        }

        ushort window = 0;
        if (isSyn)
        {
            window = synWindow;
        }
        else if (!noWindow)
        {
            uint wnd = CurrentReceiveWindow();
            window = (ushort)Math.Min(65535u, wnd >> _rcvScale);
            if (window == 0)
            {
                _layer.Counters.TCPToZeroWindowAdv += _lastAdvertisedZero ? 0 : 1;
                _lastAdvertisedZero = true;
            }
            else if (_lastAdvertisedZero)
            {
                _lastAdvertisedZero = false;
                _layer.Counters.TCPFromZeroWindowAdv++;
            }
        }

        var header = new TcpHeader
        {
            SourcePort = Tuple.LocalPort,
            DestinationPort = Tuple.RemotePort,
            SequenceNumber = seq,
            AcknowledgmentNumber = (flags & TcpFlags.Ack) != 0 ? _rcvNxt : default,
            Flags = flags,
            Window = window,
            Options = options,
        };

        int headerLength = header.Length;
        if (!_layer.Ip.TryRentPacket(headerLength + len, out PacketBuffer? packet))
        {
            // ENOBUFS on output: the segment is lost like a dropped packet; the retransmission timer covers it.
            _layer.Counters.TCPAbortOnMemory += 0;
            _layer.OutputNoBuffers++;
            return;
        }

        Span<byte> head = packet!.Prepend(headerLength);
        if (len > 0 && _sendQueue!.TryLendInto(queueOffset, len, packet, headerLength))
        {
            // The payload stays in the send queue and the packet points at it, a piece per chunk it spans (Linux's
            // skb frags on the socket's pages); the checksum covers the header now and takes the payload's sum where
            // the bytes are joined (PacketBuffer.Materialize: IP output for a device that cannot take the reference,
            // a capture, a copy).
            header.WriteWithoutPayloadTo(head, Tuple.LocalAddress, Tuple.RemoteAddress, len);
        }
        else
        {
            ulong payloadSum = 0;
            if (len > 0)
            {
                Span<byte> payload = packet.Append(len);
                _sendQueue!.PeekAndAccumulate(queueOffset, payload, ref payloadSum); // checksum on copy: one pass
            }

            header.WriteTo(packet.Span, Tuple.LocalAddress, Tuple.RemoteAddress, payloadSum);
        }

        packet.ChecksumTrusted = true; // computed here (or completed where the payload is joined), over bytes nobody else has touched
        if (len > Mss)
        {
            packet.GsoSize = Mss; // a large segment (LargeSegmentLength): whole MSS of payload each, the last maybe short
        }
        if ((flags & TcpFlags.Ack) != 0)
        {
            _lastAckSent = _rcvNxt;
            _unackedSegments = 0;
            _delAckAt = null;
        }

        _layer.Counters.OutSegs++;
        _layer.Ip.Output(packet, Tuple.LocalAddress, Tuple.RemoteAddress, IPProtocol.Tcp, now, tos: Tos);
    }

    private bool _lastAdvertisedZero;

    private void AddSegmentOptions(ref TcpOptions options, Instant now)
    {
        if (_tsEnabled)
        {
            options.HasTimestamp = true;
            options.TsVal = TsNow(now);
            options.TsEcr = _tsRecent;
        }

        if (!_sackEnabled)
        {
            return;
        }

        int max = _tsEnabled ? 3 : 4;
        int n = 0;
        if (_hasDsack)
        {
            // RFC 2883 §4: the D-SACK block comes first.
            options.Sacks[n++] = _dsack;
            _hasDsack = false;
        }

        if (_ooo is not null && !_ooo.IsEmpty)
        {
            Span<SackBlock> blocks = stackalloc SackBlock[4];
            int count = _ooo.GetSackBlocks(blocks);
            for (int i = 0; i < count && n < max; i++)
            {
                options.Sacks[n++] = blocks[i];
            }
        }

        options.SackCount = n;
    }

    /// <summary>After the user read data: RFC 9293 §3.8.6.2.2, send a window update when the window opened by at
    /// least min(buffer/2, MSS) since the last advertisement (the reader-side SWS rule), or from zero.</summary>
    private void MaybeSendWindowUpdate(int freeBefore, Instant now)
    {
        if (State is not (TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2))
        {
            return;
        }

        int advertised = Math.Max(0, _rcvAdvertisedEdge - _rcvNxt);
        // What can be advertised: the window field says at most 65535 << RCV.WIND.SHIFT (RFC 7323 §2.3), so a
        // buffer larger than that opens nothing new (Linux tcp_cleanup_rbuf compares the windows it can select).
        int free = (int)Math.Min(ReceiveWindowAvailable(), (long)65535 << _rcvScale);
        if (free - advertised >= Math.Min(ReceiveLimit / 2, Mss) && (advertised < Mss || free >= 2 * advertised))
        {
            SendAck(now);
        }
    }
}
