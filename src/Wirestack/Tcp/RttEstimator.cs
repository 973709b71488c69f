namespace Wirestack.Tcp;

/// <summary>
/// The retransmission timer's estimator, RFC 6298: smoothed round-trip time, its variation, and the
/// retransmission timeout derived from them, with exponential backoff on consecutive timeouts (§5.5).
/// </summary>
/// <remarks>
/// Two ways to turn samples into a timeout: RFC 6298's (the FreeBSD profile), or Linux's tcp_rtt_estimator and
/// __tcp_set_rto (the Linux profile, <c>linux</c> in the constructor): RTO = SRTT + RTTVAR, where RTTVAR is the
/// largest mean deviation of the last round trip (mdev_max) but never below the minimum RTO, decaying towards it
/// once per round trip, and the RTO is rounded up to whole milliseconds (jiffies). A steady path therefore gets
/// SRTT + 200 ms from Linux, where RFC 6298's SRTT + 4·RTTVAR shrinks to the 200 ms floor.
/// Karn's rule (RFC 6298 §3: no samples from retransmitted segments unless timestamps disambiguate them) is the
/// caller's job: every sample handed to <see cref="AddSample"/> is taken as valid. Arithmetic is on
/// <see cref="TimeSpan"/> ticks (100 ns) with integer division, so results are exact and deterministic.
/// </remarks>
public sealed class RttEstimator
{
    /// <summary>RFC 6298 §2: the clock granularity G. Our clock has microsecond resolution; like Linux we take a
    /// 1 ms floor for the variance term.</summary>
    public static readonly TimeSpan ClockGranularity = TimeSpan.FromMilliseconds(1);

    /// <summary>RFC 6298 §2: K = 4.</summary>
    public const int K = 4;

    // The three limits, shared between estimators made with the same ones (one per connection, nearly always the
    // stack's settings): 16 bytes less per connection than three TimeSpan fields.
    private readonly Limits _limits;

    private sealed record Limits(TimeSpan Initial, TimeSpan Min, TimeSpan Max, bool Linux);

    private static Limits? s_lastLimits;

    /// <param name="initialRto">RTO before any sample (RFC 6298 §2.1; Linux and the RFC use 1 s).</param>
    /// <param name="minRto">Lower clamp (RFC 6298 §2.4 says 1 s; Linux uses 200 ms).</param>
    /// <param name="maxRto">Upper clamp (RFC 6298 §2.5: at least 60 s; Linux uses 120 s).</param>
    /// <param name="linux">Linux's estimator (see the remarks) instead of RFC 6298's.</param>
    public RttEstimator(TimeSpan initialRto, TimeSpan minRto, TimeSpan maxRto, bool linux = false)
    {
        if (minRto <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(minRto), minRto, "minimum RTO must be positive");
        }

        if (maxRto < minRto)
        {
            throw new ArgumentOutOfRangeException(nameof(maxRto), maxRto, "maximum RTO is below the minimum");
        }

