using Wirestack.Diagnostics;
using Wirestack.Wire;

namespace Wirestack.Tcp.Congestion;

/// <summary>
/// What the connection knows about an ACK beyond the window arithmetic, for a controller that needs it (CUBIC's
/// HyStart, Linux tcp_cubic hystart_update: the round is delimited in sequence space, and the ACK-train threshold
/// depends on the pacing rate and the GSO size). <c>default</c> means "not known": such a controller then only does
/// the window arithmetic. A struct passed by reference: nothing is allocated per ACK.
/// </summary>
public readonly struct AckContext
{
    /// <param name="sndUna">SND.UNA after this ACK.</param>
    /// <param name="sndNxt">The highest sequence sent + 1 (Linux's tp->snd_nxt, which retransmissions do not move:
    /// the connection's SND.MAX).</param>
    /// <param name="pacingRate">The pacing rate in bytes per second as Linux computes it even without a pacing qdisc
    /// (tcp_update_pacing_rate, sk_pacing_rate); 0 when there is none yet. The connection works it out only in slow
    /// start, the only time HyStart uses it, and passes 0 otherwise.</param>
    /// <param name="gsoMaxSize">The largest segment the route sends at once, in bytes (Linux sk_gso_max_size); likewise
    /// only in slow start.</param>
    /// <param name="counters">Where the controller counts what it detects (Linux NET_INC_STATS), if anywhere.</param>
    public AckContext(SeqNumber sndUna, SeqNumber sndNxt, long pacingRate, int gsoMaxSize, TcpCounters? counters)
    {
        SndUna = sndUna;
        SndNxt = sndNxt;
        PacingRate = pacingRate;
        GsoMaxSize = gsoMaxSize;
        Counters = counters;
        IsKnown = true;
    }

    /// <summary>False for <c>default</c>: the connection told nothing.</summary>
    public bool IsKnown { get; }

    public SeqNumber SndUna { get; }

    public SeqNumber SndNxt { get; }

    public long PacingRate { get; }

    public int GsoMaxSize { get; }

    public TcpCounters? Counters { get; }
}
