using Wirestack.Time;

namespace Wirestack.Tcp.Congestion;

/// <summary>
/// CUBIC congestion control, RFC 9438 (Linux's default, name "cubic"). Slow start and loss recovery are Reno's;
/// congestion avoidance follows the cubic window function of the time since the epoch began, bounded below by a
/// Reno estimate (the Reno-friendly region). Windows inside the cubic are in segments (doubles), as in the RFC;
/// <see cref="Cwnd"/> and <see cref="Ssthresh"/> are bytes.
/// </summary>
/// <remarks>HyStart++ (RFC 9406) and the application-limited exclusion of RFC 9438 §5.8 are not implemented.</remarks>
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

    private int _mss;
    private int _cwnd;

    // Fractional bytes of growth carried between ACKs (RFC 9438 §4.4: the increment per ACK is a fraction).
    private double _cwndFraction;

    private bool _inTimeoutBackoff;
    private bool _afterTimeout;

    // RFC 3465 §2.2 L in segments for slow start; 0: Linux's slow start (CongestionControl.SlowStart).
    private readonly byte _abcLimit;

    /// <summary>A controller with Linux's slow start.</summary>
    public Cubic()
        : this(0)
    {
    }

    /// <summary>A controller whose slow start uses RFC 3465 with L = <paramref name="abcLimit"/> segments, or
    /// Linux's when it is 0 (<see cref="CongestionControl.SlowStart"/>).</summary>
    public Cubic(int abcLimit)
    {
        _abcLimit = CongestionControl.CheckAbcLimit(abcLimit);
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

    /// <summary>W_max (segments): the window just before the last reduction, after fast convergence (§4.7).</summary>
    public double WMax { get; private set; }

    /// <summary>cwnd_prior (segments): cwnd when ssthresh was last set (§4.3).</summary>
    public double CwndPrior { get; private set; }

    /// <summary>K (seconds) of the current epoch (§4.2 Figure 2).</summary>
    public double K { get; private set; }

    /// <summary>cwnd_epoch (segments): cwnd when the current epoch began.</summary>
    public double CwndEpoch { get; private set; }

    /// <summary>W_est (segments): the Reno window estimate of the Reno-friendly region (§4.3).</summary>
    public double WEst { get; private set; }

    /// <summary>t_epoch: when the current congestion-avoidance stage began; null between a congestion event and
    /// the first ACK of congestion avoidance after it.</summary>
    public Instant? EpochStart
    {
        get => _hasEpoch ? _epochStart : null;
        private set
        {
            _hasEpoch = value.HasValue;
            _epochStart = value.GetValueOrDefault();
        }
    }

    // EpochStart and MinRtt without Nullable<T> padding: 16 bytes less per connection.
    private Instant _epochStart;
    private bool _hasEpoch;
    private long _minRttTicks = -1;

    /// <summary>The smallest RTT sample seen; the "+ RTT" of the target (§4.2) uses it, as Linux does.</summary>
    public TimeSpan? MinRtt
    {
        get => _minRttTicks < 0 ? null : TimeSpan.FromTicks(_minRttTicks);
        private set => _minRttTicks = value is { } v ? v.Ticks : -1;
    }

    public void Initialize(int mss, Instant now)
    {
        CongestionControl.CheckMss(mss);
        _mss = mss;
        _cwnd = CongestionControl.InitialWindowSegments * mss;
        _cwndFraction = 0;
        Ssthresh = int.MaxValue;
        WMax = 0;
        CwndPrior = 0;
        K = 0;
        CwndEpoch = 0;
        WEst = 0;
        EpochStart = null;
        MinRtt = null;
        _inTimeoutBackoff = false;
        _afterTimeout = false;
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

    public void OnAck(int bytesAcked, int bytesInFlight, TimeSpan? rttSample, Instant now)
    {
        if (rttSample is { } rtt && rtt >= TimeSpan.Zero && (MinRtt is not { } min || rtt < min))
        {
            MinRtt = rtt;
        }

        if (bytesAcked <= 0)
        {
            return;
        }

        _inTimeoutBackoff = false;
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
        CwndPrior = cwndSegments;
        Ssthresh = ReducedThreshold(bytesInFlight);
        _cwnd = Ssthresh;
        _cwndFraction = 0;
        // The epoch starts at the first ACK of the congestion-avoidance stage that follows (§4.2 t_epoch).
        EpochStart = null;
        _afterTimeout = false;
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
        if (!_inTimeoutBackoff)
        {
            CwndPrior = (double)_cwnd / _mss;
            Ssthresh = ReducedThreshold(bytesInFlight);
            _inTimeoutBackoff = true;
        }

        _cwnd = _mss;
        _cwndFraction = 0;
        // §4.8: the first congestion-avoidance stage after a timeout uses K = 0 and W_max = cwnd_epoch, and
        // W_est starts there too; StartEpoch applies this.
        EpochStart = null;
        _afterTimeout = true;
    }

    public void OnMssChanged(int mss)
    {
        CongestionControl.CheckMss(mss);
        _cwnd = CongestionControl.Rescale(_cwnd, _mss, mss);
        Ssthresh = Ssthresh == int.MaxValue ? int.MaxValue : Math.Max(CongestionControl.Rescale(Ssthresh, _mss, mss), 2 * mss);
        _cwndFraction = 0;
        _mss = mss;
    }

    private void StartEpoch(Instant now)
    {
        EpochStart = now;
        CwndEpoch = (double)_cwnd / _mss;
        if (_afterTimeout)
        {
            // RFC 9438 §4.8.
            WMax = CwndEpoch;
            _afterTimeout = false;
        }
        else if (WMax < CwndEpoch)
        {
            // No plateau above us (no congestion event yet, or cwnd was raised past it): grow convexly from here.
            WMax = CwndEpoch;
        }

        K = ComputeK(WMax, CwndEpoch);
        // RFC 9438 §4.3: "W_est is set equal to cwnd_epoch at the start of the congestion avoidance stage".
        WEst = CwndEpoch;
        _cwndFraction = 0;
    }

    private int ReducedThreshold(int bytesInFlight) =>
        (int)Math.Max(Math.Max(bytesInFlight, 0) * BetaCubic, 2.0 * _mss);
}
