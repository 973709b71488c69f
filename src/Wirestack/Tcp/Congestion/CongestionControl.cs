namespace Wirestack.Tcp.Congestion;

/// <summary>Creates congestion controllers by their Linux names (<c>net.ipv4.tcp_congestion_control</c>).</summary>
public static class CongestionControl
{
    /// <summary>The default, as on Linux.</summary>
    public const string DefaultName = Cubic.AlgorithmName;

    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> AvailableNames { get; } = [Cubic.AlgorithmName, NewReno.AlgorithmName, "newreno"];

    /// <summary>Returns a new controller: "cubic", or "reno" / "newreno" (case-insensitive).</summary>
    /// <exception cref="ArgumentException">The name is not one of <see cref="AvailableNames"/>.</exception>
    public static ICongestionController Create(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Equals(Cubic.AlgorithmName, StringComparison.OrdinalIgnoreCase))
        {
            return new Cubic();
        }

        if (name.Equals(NewReno.AlgorithmName, StringComparison.OrdinalIgnoreCase)
            || name.Equals("newreno", StringComparison.OrdinalIgnoreCase))
        {
            return new NewReno();
        }

        throw new ArgumentException($"unknown congestion control '{name}' (available: cubic, reno, newreno)", nameof(name));
    }

    /// <summary>The largest window any controller grows to (1 GiB, the largest RFC 7323 window).</summary>
    public const int MaxWindow = 1 << 30;

    /// <summary>RFC 9293 §3.7.1: the default send MSS when none was negotiated.</summary>
    internal const int DefaultMss = 536;

    /// <summary>RFC 6928 §2 as Linux applies it (<c>TCP_INIT_CWND</c> = 10): IW = 10 * SMSS.</summary>
    internal const int InitialWindowSegments = 10;

    /// <summary>
    /// Slow start, RFC 5681 §3.1 eq. 2 with RFC 3465 §2.2 appropriate byte counting and L = 2 * SMSS:
    /// cwnd += min(N, L). Growth stops at ssthresh, where congestion avoidance takes over.
    /// </summary>
    internal static int SlowStart(int cwnd, int ssthresh, int bytesAcked, int mss)
    {
        long grown = (long)cwnd + Math.Min(bytesAcked, 2 * mss);
        return (int)Math.Min(grown, Math.Min(ssthresh, MaxWindow));
    }

    /// <summary>A byte count that means "so many segments" re-expressed for a new MSS, never below one segment
    /// (windows are segment counts on Linux, so a path-MTU change keeps the count).</summary>
    internal static int Rescale(int bytes, int oldMss, int newMss)
    {
        if (bytes == int.MaxValue || oldMss == newMss)
        {
            return bytes;
        }

        long scaled = (long)bytes * newMss / oldMss;
        return (int)Math.Clamp(scaled, newMss, MaxWindow);
    }

    internal static void CheckMss(int mss)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(mss);
    }
}
