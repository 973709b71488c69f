using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tcp.Congestion;

/// <summary>
/// CUBIC congestion control, RFC 9438 (Linux's default, name "cubic"). Slow start and loss recovery are Reno's;
/// congestion avoidance follows the cubic window function of the time since the epoch began, bounded below by a
/// Reno estimate (the Reno-friendly region). Windows inside the cubic are in segments (doubles), as in the RFC;
/// <see cref="Cwnd"/> and <see cref="Ssthresh"/> are bytes.
/// </summary>
/// <remarks>
/// Slow start ends early by Linux's HyStart (tcp_cubic.c, module parameters hystart=1, hystart_detect=3,
/// hystart_low_window=16, hystart_ack_delta_us=2000) when it is on (<see cref="HyStart"/>; the connection must pass
/// an <see cref="AckContext"/>): an ACK train that lasts longer than half the minimum RTT, or RTTs that rose by an
/// eighth of the minimum (4 to 16 ms), sets ssthresh = cwnd. This is Linux's classic HyStart, not the IETF's
/// HyStart++ (RFC 9406), which has a conservative slow start phase. The application-limited exclusion of RFC 9438
/// §5.8 is not implemented.
/// </remarks>
public sealed class Cubic : ICongestionController
{
    public const string AlgorithmName = "cubic";

    /// <summary>RFC 9438 §5.1: C = 0.4 (segments / s^3).</summary>
    public const double C = 0.4;

    /// <summary>RFC 9438 §4.6: β_cubic = 0.7.</summary>
    public const double BetaCubic = 0.7;

    /// <summary>RFC 9438 §4.3: α_cubic = 3 (1 - β_cubic) / (1 + β_cubic), so that CUBIC's average window in the
    /// Reno-friendly region matches Reno's AIMD(1, 0.5).</summary>
    public const double AlphaCubic = 3.0 * (1.0 - BetaCubic) / (1.0 + BetaCubic);

    /// <summary>Linux tcp_cubic hystart_low_window: HyStart acts only from a cwnd of 16 segments.</summary>
    public const int HyStartLowWindow = 16;

    /// <summary>Linux tcp_cubic hystart_ack_delta_us: ACKs at most 2 ms apart form a train.</summary>
    public const int HyStartAckDeltaMicroseconds = 2000;

    /// <summary>Linux tcp_cubic HYSTART_MIN_SAMPLES: RTT samples of a round before the delay detector judges it.</summary>
    public const int HyStartMinSamples = 8;

    /// <summary>Linux tcp_cubic HYSTART_DELAY_MIN / HYSTART_DELAY_MAX: the delay threshold, delay_min / 8, is clamped to
    /// [4 ms, 16 ms].</summary>
    public const int HyStartDelayMinMicroseconds = 4000, HyStartDelayMaxMicroseconds = 16000;

    // The fields are packed (the flags in a byte, times and RTTs in 32-bit microseconds as Linux keeps them, cwnd_prior
    // in bytes, cwnd_epoch derived) so that the controller, one per connection, stays at 96 bytes with HyStart's state
    // (ConnectionAllocationTests).
    private int _mss;
    private int _cwnd;

    // Fractional bytes of growth carried between ACKs (RFC 9438 §4.4: the increment per ACK is a fraction).
    private double _cwndFraction;

    [Flags]
    private enum State : byte
    {
        InTimeoutBackoff = 1,
        AfterTimeout = 2,
        HasEpoch = 4,
        HyStartFound = 8, // Linux ca->found: HyStart ended this slow start
        RoundOver = 16,   // the HyStart round must start afresh at the next update (Linux end_seq already passed)
    }

    private State _state;

    // RFC 3465 §2.2 L in segments for slow start; 0: Linux's slow start (CongestionControl.SlowStart).
    private readonly byte _abcLimit;

    private readonly bool _hyStart;

    // HyStart (Linux struct bictcp): the current round's start, its last ACK of a train (µs of the stack's clock,
    // wrapping as Linux's u32 stamps do), the SND.NXT that ends it, its smallest RTT sample (µs) and how many samples
    // it has had. delay_min is _minRttUs.
    private uint _roundStart;
    private uint _lastAck;
    private uint _endSeq;
    private uint _currRtt;
    private byte _sampleCount;

    /// <summary>A controller with Linux's slow start and HyStart.</summary>
    public Cubic()
        : this(0)
    {
    }

