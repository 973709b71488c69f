using Wirestack.Time;

namespace Wirestack.Tcp.Congestion;

/// <summary>
/// A sender's congestion controller: owns cwnd and ssthresh (RFC 5681 §3). All sizes are in bytes. The connection
/// decides when an event happened (loss detection, recovery, Karn's rule) and tells the controller; the controller
/// only does the window arithmetic, so it can be swapped per socket like Linux's <c>TCP_CONGESTION</c>.
/// </summary>
public interface ICongestionController
{
    /// <summary>The Linux name ("reno", "cubic").</summary>
    string Name { get; }

    /// <summary>The congestion window. The connection may set it during recovery (NewReno window inflation,
    /// RFC 6582 §3.2); <see cref="OnRecoveryComplete"/> deflates it again.</summary>
    int Cwnd { get; set; }

    /// <summary>The slow-start threshold; <see cref="int.MaxValue"/> until the first congestion event.</summary>
    int Ssthresh { get; }

    /// <summary>RFC 6928 initial window as Linux applies it: cwnd = 10 * mss; ssthresh = "arbitrarily high"
    /// (RFC 5681 §3.1).</summary>
    void Initialize(int mss, Instant now);

    /// <summary>New data was cumulatively acknowledged outside loss recovery: grow cwnd by slow start
    /// (RFC 5681 §3.1, as Linux or with an RFC 3465 limit L, see <see cref="CongestionControl.SlowStart"/>) or by
    /// congestion avoidance.</summary>
    /// <param name="bytesAcked">Bytes this ACK credits: those newly acknowledged, or (Linux profile) those newly
    /// delivered, not already counted as SACKed or by duplicate ACKs.</param>
    /// <param name="bytesInFlight">Bytes outstanding (FlightSize).</param>
    /// <param name="rttSample">The RTT measured on this ACK, if any (after Karn's rule).</param>
    /// <param name="now">The stack's clock.</param>
    /// <param name="context">What else the connection knows (sequence numbers, pacing rate, GSO size, counters), for
    /// controllers that need it (CUBIC's HyStart); <c>default</c> when nothing is known.</param>
    void OnAck(int bytesAcked, int bytesInFlight, TimeSpan? rttSample, Instant now, in AckContext context = default);

    /// <summary>Fast retransmit / fast recovery is entered (three duplicate ACKs or SACK-detected loss): reduce
    /// ssthresh and set cwnd = ssthresh.</summary>
    void OnCongestionEvent(int bytesInFlight, Instant now);

    /// <summary>Fast recovery ends: cwnd = ssthresh (RFC 6582 §3.2 step 3, "deflate the window").</summary>
    void OnRecoveryComplete(Instant now);

    /// <summary>The congestion event that began the last recovery was spurious (the data was delayed, not lost:
    /// RFC 3522 timestamps or RFC 2883 D-SACKs show it): back to at least the window and threshold from before it
    /// (RFC 9438 §4.9; Linux tcp_undo_cwnd_reduction with the controller's undo_cwnd).</summary>
    void OnSpuriousCongestionEvent(int priorCwnd, int priorSsthresh);

    /// <summary>The retransmission timer expired: reduce ssthresh and set cwnd to the loss window, 1 * SMSS
    /// (RFC 5681 §3.1).</summary>
    void OnRetransmitTimeout(int bytesInFlight, Instant now);

    /// <summary>The sender's MSS changed (path MTU discovery).</summary>
    void OnMssChanged(int mss);

    /// <summary>RFC 5681 §4.1: the application sends again after an idle stretch longer than the retransmission
    /// timeout with nothing in flight, so cwnd no longer reflects the path. As Linux's tcp_cwnd_restart:
    /// ssthresh = max(ssthresh, ¾ cwnd); cwnd halves once per RTO of idle time (after the first), never below the
    /// restart window RW = min(IW, cwnd). See <see cref="CongestionControl.RestartAfterIdle"/>.</summary>
    /// <param name="idle">Time since data was last sent.</param>
    /// <param name="rto">The current retransmission timeout.</param>
    /// <param name="now">The stack's clock.</param>
    void OnIdleRestart(TimeSpan idle, TimeSpan rto, Instant now);

    /// <summary>Data leaves with nothing in flight, <paramref name="idle"/> after data last left (Linux
    /// CA_EVENT_TX_START): the sender was application-limited for that long.</summary>
    void OnTransmitStart(TimeSpan idle, Instant now);
}
