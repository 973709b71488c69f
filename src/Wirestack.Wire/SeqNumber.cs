namespace Wirestack.Wire;

/// <summary>A TCP sequence number. RFC 9293 §3.4: arithmetic is modulo 2^32, and comparisons are made on the
/// signed difference, which is valid while the two numbers are less than 2^31 apart.</summary>
public readonly record struct SeqNumber(uint Value) : IComparable<SeqNumber>
{
    public static SeqNumber operator +(SeqNumber s, int n) => new(unchecked(s.Value + (uint)n));
    public static SeqNumber operator +(SeqNumber s, uint n) => new(unchecked(s.Value + n));
    public static SeqNumber operator -(SeqNumber s, int n) => new(unchecked(s.Value - (uint)n));

    /// <summary>The signed distance from <paramref name="b"/> to <paramref name="a"/>.</summary>
    public static int operator -(SeqNumber a, SeqNumber b) => unchecked((int)(a.Value - b.Value));

    public static bool operator <(SeqNumber a, SeqNumber b) => a - b < 0;
    public static bool operator >(SeqNumber a, SeqNumber b) => a - b > 0;
    public static bool operator <=(SeqNumber a, SeqNumber b) => a - b <= 0;
    public static bool operator >=(SeqNumber a, SeqNumber b) => a - b >= 0;

    public static SeqNumber Max(SeqNumber a, SeqNumber b) => a >= b ? a : b;
    public static SeqNumber Min(SeqNumber a, SeqNumber b) => a <= b ? a : b;

    /// <summary>low &lt;= this &lt; high, in sequence space.</summary>
    public bool InRange(SeqNumber low, SeqNumber high) => this - low >= 0 && this - high < 0;

    public int CompareTo(SeqNumber other) => this - other;

    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
