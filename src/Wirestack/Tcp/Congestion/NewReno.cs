using Wirestack.Time;

namespace Wirestack.Tcp.Congestion;

/// <summary>
/// Reno congestion control (RFC 5681) with the NewReno recovery window rules (RFC 6582) and appropriate byte
/// counting (RFC 3465; in slow start only with an ABC limit, else as Linux, see
/// <see cref="CongestionControl.SlowStart"/>). Linux name "reno". The partial-ACK logic of NewReno lives in the connection, which may
/// inflate <see cref="Cwnd"/> during recovery; this class keeps the window arithmetic.
/// </summary>
public sealed class NewReno : ICongestionController
{
    public const string AlgorithmName = "reno";

    private int _mss;
    private int _cwnd;

    // RFC 3465 §2.1: bytes acknowledged during congestion avoidance since cwnd last grew.
    private int _bytesAcked;

    // RFC 5681 §3.1 implementation note: true after a retransmission timeout until new data is acknowledged, so
    // that a repeated timeout of the same data holds ssthresh instead of collapsing it to 2 * SMSS.
    private bool _inTimeoutBackoff;

    // RFC 3465 §2.2 L in segments for slow start; 0: Linux's slow start (CongestionControl.SlowStart).
    private readonly byte _abcLimit;

    /// <summary>A controller with Linux's slow start.</summary>
    public NewReno()
        : this(0)
    {
    }

    /// <summary>A controller whose slow start uses RFC 3465 with L = <paramref name="abcLimit"/> segments, or
    /// Linux's when it is 0 (<see cref="CongestionControl.SlowStart"/>).</summary>
    public NewReno(int abcLimit)
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
        }
    }

    public int Ssthresh { get; private set; }

    /// <summary>The sender MSS the windows are counted in.</summary>
    public int Mss => _mss;

    /// <summary>RFC 3465 L (segments) of slow start; 0: Linux's slow start.</summary>
    public int AbcLimit => _abcLimit;

    /// <summary>True while cwnd &lt; ssthresh (RFC 5681 §3.1).</summary>
    public bool InSlowStart => _cwnd < Ssthresh;

    public void Initialize(int mss, Instant now)
    {
        CongestionControl.CheckMss(mss);
        _mss = mss;
        // RFC 6928 §2 (Linux: 10 segments) and RFC 5681 §3.1: "The initial value of ssthresh SHOULD be set
        // arbitrarily high".
        _cwnd = CongestionControl.InitialWindowSegments * mss;
        Ssthresh = int.MaxValue;
        _bytesAcked = 0;
        _inTimeoutBackoff = false;
    }

    public void OnAck(int bytesAcked, int bytesInFlight, TimeSpan? rttSample, Instant now, in AckContext context = default)
    {
        if (bytesAcked <= 0)
        {
            return;
        }

        _inTimeoutBackoff = false;
        if (_cwnd < Ssthresh)
        {
            // Linux tcp_reno_cong_avoid: "acked = tcp_slow_start(tp, acked); if (!acked) return;": what slow
            // start did not use past ssthresh goes on to congestion avoidance (nothing, with RFC 3465 ABC).
            _cwnd = CongestionControl.SlowStart(_cwnd, Ssthresh, bytesAcked, _mss, _abcLimit, out bytesAcked);
            if (bytesAcked <= 0)
            {
                return;
            }
        }

        // RFC 5681 §3.1 (the byte-counting variant) and RFC 3465 §2.1: once the bytes acknowledged in
        // congestion avoidance reach cwnd, cwnd grows by one SMSS: about one segment per round trip.
        _bytesAcked += bytesAcked;
        if (_bytesAcked >= _cwnd)
        {
            _bytesAcked = Math.Min(_bytesAcked - _cwnd, _cwnd);
            _cwnd = Math.Min(_cwnd + _mss, CongestionControl.MaxWindow);
        }
    }

    public void OnCongestionEvent(int bytesInFlight, Instant now)
    {
        // RFC 5681 §3.2 step 2 (eq. 4): ssthresh = max(FlightSize / 2, 2 * SMSS). RFC 5681 §3.2 step 3 then
        // sets cwnd = ssthresh + 3 * SMSS; that inflation (and the per-dupack one) belongs to the connection,
        // which sees the duplicate ACKs, so the controller leaves cwnd = ssthresh.
        Ssthresh = HalfFlight(bytesInFlight);
        _cwnd = Ssthresh;
        _bytesAcked = 0;
    }

    public void OnSpuriousCongestionEvent(int priorCwnd, int priorSsthresh)
    {
        // Linux: cwnd = the controller's undo_cwnd (the larger of now and before the event), ssthresh raised back.
        _cwnd = Math.Max(_cwnd, priorCwnd);
        Ssthresh = Math.Max(Ssthresh, priorSsthresh);
    }

    public void OnRecoveryComplete(Instant now)
    {
        // RFC 6582 §3.2 step 3, option (2): "Set cwnd to ssthresh".
        _cwnd = Ssthresh;
        _bytesAcked = 0;
    }

    public void OnRetransmitTimeout(int bytesInFlight, Instant now)
    {
        // RFC 5681 §3.1: ssthresh per eq. 4 unless the data already timed out once (then "the value of ssthresh
        // is held constant"); cwnd = the loss window, 1 full-sized segment.
        if (!_inTimeoutBackoff)
        {
            Ssthresh = HalfFlight(bytesInFlight);
            _inTimeoutBackoff = true;
        }

        _cwnd = _mss;
        _bytesAcked = 0;
    }

    public void OnIdleRestart(TimeSpan idle, TimeSpan rto, Instant now)
    {
        (int cwnd, int ssthresh) = CongestionControl.RestartAfterIdle(_cwnd, Ssthresh, _mss, idle, rto);
        _cwnd = cwnd;
        Ssthresh = ssthresh;
    }

    public void OnTransmitStart(TimeSpan idle, Instant now)
    {
        // Reno keeps no clock of its own.
    }

    public void OnMssChanged(int mss)
    {
        CongestionControl.CheckMss(mss);
        _cwnd = CongestionControl.Rescale(_cwnd, _mss, mss);
        Ssthresh = Ssthresh == int.MaxValue ? int.MaxValue : Math.Max(CongestionControl.Rescale(Ssthresh, _mss, mss), 2 * mss);
        _bytesAcked = 0;
        _mss = mss;
    }

    private int HalfFlight(int bytesInFlight) => Math.Max(Math.Max(bytesInFlight, 0) / 2, 2 * _mss);
}
