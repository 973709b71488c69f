namespace Wirestack.Tcp.Congestion;

/// <summary>Creates congestion controllers by their Linux names (<c>net.ipv4.tcp_congestion_control</c>).</summary>
public static class CongestionControl
{
    /// <summary>The default, as on Linux.</summary>
    public const string DefaultName = Cubic.AlgorithmName;

    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> AvailableNames { get; } = [Cubic.AlgorithmName, NewReno.AlgorithmName, "newreno"];

    /// <summary>Returns a new controller: "cubic", or "reno" / "newreno" (case-insensitive).</summary>
    /// <param name="name">The Linux name.</param>
    /// <param name="abcLimit">How slow start counts an ACK (<see cref="SlowStart"/>): 0 as Linux does, or the
    /// RFC 3465 limit L in segments (FreeBSD's <c>net.inet.tcp.abc_l_var</c>, 2).</param>
    /// <param name="hyStart">CUBIC ends slow start by Linux's HyStart (<see cref="Cubic.HyStart"/>).</param>
    /// <exception cref="ArgumentException">The name is not one of <see cref="AvailableNames"/>.</exception>
    public static ICongestionController Create(string name, int abcLimit = 0, bool hyStart = true)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Equals(Cubic.AlgorithmName, StringComparison.OrdinalIgnoreCase))
        {
            return new Cubic(abcLimit, hyStart);
        }

        if (name.Equals(NewReno.AlgorithmName, StringComparison.OrdinalIgnoreCase)
            || name.Equals("newreno", StringComparison.OrdinalIgnoreCase))
        {
            return new NewReno(abcLimit);
        }

        throw new ArgumentException($"unknown congestion control '{name}' (available: cubic, reno, newreno)", nameof(name));
    }

    /// <summary>The largest window any controller grows to (1 GiB, the largest RFC 7323 window).</summary>
    public const int MaxWindow = 1 << 30;

    /// <summary>RFC 9293 §3.7.1: the default send MSS when none was negotiated.</summary>
    internal const int DefaultMss = 536;

    /// <summary>RFC 6928 §2 as Linux applies it (<c>TCP_INIT_CWND</c> = 10): IW = 10 * SMSS.</summary>
    internal const int InitialWindowSegments = 10;

    /// <summary>The most an <c>abcLimit</c> may be (it is kept in a byte).</summary>
    public const int MaxAbcLimit = byte.MaxValue;

    /// <summary>
    /// Slow start below ssthresh (RFC 5681 §3.1), in one of two ways. With <paramref name="abcLimit"/> = 0, as
    /// Linux's tcp_slow_start: cwnd grows by everything the ACK newly delivered (<paramref name="bytesAcked"/>;
    /// the connection passes Linux's tp->delivered delta), without a per-ACK limit, up to ssthresh, and
    /// <paramref name="leftover"/> is what exceeded ssthresh, for congestion avoidance to use on the same ACK
    /// (tcp_slow_start returns it to tcp_reno_cong_avoid / cubictcp_cong_avoid). With <paramref name="abcLimit"/>
    /// L &gt; 0, RFC 3465 §2.2 appropriate byte counting: cwnd += min(N, L * SMSS), up to ssthresh, and nothing
    /// is carried over (FreeBSD's newreno_ack_received, abc_l_var = 2).
    /// </summary>
    internal static int SlowStart(int cwnd, int ssthresh, int bytesAcked, int mss, int abcLimit, out int leftover)
    {
        long limit = Math.Min(ssthresh, MaxWindow);
        if (abcLimit > 0)
        {
            // RFC 3465 §2.2: "cwnd += min (N, L*SMSS)".
            leftover = 0;
            long grown = (long)cwnd + Math.Min(bytesAcked, (long)abcLimit * mss);
            return (int)Math.Min(grown, limit);
        }

        // Linux tcp_slow_start: cwnd = min(cwnd + acked, ssthresh); acked -= the growth; return acked.
        long next = Math.Min((long)cwnd + bytesAcked, limit);
        leftover = (int)Math.Max(0, bytesAcked - Math.Max(0, next - cwnd));
        return (int)Math.Max(next, cwnd);
    }

    /// <summary>
    /// The window after an idle stretch (RFC 5681 §4.1: "TCP SHOULD set cwnd to no more than RW before beginning
    /// transmission if the TCP has not sent data in an interval exceeding the retransmission timeout"), computed as
    /// Linux's tcp_cwnd_restart does (the RFC 2861 decay): RW = min(IW, cwnd); cwnd halves while each further RTO of
    /// the idle time remains and cwnd is above RW, then is at least RW; ssthresh is first raised to
    /// tcp_current_ssthresh, max(ssthresh, ½ cwnd + ¼ cwnd), so slow start climbs back to three quarters of the
    /// window the connection had.
    /// </summary>
    internal static (int Cwnd, int Ssthresh) RestartAfterIdle(int cwnd, int ssthresh, int mss, TimeSpan idle, TimeSpan rto)
    {
        // In segments, as Linux keeps snd_cwnd and snd_ssthresh (a cwnd of 10 segments gives ssthresh 7, not 7.5).
        mss = Math.Max(mss, 1);
        int segments = Math.Max(cwnd / mss, 1);
        int restart = Math.Min(InitialWindowSegments, segments);
        int raised = Math.Max(ssthresh, ((segments >> 1) + (segments >> 2)) * mss);
        long delta = idle.Ticks;
        if (rto > TimeSpan.Zero)
        {
            while ((delta -= rto.Ticks) > 0 && segments > restart)
            {
                segments >>= 1;
            }
        }

        return (Math.Max(segments, restart) * mss, raised);
    }

    internal static byte CheckAbcLimit(int abcLimit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(abcLimit);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(abcLimit, MaxAbcLimit);
        return (byte)abcLimit;
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