        if (initialRto <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(initialRto), initialRto, "initial RTO must be positive");
        }

        Limits? shared = s_lastLimits; // benign race: at worst an estimator gets its own copy
        if (shared is null || shared.Initial != initialRto || shared.Min != minRto || shared.Max != maxRto || shared.Linux != linux)
        {
            s_lastLimits = shared = new Limits(initialRto, minRto, maxRto, linux);
        }

        _limits = shared;
    }

    /// <summary>Whether this is Linux's estimator rather than RFC 6298's.</summary>
    public bool IsLinux => _limits.Linux;

    // The four optional durations below are kept as ticks, NoSample (negative: samples never are) meaning none,
    // so an estimator (one per connection) is 32 bytes smaller than with TimeSpan? fields. Linux's estimator keeps
    // its own units in the first two: _srtt is srtt_us (8 × SRTT in µs) and _rttvar is rttvar_us (µs), with mdev_us,
    // mdev_max_us and rtt_seq beside them; the RTO is worked out when asked (no field), so the object keeps its size.
    private const long NoSample = -1;
    private long _srtt = NoSample;
    private long _rttvar = NoSample;
    private long _latest = NoSample;
    private long _min = NoSample;
    private int _mdevUs;
    private int _mdevMaxUs;
    private uint _rttSeq;
    private int _sampleCount;

    /// <summary>SRTT; null until the first sample.</summary>
    public TimeSpan? SmoothedRtt
    {
        get => _srtt < 0 ? null : _limits.Linux ? TimeSpan.FromTicks(_srtt * TicksPerMicrosecond / 8) : TimeSpan.FromTicks(_srtt);
        private set => _srtt = Set(value);
    }

    /// <summary>RTTVAR; null until the first sample. Linux's is what it reports as tcpi_rttvar: the mean deviation
    /// (mdev_us / 4), not the rttvar_us its RTO adds.</summary>
    public TimeSpan? RttVariance
    {
        get => _rttvar < 0 ? null : _limits.Linux ? TimeSpan.FromTicks((_mdevUs >> 2) * TicksPerMicrosecond) : TimeSpan.FromTicks(_rttvar);
        private set => _rttvar = Set(value);
    }

    private const long TicksPerMicrosecond = TimeSpan.TicksPerMillisecond / 1000;

    /// <summary>The most recent sample.</summary>
    public TimeSpan? LatestRtt { get => Get(_latest); private set => _latest = Set(value); }

    /// <summary>The smallest sample seen (CUBIC and RACK-style consumers use it).</summary>
    public TimeSpan? MinRtt { get => Get(_min); private set => _min = Set(value); }

    private static TimeSpan? Get(long ticks) => ticks < 0 ? null : TimeSpan.FromTicks(ticks);

    private static long Set(TimeSpan? value) => value is { } v ? v.Ticks : NoSample;

    /// <summary>Samples taken so far.</summary>
    public long SampleCount => _sampleCount;

    /// <summary>The base RTO (no backoff), clamped to [minRto, maxRto]: RFC 6298 §2.2-2.5, or Linux's
    /// __tcp_set_rto (SRTT + rttvar_us, rounded up to a millisecond).</summary>
    public TimeSpan Rto
    {
        get
        {
            if (_srtt < 0)
            {
                return Clamp(_limits.Initial);
            }

            if (_limits.Linux)
            {
                long us = (_srtt >> 3) + _rttvar;
                long ms = (us + 999) / 1000; // usecs_to_jiffies, HZ = 1000: rounded up
                return Clamp(TimeSpan.FromMilliseconds(ms));
            }

            // RFC 6298 §2.2/§2.3: RTO <- SRTT + max(G, K * RTTVAR); §2.4/§2.5: clamp to [min, max].
            long variance = Math.Max(ClockGranularity.Ticks, K * _rttvar);
            return Clamp(TimeSpan.FromTicks(_srtt + variance));
        }
    }

    /// <summary>Consecutive retransmission timeouts since the last sample or <see cref="ResetBackoff"/>.</summary>
    public int Backoff { get; private set; }

    /// <summary>RFC 6298 §5.5: the RTO doubled once per consecutive timeout, capped at the maximum RTO.</summary>
    public TimeSpan CurrentRto
    {
        get
        {
            long baseTicks = Rto.Ticks;
            long maxTicks = _limits.Max.Ticks;
            // Doubling Backoff times exceeds the cap once baseTicks > maxTicks >> Backoff; checking that first
            // avoids overflow for any Backoff.
            if (Backoff >= 63 || baseTicks > (maxTicks >> Backoff))
            {
                return _limits.Max;
            }

            return TimeSpan.FromTicks(Math.Min(baseTicks << Backoff, maxTicks));
        }
    }

    public TimeSpan MinimumRto => _limits.Min;

    /// <summary>The RTO before any sample, as given to the constructor.</summary>
    public TimeSpan InitialRto => _limits.Initial;

    public TimeSpan MaximumRto => _limits.Max;

    /// <summary>
    /// Takes a round-trip measurement (RFC 6298 §2.2 for the first, §2.3 for the rest) and recomputes the RTO. A
    /// valid sample also ends the backoff: RFC 6298 §5.7 collapses the backed-off timer once data is newly
    /// acknowledged. Negative samples (a forged or wrapped timestamp echo) are ignored.
    /// </summary>
    public void AddSample(TimeSpan rtt) => AddSample(rtt, default, default);

    /// <summary>
    /// Takes a round-trip measurement taken on an ACK that left SND.UNA at <paramref name="sndUna"/> with
    /// <paramref name="sndNxt"/> the highest sequence sent. RFC 6298 ignores the two; Linux's estimator uses them to
    /// let RTTVAR decay once per round trip (tcp_rtt_estimator's rtt_seq).
    /// </summary>
    public void AddSample(TimeSpan rtt, Wire.SeqNumber sndUna, Wire.SeqNumber sndNxt)
    {
        if (rtt < TimeSpan.Zero)
        {
            return;
        }

        if (_limits.Linux)
        {
            AddLinuxSample(rtt, sndUna.Value, sndNxt.Value);
            return;
        }

        long r = rtt.Ticks;
        if (SmoothedRtt is not { } srtt || RttVariance is not { } rttvar)
        {
            // RFC 6298 §2.2: SRTT <- R, RTTVAR <- R/2.
            SmoothedRtt = rtt;
            RttVariance = TimeSpan.FromTicks(r / 2);
        }
        else
        {
            // RFC 6298 §2.3, alpha = 1/8 and beta = 1/4, RTTVAR first (it uses the old SRTT):
            //   RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|
            //   SRTT   <- (1 - alpha) * SRTT + alpha * R'
            long deviation = Math.Abs(srtt.Ticks - r);
            RttVariance = TimeSpan.FromTicks((3 * rttvar.Ticks + deviation) / 4);
            SmoothedRtt = TimeSpan.FromTicks((7 * srtt.Ticks + r) / 8);
        }

        Sampled(rtt);
    }

    /// <summary>Linux tcp_rtt_estimator, in its integer units (µs; srtt_us is 8 × SRTT, mdev_us 4 × the mean
    /// deviation), so the RTO matches Linux's to the millisecond.</summary>
    private void AddLinuxSample(TimeSpan rtt, uint sndUna, uint sndNxt)
    {
        long m = Math.Max(0, rtt.Ticks / TicksPerMicrosecond);
        int rtoMinUs = (int)Math.Min(_limits.Min.Ticks / TicksPerMicrosecond, int.MaxValue);
        if (_srtt >= 0)
        {
            long srtt = _srtt;
            m -= srtt >> 3;       // m is now the error in the estimate
            srtt += m;            // SRTT = 7/8 SRTT + 1/8 new
            if (m < 0)
            {
                m = -m;
                m -= _mdevUs >> 2;
                // A falling RTT moves mdev with the finer gain alpha·beta (Linux's Eifel-like rule).
                if (m > 0)
                {
                    m >>= 3;
                }
            }
            else
            {
                m -= _mdevUs >> 2;
            }

            _mdevUs = (int)Math.Clamp(_mdevUs + m, 0, int.MaxValue); // mdev = 3/4 mdev + 1/4 new
            if (_mdevUs > _mdevMaxUs)
            {
                _mdevMaxUs = _mdevUs;
                if (_mdevMaxUs > _rttvar)
                {
                    _rttvar = _mdevMaxUs;
                }
            }

            if (unchecked((int)(sndUna - _rttSeq)) > 0)
            {
                // A round trip has passed: rttvar decays a quarter of the way towards this round's mdev_max.
                if (_mdevMaxUs < _rttvar)
                {
                    _rttvar -= (_rttvar - _mdevMaxUs) >> 2;
                }

                _rttSeq = sndNxt;
                _mdevMaxUs = rtoMinUs;
            }

            _srtt = Math.Max(1, srtt);
        }
        else
        {
            _srtt = Math.Max(1, m << 3);                 // the first measurement is the RTT
            _mdevUs = (int)Math.Min(m << 1, int.MaxValue); // so that the RTO is 3 × RTT
            _rttvar = Math.Max(_mdevUs, rtoMinUs);
            _mdevMaxUs = (int)_rttvar;
            _rttSeq = sndNxt;
        }

        Sampled(rtt);
    }

    private void Sampled(TimeSpan rtt)
    {
        LatestRtt = rtt;
        MinRtt = MinRtt is { } min && min <= rtt ? min : rtt;
        _sampleCount++;
        Backoff = 0;
    }

    /// <summary>RFC 6298 §5.5: the retransmission timer expired; back off (doubling saturates at the cap, the
    /// counter at <see cref="int.MaxValue"/>).</summary>
    public void OnTimeout()
    {
        if (Backoff < int.MaxValue)
        {
            Backoff++;
        }
    }

    public void ResetBackoff() => Backoff = 0;

    /// <summary>Forgets every sample (RFC 6298 §5.7 allows this after repeated backoff; a reused control
    /// block needs it).</summary>
    public void Reset()
    {
        _srtt = NoSample;
        _rttvar = NoSample;
        _mdevUs = 0;
        _mdevMaxUs = 0;
        _rttSeq = 0;
        LatestRtt = null;
        MinRtt = null;
        _sampleCount = 0;
        Backoff = 0;
    }

    private TimeSpan Clamp(TimeSpan rto) => rto < _limits.Min ? _limits.Min : rto > _limits.Max ? _limits.Max : rto;
}