    /// <summary>A controller whose slow start uses RFC 3465 with L = <paramref name="abcLimit"/> segments, or
    /// Linux's when it is 0 (<see cref="CongestionControl.SlowStart"/>), with HyStart.</summary>
    public Cubic(int abcLimit)
        : this(abcLimit, hyStart: true)
    {
    }

    /// <summary>A controller whose slow start uses RFC 3465 with L = <paramref name="abcLimit"/> segments, or
    /// Linux's when it is 0, and ends early by Linux's HyStart when <paramref name="hyStart"/> is true.</summary>
    public Cubic(int abcLimit, bool hyStart)
    {
        _abcLimit = CongestionControl.CheckAbcLimit(abcLimit);
        _hyStart = hyStart;
        Initialize(CongestionControl.DefaultMss, Instant.Zero);
    }

    public string Name => AlgorithmName;

    public int Cwnd
    {
        get => _cwnd;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _cwnd = Math.Min(value, CongestionControl.MaxWindow);
            _cwndFraction = 0;
        }
    }

    public int Ssthresh { get; private set; }

    public int Mss => _mss;

    /// <summary>RFC 3465 L (segments) of slow start; 0: Linux's slow start.</summary>
    public int AbcLimit => _abcLimit;

    public bool InSlowStart => _cwnd < Ssthresh;

    /// <summary>Whether Linux's HyStart may end slow start (Linux tcp_cubic's hystart parameter).</summary>
    public bool HyStart => _hyStart;

    /// <summary>HyStart ended the current slow start (Linux ca->found); cleared when the window restarts after a
    /// retransmission timeout.</summary>
    public bool HyStartFound => (_state & State.HyStartFound) != 0;

    /// <summary>W_max (segments): the window just before the last reduction, after fast convergence (§4.7).</summary>
    public double WMax { get; private set; }

    /// <summary>cwnd_prior (segments): cwnd when ssthresh was last set (§4.3).</summary>
    public double CwndPrior => (double)_cwndPrior / _mss;

    private int _cwndPrior; // bytes

    /// <summary>K (seconds) of the current epoch (§4.2 Figure 2).</summary>
    public double K { get; private set; }

    /// <summary>cwnd_epoch (segments): cwnd when the current epoch began.</summary>
    /// <remarks>Not stored: as Linux keeps only bic_origin_point (W_max here) and bic_K, it is W_max - C K^3
    /// (W_max = cwnd_epoch and K = 0 when cwnd_epoch was at or above the plateau).</remarks>
    public double CwndEpoch => WMax - C * K * K * K;

    /// <summary>W_est (segments): the Reno window estimate of the Reno-friendly region (§4.3).</summary>
    public double WEst { get; private set; }

    /// <summary>t_epoch: when the current congestion-avoidance stage began; null between a congestion event and
    /// the first ACK of congestion avoidance after it.</summary>
    public Instant? EpochStart
    {
        get => (_state & State.HasEpoch) != 0 ? _epochStart : null;
        private set
        {
            _state = value.HasValue ? _state | State.HasEpoch : _state & ~State.HasEpoch;
            _epochStart = value.GetValueOrDefault();
        }
    }

    // EpochStart and MinRtt without Nullable<T> padding: 16 bytes less per connection.
    private Instant _epochStart;

    // Linux ca->delay_min: the smallest RTT sample in µs (at least 1), 0 before the first.
    private uint _minRttUs;

    /// <summary>The smallest RTT sample seen (Linux delay_min, in microseconds); the "+ RTT" of the target (§4.2)
    /// uses it, as Linux does, and so does HyStart.</summary>
    public TimeSpan? MinRtt => _minRttUs == 0 ? null : TimeSpan.FromMicroseconds(_minRttUs);

    public void Initialize(int mss, Instant now)
    {
        CongestionControl.CheckMss(mss);
        _mss = mss;
        _cwnd = CongestionControl.InitialWindowSegments * mss;
        _cwndFraction = 0;
        Ssthresh = int.MaxValue;
        WMax = 0;
        _cwndPrior = 0;
        K = 0;
        WEst = 0;
        _state = 0;
        EpochStart = null;
        _minRttUs = 0;
        // Linux cubictcp_init: bictcp_reset (found = 0) and bictcp_hystart_reset. The round's end (SND.NXT) is not
        // known here; the first update begins a round, as Linux's does (end_seq was SND.NXT before any data).
        HyStartRestart();
    }

    /// <summary>RFC 9438 §4.2 Figure 1: W_cubic(t) = C (t - K)^3 + W_max, in segments, t in seconds since the
    /// epoch began.</summary>
    public double WCubic(double t)
    {
        double d = t - K;
        return C * d * d * d + WMax;
    }

    /// <summary>RFC 9438 §4.2 Figure 2: K = cbrt((W_max - cwnd_epoch) / C), 0 when cwnd_epoch is already at or
    /// above W_max.</summary>
    public static double ComputeK(double wMax, double cwndEpoch) =>
        wMax > cwndEpoch ? Math.Cbrt((wMax - cwndEpoch) / C) : 0.0;

    public void OnAck(int bytesAcked, int bytesInFlight, TimeSpan? rttSample, Instant now, in AckContext context = default)
    {
        if (rttSample is { } rtt && rtt >= TimeSpan.Zero)
        {
            // Linux bictcp_acked: "if (delay == 0) delay = 1; /* first time call or link delay decreases */
            // if (ca->delay_min == 0 || ca->delay_min > delay) ca->delay_min = delay;" then HyStart, before
            // cong_avoid grows the window, only in slow start from hystart_low_window segments until found.
            uint delay = (uint)Math.Clamp((long)rtt.TotalMicroseconds, 1, uint.MaxValue);
            if (_minRttUs == 0 || delay < _minRttUs)
            {
                _minRttUs = delay;
            }

            if (_hyStart && context.IsKnown && (_state & State.HyStartFound) == 0 && _cwnd < Ssthresh
                && _cwnd >= HyStartLowWindow * _mss)
            {
                HyStartUpdate(delay, now, context);
            }
        }

        if (bytesAcked <= 0)
        {
            return;
        }

        _state &= ~State.InTimeoutBackoff;
        if (_cwnd < Ssthresh)
        {
            // RFC 9438 §4.10: Reno's slow start below ssthresh (RFC 5681 §3.1; as Linux, or RFC 3465 ABC with an
            // ABC limit). Linux cubictcp_cong_avoid: "acked = tcp_slow_start(tp, acked); if (!acked) return;":
            // the part of the ACK beyond ssthresh goes on to congestion avoidance.
            _cwnd = CongestionControl.SlowStart(_cwnd, Ssthresh, bytesAcked, _mss, _abcLimit, out bytesAcked);
            if (bytesAcked <= 0)
            {
                return;
            }
        }

        if (EpochStart is null)
        {
            StartEpoch(now);
        }

        double t = Math.Max(0, (now - EpochStart!.Value).TotalSeconds);
        double cwndSegments = (double)_cwnd / _mss;

        // RFC 9438 §4.3 Figure 4: W_est += α_cubic * segments_acked / cwnd; α_cubic becomes 1 once W_est has
        // reached cwnd_prior. segments_acked / cwnd is the same ratio in bytes.
        double alpha = WEst >= CwndPrior ? 1.0 : AlphaCubic;
        WEst += alpha * bytesAcked / _cwnd;

        // RFC 9438 §4.3: "If W_cubic(t) is less than W_est ... cwnd SHOULD be set to W_est".
        if (WCubic(t) < WEst)
        {
            long renoBytes = (long)(WEst * _mss);
            if (renoBytes > _cwnd)
            {
                _cwnd = (int)Math.Min(renoBytes, CongestionControl.MaxWindow);
                _cwndFraction = 0;
            }

            return;
        }

        // RFC 9438 §4.4 (concave, cwnd < W_max) and §4.5 (convex, cwnd >= W_max) share one rule:
        //   target = W_cubic(t + RTT), clamped to [cwnd, 1.5 cwnd];  cwnd += (target - cwnd) / cwnd per ACK.
        // The per-ACK rule is applied per segment acknowledged, so delayed or stretch ACKs grow it alike.
        double rttSeconds = MinRtt?.TotalSeconds ?? 0.0;
        double target = Math.Clamp(WCubic(t + rttSeconds), cwndSegments, 1.5 * cwndSegments);
        double segmentsAcked = (double)bytesAcked / _mss;
        double growthBytes = (target - cwndSegments) / cwndSegments * segmentsAcked * _mss;
        _cwndFraction += growthBytes;
        if (_cwndFraction >= 1.0)
        {
            double whole = Math.Floor(_cwndFraction);
            _cwndFraction -= whole;
            _cwnd = (int)Math.Min(_cwnd + whole, CongestionControl.MaxWindow);
        }
    }

    public void OnCongestionEvent(int bytesInFlight, Instant now)
    {
        double cwndSegments = (double)_cwnd / _mss;

        // RFC 9438 §4.7 fast convergence: a reduction before reaching the previous W_max means new flows are
        // competing; release bandwidth by lowering the plateau further.
        WMax = cwndSegments < WMax ? cwndSegments * (1.0 + BetaCubic) / 2.0 : cwndSegments;

        // RFC 9438 §4.6: cwnd_prior = cwnd; ssthresh = flight_size * β_cubic, at least 2 SMSS; cwnd = ssthresh.
        _cwndPrior = _cwnd;
        Ssthresh = ReducedThreshold(bytesInFlight);
        _cwnd = Ssthresh;
        _cwndFraction = 0;
        // The epoch starts at the first ACK of the congestion-avoidance stage that follows (§4.2 t_epoch).
        EpochStart = null;
        _state &= ~State.AfterTimeout;
    }

    public void OnSpuriousCongestionEvent(int priorCwnd, int priorSsthresh)
    {
        // Linux: cwnd = the controller's undo_cwnd (the larger of now and before the event), ssthresh raised back.
        _cwnd = Math.Max(_cwnd, priorCwnd);
        Ssthresh = Math.Max(Ssthresh, priorSsthresh);
    }

    public void OnRecoveryComplete(Instant now)
    {
        // RFC 6582 §3.2 step 3 (option 2): deflate to ssthresh; CUBIC changes nothing else (RFC 9438 §4.6).
        _cwnd = Ssthresh;
        _cwndFraction = 0;
        EpochStart = null;
    }

    public void OnRetransmitTimeout(int bytesInFlight, Instant now)
    {
        // RFC 9438 §4.8: like Reno, cwnd = the loss window (1 SMSS, RFC 5681 §3.1), but ssthresh uses β_cubic as
        // in §4.6. A repeated timeout of the same data holds ssthresh (RFC 5681 §3.1 implementation note).
        if ((_state & State.InTimeoutBackoff) == 0)
        {
            _cwndPrior = _cwnd;
            Ssthresh = ReducedThreshold(bytesInFlight);
            _state |= State.InTimeoutBackoff;
        }

        _cwnd = _mss;
        _cwndFraction = 0;
        // §4.8: the first congestion-avoidance stage after a timeout uses K = 0 and W_max = cwnd_epoch, and
        // W_est starts there too; StartEpoch applies this.
        EpochStart = null;
        _state |= State.AfterTimeout;
        // Linux cubictcp_state(TCP_CA_Loss): bictcp_reset clears found, so HyStart may end the slow start that
        // follows, and bictcp_hystart_reset begins a round.
        HyStartRestart();
    }

    public void OnIdleRestart(TimeSpan idle, TimeSpan rto, Instant now)
    {
        // Linux's cubic leaves CA_EVENT_CWND_RESTART to tcp_cwnd_restart; its epoch moves with the idle time when
        // the data then leaves (OnTransmitStart).
        (int cwnd, int ssthresh) = CongestionControl.RestartAfterIdle(_cwnd, Ssthresh, _mss, idle, rto);
        _cwnd = cwnd;
        Ssthresh = ssthresh;
    }

    public void OnTransmitStart(TimeSpan idle, Instant now)
    {
        // Linux cubictcp_cwnd_event(CA_EVENT_TX_START): "We were application limited (idle) for a while. Shift
        // epoch_start to keep cwnd growth to cubic curve", never past now.
        if (EpochStart is { } start && idle > TimeSpan.Zero)
        {
            Instant shifted = start + idle;
            EpochStart = shifted > now ? now : shifted;
        }
    }

    public void OnMssChanged(int mss)
    {
        CongestionControl.CheckMss(mss);
        _cwnd = CongestionControl.Rescale(_cwnd, _mss, mss);
        Ssthresh = Ssthresh == int.MaxValue ? int.MaxValue : Math.Max(CongestionControl.Rescale(Ssthresh, _mss, mss), 2 * mss);
        _cwndFraction = 0;
        _cwndPrior = (int)((long)_cwndPrior * mss / _mss); // the same count of segments
        _mss = mss;
    }

    private void StartEpoch(Instant now)
    {
        EpochStart = now;
        double cwndEpoch = (double)_cwnd / _mss;
        if ((_state & State.AfterTimeout) != 0)
        {
            // RFC 9438 §4.8.
            WMax = cwndEpoch;
            _state &= ~State.AfterTimeout;
        }
        else if (WMax < cwndEpoch)
        {
            // No plateau above us (no congestion event yet, or cwnd was raised past it): grow convexly from here.
            WMax = cwndEpoch;
        }

        K = ComputeK(WMax, cwndEpoch);
        // RFC 9438 §4.3: "W_est is set equal to cwnd_epoch at the start of the congestion avoidance stage".
        WEst = cwndEpoch;
        _cwndFraction = 0;
    }

    /// <summary>Linux bictcp_reset's "found = 0" and bictcp_hystart_reset: HyStart may end the next slow start, and
    /// its next update begins a round (the connection's SND.NXT, Linux's end_seq, is known only then).</summary>
    private void HyStartRestart()
    {
        _state = (_state & ~State.HyStartFound) | State.RoundOver;
        _currRtt = uint.MaxValue;
        _sampleCount = 0;
    }

    /// <summary>Linux tcp_cubic hystart_update, with hystart_detect = 3 (ACK train and delay) on a socket that is
    /// not paced (SK_PACING_NONE: the ACK-train threshold is halved). <paramref name="delay"/> is the RTT sample in
    /// µs.</summary>
    private void HyStartUpdate(uint delay, Instant now, in AckContext context)
    {
        uint nowUs = unchecked((uint)now.Microseconds); // Linux bictcp_clock_us: tp->tcp_mstamp, u32
        // "if (after(tp->snd_una, ca->end_seq)) bictcp_hystart_reset(sk);": a new round.
        if ((_state & State.RoundOver) != 0 || context.SndUna > new SeqNumber(_endSeq))
        {
            // Linux bictcp_hystart_reset: round_start = last_ack = now; end_seq = snd_nxt; curr_rtt = ~0U;
            // sample_cnt = 0.
            _roundStart = _lastAck = nowUs;
            _endSeq = context.SndNxt.Value;
            _currRtt = uint.MaxValue;
            _sampleCount = 0;
            _state &= ~State.RoundOver;
        }

        // ACK train (HYSTART_ACK_TRAIN): ACKs at most hystart_ack_delta_us apart continue the train; once it has
        // lasted longer than (delay_min + hystart_ack_delay) / 2 since the round began, the pipe is full.
        if (unchecked((int)(nowUs - _lastAck)) <= HyStartAckDeltaMicroseconds)
        {
            _lastAck = nowUs;
            long threshold = ((long)_minRttUs + HyStartAckDelay(context)) >> 1;
            if (unchecked((int)(nowUs - _roundStart)) > threshold)
            {
                HyStartExit(context, train: true);
            }
        }

        // Delay (HYSTART_DELAY): the round's smallest RTT, once it has HYSTART_MIN_SAMPLES samples, above delay_min by
        // HYSTART_DELAY_THRESH(delay_min >> 3). Linux runs it even when the ACK train has just fired.
        if (_currRtt > delay)
        {
            _currRtt = delay;
        }

        if (_sampleCount < HyStartMinSamples)
        {
            _sampleCount++;
        }
        else if (_currRtt > (long)_minRttUs + Math.Clamp(_minRttUs >> 3, HyStartDelayMinMicroseconds, HyStartDelayMaxMicroseconds))
        {
            HyStartExit(context, train: false);
        }
    }

    /// <summary>Linux tcp_cubic hystart_ack_delay: the ACK-train cushion for TSO/GSO and ACK compression, the time
    /// four GSO packets take at the pacing rate, at most 1 ms; 0 without a pacing rate.</summary>
    internal static long HyStartAckDelay(in AckContext context) =>
        context.PacingRate <= 0 ? 0 : Math.Min(1000, (long)context.GsoMaxSize * 4 * 1_000_000 / context.PacingRate);

    private void HyStartExit(in AckContext context, bool train)
    {
        // "ca->found = 1; ... tp->snd_ssthresh = tcp_snd_cwnd(tp);" with TCPHystart{Train,Delay}{Detect,Cwnd}.
        _state |= State.HyStartFound;
        Ssthresh = _cwnd;
        if (context.Counters is { } counters)
        {
            long segments = _cwnd / _mss;
            if (train)
            {
                counters.TCPHystartTrainDetect++;
                counters.TCPHystartTrainCwnd += segments;
            }
            else
            {
                counters.TCPHystartDelayDetect++;
                counters.TCPHystartDelayCwnd += segments;
            }
        }
    }

    private int ReducedThreshold(int bytesInFlight) =>
        (int)Math.Max(Math.Max(bytesInFlight, 0) * BetaCubic, 2.0 * _mss);
}
