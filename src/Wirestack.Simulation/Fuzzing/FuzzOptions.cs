namespace Wirestack.Simulation.Fuzzing;

/// <summary>
/// Stack bugs the fuzzer has found. While one is reported and not yet fixed, the suite's fuzz test may tolerate it
/// (so that it keeps guarding everything else) and its regression test is skipped; when the stack is fixed, remove
/// the flag from <see cref="FuzzOptions.Suite"/> and un-skip the test. Every bug listed here is fixed today.
/// </summary>
[Flags]
public enum KnownStackBug
{
    None = 0,

    /// <summary>A data segment whose sequence number is exactly RCV.NXT + 2^31 passes the acceptability test
    /// (the int distance wraps) and then throws ArgumentOutOfRangeException in AcceptText. Tolerated by not
    /// generating that exact number.</summary>
    HalfSpaceSequenceCrash = 1 << 0,

    /// <summary>Entering TIME-WAIT (FIN-WAIT-2/CLOSING + FIN) or CLOSED (LAST-ACK + ACK of our FIN) releases the
    /// receive queue: data acknowledged to the peer and not yet read by a user who only shut down sending is lost.</summary>
    UnreadDataDiscardedOnClose = 1 << 1,

    /// <summary>A FIN at RCV.NXT after the peer's FIN (CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT via the general
    /// path) advances RCV.NXT again, so the stack acknowledges a sequence number the peer never sent.</summary>
    SecondFinAdvancesRcvNxt = 1 << 2,

    /// <summary>close() on a connection already in FIN-WAIT-2 (after shutdown(SHUT_WR)) arms no FIN-WAIT-2 timeout:
    /// if the peer never sends its FIN the orphan stays forever (the timeout is armed only on the FIN-WAIT-1 to
    /// FIN-WAIT-2 transition of a connection that is already an orphan).</summary>
    OrphanFinWait2NeverTimesOut = 1 << 3,

    /// <summary>Data (or a FIN) is queued, nothing is in flight, the window is open but smaller than both the MSS
    /// and half the largest window the peer offered: sender-side SWS avoidance holds the data and no timer (RFC
    /// 9293 §3.8.6.2.1 override timeout, or a persist probe as Linux arms) is running, so nothing ever sends it.</summary>
    StalledSenderWithoutTimer = 1 << 4,

    /// <summary>close() or shutdown(SHUT_WR) in SYN-RECEIVED (a simultaneous open) queues the FIN but never enters
    /// FIN-WAIT-1: the connection later goes ESTABLISHED and CLOSE-WAIT as if open, and an orphan stays forever.</summary>
    CloseInSynReceivedIgnored = 1 << 5,

    /// <summary>In CLOSING (and other states outside the persist timer's list) with a zero send window and data
    /// unsent, the persist timer resets its probe count on every expiry instead of probing and giving up: an
    /// orphan lives forever.</summary>
    PersistNeverGivesUpInClosing = 1 << 6,

    /// <summary>After a retransmission timeout, go-back-N (SendOne) trusts the SACK scoreboard at SND.UNA and applies
    /// sender SWS avoidance to what is left: when SND.UNA itself is marked SACKed (a receiver that reneged, or lied)
    /// or the hole there is shorter than the MSS (bounded by SACKed data above it), nothing is retransmitted; every
    /// timeout backs off without sending and the connection stalls until tcp_retries2 ends it. RFC 2018 §8: the left
    /// edge MUST be retransmitted after a timeout, SACKed or not. Seen as the hangs of the soak (seed 002).</summary>
    RtoDoesNotRetransmitLeftEdge = 1 << 7,
}

/// <summary>How a fuzz run judges the stack.</summary>
public sealed record FuzzOptions
{
    /// <summary>Every invariant, nothing tolerated.</summary>
    public static FuzzOptions Strict { get; } = new();

    /// <summary>What the test suite runs: every invariant, nothing tolerated (every bug the fuzzer found is fixed;
    /// a new one gets a flag here only while it is reported and not yet fixed).</summary>
    public static FuzzOptions Suite { get; } = new();

    public KnownStackBug Tolerate { get; init; }

    /// <summary>User calls also set the Linux socket options that change when and what TCP sends (TCP_CORK,
    /// TCP_NODELAY, TCP_LINGER2, TCP_NOTSENT_LOWAT, TCP_DEFER_ACCEPT on the listener, send with MSG_MORE). Off by default so that the
    /// steps of <see cref="Strict"/> and <see cref="Suite"/> runs, and the AFL inputs recorded from them, stay what
    /// they were.</summary>
    public bool SocketOptions { get; init; }

    /// <summary><see cref="Suite"/> with <see cref="SocketOptions"/>.</summary>
    public static FuzzOptions WithSocketOptions { get; } = new() { SocketOptions = true };

    public bool Tolerates(KnownStackBug bug) => (Tolerate & bug) != 0;
}
