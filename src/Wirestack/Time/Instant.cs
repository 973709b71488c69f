namespace Wirestack.Time;

/// <summary>A point on a stack's monotonic clock, in microseconds since an arbitrary origin.</summary>
/// <remarks>Protocol code never reads a clock: it is handed an <see cref="Instant"/> on every entry.</remarks>
public readonly record struct Instant(long Microseconds) : IComparable<Instant>
{
    public static readonly Instant Zero = new(0);
    public static readonly Instant MaxValue = new(long.MaxValue);

    public static Instant FromMilliseconds(long ms) => new(ms * 1000);
    public static Instant FromSeconds(double s) => new((long)(s * 1_000_000));

    public double TotalSeconds => Microseconds / 1_000_000.0;
    public long TotalMilliseconds => Microseconds / 1000;

    public static Instant operator +(Instant instant, TimeSpan delta) => new(instant.Microseconds + (long)delta.TotalMicroseconds);
    public static Instant operator -(Instant instant, TimeSpan delta) => new(instant.Microseconds - (long)delta.TotalMicroseconds);
    public static TimeSpan operator -(Instant later, Instant earlier) => TimeSpan.FromMicroseconds(later.Microseconds - earlier.Microseconds);
    public static bool operator <(Instant a, Instant b) => a.Microseconds < b.Microseconds;
    public static bool operator >(Instant a, Instant b) => a.Microseconds > b.Microseconds;
    public static bool operator <=(Instant a, Instant b) => a.Microseconds <= b.Microseconds;
    public static bool operator >=(Instant a, Instant b) => a.Microseconds >= b.Microseconds;

    public static Instant Min(Instant a, Instant b) => a.Microseconds <= b.Microseconds ? a : b;
    public static Instant Max(Instant a, Instant b) => a.Microseconds >= b.Microseconds ? a : b;

    /// <summary>The earlier of two optional deadlines (null means "never").</summary>
    public static Instant? Earliest(Instant? a, Instant? b) =>
        a is null ? b : b is null ? a : Min(a.Value, b.Value);

    public int CompareTo(Instant other) => Microseconds.CompareTo(other.Microseconds);

    public override string ToString() => $"{TotalSeconds:0.000000}s";
}
