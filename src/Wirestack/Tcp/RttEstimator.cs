namespace Wirestack.Tcp;

/// <summary>
/// The retransmission timer's estimator, RFC 6298: smoothed round-trip time, its variation, and the
/// retransmission timeout derived from them, with exponential backoff on consecutive timeouts (§5.5).
/// </summary>
/// <remarks>
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

    private sealed record Limits(TimeSpan Initial, TimeSpan Min, TimeSpan Max);

    private static Limits? s_lastLimits;

    /// <param name="initialRto">RTO before any sample (RFC 6298 §2.1; Linux and the RFC use 1 s).</param>
    /// <param name="minRto">Lower clamp (RFC 6298 §2.4 says 1 s; Linux uses 200 ms).</param>
    /// <param name="maxRto">Upper clamp (RFC 6298 §2.5: at least 60 s; Linux uses 120 s).</param>
    public RttEstimator(TimeSpan initialRto, TimeSpan minRto, TimeSpan maxRto)
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
        if (shared is null || shared.Initial != initialRto || shared.Min != minRto || shared.Max != maxRto)
        {
            s_lastLimits = shared = new Limits(initialRto, minRto, maxRto);
        }

        _limits = shared;
        Rto = Clamp(initialRto);
    }

    // The four optional durations below are kept as ticks, NoSample (negative: samples never are) meaning none,
    // so an estimator (one per connection) is 32 bytes smaller than with TimeSpan? fields.
    private const long NoSample = -1;
    private long _srtt = NoSample;
    private long _rttvar = NoSample;
    private long _latest = NoSample;
    private long _min = NoSample;

    /// <summary>SRTT; null until the first sample.</summary>
    public TimeSpan? SmoothedRtt { get => Get(_srtt); private set => _srtt = Set(value); }

    /// <summary>RTTVAR; null until the first sample.</summary>
    public TimeSpan? RttVariance { get => Get(_rttvar); private set => _rttvar = Set(value); }

    /// <summary>The most recent sample.</summary>
    public TimeSpan? LatestRtt { get => Get(_latest); private set => _latest = Set(value); }

    /// <summary>The smallest sample seen (CUBIC and RACK-style consumers use it).</summary>
    public TimeSpan? MinRtt { get => Get(_min); private set => _min = Set(value); }

    private static TimeSpan? Get(long ticks) => ticks < 0 ? null : TimeSpan.FromTicks(ticks);

    private static long Set(TimeSpan? value) => value is { } v ? v.Ticks : NoSample;

    /// <summary>Samples taken so far.</summary>
    public long SampleCount { get; private set; }

    /// <summary>The base RTO (no backoff), clamped to [minRto, maxRto].</summary>
    public TimeSpan Rto { get; private set; }

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
    public void AddSample(TimeSpan rtt)
    {
        if (rtt < TimeSpan.Zero)
        {
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

        // RFC 6298 §2.2/§2.3: RTO <- SRTT + max(G, K * RTTVAR); §2.4/§2.5: clamp to [min, max].
        long variance = Math.Max(ClockGranularity.Ticks, K * RttVariance!.Value.Ticks);
        Rto = Clamp(TimeSpan.FromTicks(SmoothedRtt!.Value.Ticks + variance));

        LatestRtt = rtt;
        MinRtt = MinRtt is { } min && min <= rtt ? min : rtt;
        SampleCount++;
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
        SmoothedRtt = null;
        RttVariance = null;
        LatestRtt = null;
        MinRtt = null;
        SampleCount = 0;
        Backoff = 0;
        Rto = Clamp(_limits.Initial);
    }

    private TimeSpan Clamp(TimeSpan rto) => rto < _limits.Min ? _limits.Min : rto > _limits.Max ? _limits.Max : rto;
}
