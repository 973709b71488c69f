namespace Wirestack.Tcp;

/// <summary>
/// The stack-wide TCP knobs, named after the Linux sysctls they mirror (<c>net.ipv4.tcp_*</c>, <c>net.core.*</c>).
/// Defaults follow Linux (seed 004) unless a profile says otherwise; sockets may override some per socket.
/// </summary>
public sealed class TcpSettings
{
    /// <summary><c>tcp_syn_retries</c>: SYN retransmissions before connect gives up with ETIMEDOUT (seed 004 §1.3.2).</summary>
    public int SynRetries { get; set; } = 6;

    /// <summary><c>tcp_synack_retries</c>: SYN-ACK retransmissions before a half-open connection is dropped.</summary>
    public int SynAckRetries { get; set; } = 5;

    /// <summary><c>tcp_retries2</c>: data retransmissions (or unanswered probes) before the connection is aborted.</summary>
    public int Retries2 { get; set; } = 15;

    /// <summary><c>tcp_orphan_retries</c> (Linux treats 0 as 8).</summary>
    public int OrphanRetries { get; set; } = 8;

    /// <summary>A cap on the whole connection attempt (FreeBSD's <c>net.inet.tcp.keepinit</c>, 75 s); null: only
    /// <see cref="SynRetries"/> limits it, as in Linux.</summary>
    public TimeSpan? ConnectTimeout { get; set; }

    /// <summary>RFC 6298 §2.1 initial RTO (Linux TCP_TIMEOUT_INIT).</summary>
    public TimeSpan InitialRto { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Linux TCP_RTO_MIN (RFC 6298 §2.4 says 1 s; Linux uses 200 ms).</summary>
    public TimeSpan MinRto { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Linux TCP_RTO_MAX.</summary>
    public TimeSpan MaxRto { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Linux TCP_DELACK_MIN: the delayed-ACK timer.</summary>
    public TimeSpan DelayedAck { get; set; } = TimeSpan.FromMilliseconds(40);

    /// <summary>TIME-WAIT length, 2·MSL (Linux TCP_TIMEWAIT_LEN, 60 s).</summary>
    public TimeSpan TimeWait { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary><c>net.ipv4.tcp_max_tw_buckets</c>: at most this many connections in TIME-WAIT at once; one more
    /// closes at once instead (Linux tcp_time_wait: TCPTimeWaitOverflow, "time wait bucket table overflow"). Linux
    /// sizes it from memory (half its established hash table): 131,072 on the 24 GB machine this was measured on.
    /// Negative values count as 0 (no TIME-WAIT at all).</summary>
    public int MaxTimeWaitBuckets
    {
        get => _maxTimeWaitBuckets;
        set => _maxTimeWaitBuckets = Math.Max(0, value);
    }

    private int _maxTimeWaitBuckets = 131_072;

    /// <summary><c>tcp_fin_timeout</c>: how long an orphaned connection may sit in FIN-WAIT-2.</summary>
    public TimeSpan FinTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary><c>net.core.somaxconn</c>: the cap on a listener's backlog.</summary>
    public int SoMaxConn { get; set; } = 4096;

    /// <summary><c>tcp_max_syn_backlog</c>.</summary>
    public int MaxSynBacklog { get; set; } = 4096;

    /// <summary><c>tcp_abort_on_overflow</c>: reset (true) instead of ignoring the final ACK when the accept queue is full.</summary>
    public bool AbortOnOverflow { get; set; }

    /// <summary><c>tcp_syncookies</c>: 0 never, 1 when the SYN queue overflows (default), 2 always.</summary>
    public int SynCookies { get; set; } = 1;

    /// <summary><c>tcp_rfc1337</c>-style TIME-WAIT assassination protection (RFC 1337): RST in TIME-WAIT is ignored.</summary>
    public bool Rfc1337 { get; set; } = true;

    /// <summary><c>tcp_sack</c>.</summary>
    public bool Sack { get; set; } = true;

    /// <summary><c>tcp_timestamps</c>.</summary>
    public bool Timestamps { get; set; } = true;

    /// <summary><c>tcp_window_scaling</c>.</summary>
    public bool WindowScaling { get; set; } = true;

    /// <summary><c>tcp_congestion_control</c>: "cubic" (default) or "reno".</summary>
    public string CongestionControl { get; set; } = "cubic";

    /// <summary><c>tcp_rmem</c>[1]: a TCP socket's default receive buffer.</summary>
    public int ReceiveBufferDefault { get; set; } = 131072;

    /// <summary><c>tcp_rmem</c>[2].</summary>
    public int ReceiveBufferMax { get; set; } = 6291456;

    /// <summary><c>tcp_wmem</c>[1]: a TCP socket's default send buffer.</summary>
    public int SendBufferDefault { get; set; } = 16384;

    /// <summary><c>tcp_wmem</c>[2].</summary>
    public int SendBufferMax { get; set; } = 4194304;

    /// <summary><c>net.core.rmem_max</c>: the most setsockopt(SO_RCVBUF) may ask for (before doubling).</summary>
    public int CoreReceiveBufferMax { get; set; } = 212992;

    /// <summary><c>net.core.wmem_max</c>.</summary>
    public int CoreSendBufferMax { get; set; } = 212992;

    /// <summary><c>tcp_keepalive_time</c>, <c>tcp_keepalive_intvl</c>, <c>tcp_keepalive_probes</c>.</summary>
    public TimeSpan KeepAliveTime { get; set; } = TimeSpan.FromSeconds(7200);
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(75);
    public int KeepAliveProbes { get; set; } = 9;

    /// <summary><c>tcp_challenge_ack_limit</c>: challenge ACKs per second, stack-wide (RFC 5961 §7).</summary>
    public int ChallengeAckLimit { get; set; } = 1000;

    /// <summary><c>tcp_min_snd_mss</c>: the floor on a peer's MSS.</summary>
    public int MinSendMss { get; set; } = 48;

    /// <summary>Linux <c>ip_local_port_range</c>.</summary>
    public int EphemeralLow { get; set; } = 32768;
    public int EphemeralHigh { get; set; } = 60999;

    /// <summary>Most connection attempts in SYN-SENT at once (seed 000: Windows XP's 10 half-open limit); 0 means
    /// no limit. Attempts beyond it wait in order, or fail with <see cref="HalfOpenFailFast"/>.</summary>
    public int HalfOpenLimit { get; set; }

    /// <summary>Fail (ENOBUFS) instead of queueing an attempt over <see cref="HalfOpenLimit"/>.</summary>
    public bool HalfOpenFailFast { get; set; }

    /// <summary>Caps every socket's send and receive buffer (Tor's ConstrainedSockets, seed 000); 0: no cap.</summary>
    public int ConstrainedSocketBuffer { get; set; }

    /// <summary>Socket buffers grow and shrink in chunks of this many bytes. Every established connection may always
    /// hold one chunk of each buffer, even when the stack's budget is spent, so that one greedy peer cannot starve
    /// the rest (seed 000): the per-connection reserve.</summary>
    public int SocketChunkSize { get; set; } = 16384;

    /// <summary>BSD socket buffers (FreeBSD): SO_RCVBUF/SO_SNDBUF are taken as given (not doubled) and all of the
    /// buffer holds data; when the connection is established both grow to a multiple of the MSS (tcp_mss:
    /// roundup(sb_hiwat, mss), at most sb_max); and a segment is acceptable anywhere in the free receive space even
    /// beyond the window last advertised (tcp_input: rcv_wnd = max(sbspace, rcv_adv - rcv_nxt)). The maxima are
    /// <see cref="ReceiveBufferMax"/> and <see cref="SendBufferMax"/> (kern.ipc.maxsockbuf).</summary>
    public bool BsdSocketBuffers { get; set; }

    /// <summary>SYN and SYN-ACK options in FreeBSD's order (tcp_addoptions: mss, nop+wscale, sackOK, TS, padded with
    /// EOL) instead of Linux's (mss, sackOK+TS, nop+wscale).</summary>
    public bool BsdSynOptionLayout { get; set; }

    /// <summary>Linux tcp_sequence accepts an empty segment exactly at the right edge of the receive window
    /// (SEG.SEQ = RCV.NXT + RCV.WND), one more than RFC 9293 allows; FreeBSD does not.</summary>
    public bool AcceptEmptySegmentAtRightEdge { get; set; } = true;

    /// <summary><c>tcp_early_retrans</c> 3 or 4 (Linux's default): the tail loss probe of RFC 8985 §7 (TLP) on
    /// connections with SACK. FreeBSD's default stack has none.</summary>
    public bool TailLossProbe { get; set; } = true;

    /// <summary>RFC 8985 §7.2 WCDelAckT, the worst-case delayed-ACK time added to the probe timeout when one segment
    /// is in flight (Linux adds TCP_RTO_MIN, 200 ms, the old TCP_DELACK_MAX).</summary>
    public TimeSpan WorstCaseDelayedAck { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>FreeBSD's net.inet.tcp.rexmit_slop: added to every retransmission timeout once it backs off or comes
    /// from RTT samples (TCPT_RANGESET); zero in Linux.</summary>
    public TimeSpan RetransmitSlop { get; set; }

    /// <summary>How slow start counts an ACK. 0 (Linux): cwnd grows by the data the ACK newly delivered, counting
    /// neither bytes already SACKed nor segments already announced by duplicate ACKs, with no per-ACK limit
    /// (tcp_slow_start with tp->delivered). L &gt; 0 (FreeBSD's net.inet.tcp.abc_l_var, 2): RFC 3465 §2.2, cwnd
    /// grows by the bytes the ACK covers, at most L * SMSS.</summary>
    public int AbcLimit { get; set; }

    /// <summary>CUBIC ends slow start early by Linux's HyStart (tcp_cubic module parameter hystart = 1, the default;
    /// <see cref="Congestion.Cubic"/>). FreeBSD's cubic has none.</summary>
    public bool HyStart { get; set; } = true;

    /// <summary>The retransmission timeout as Linux computes it (tcp_rtt_estimator, __tcp_set_rto: SRTT plus a
    /// variance term never below the minimum RTO, in whole milliseconds); false: RFC 6298 §2 (FreeBSD's way).
    /// See <see cref="RttEstimator"/>.</summary>
    public bool LinuxRttEstimator { get; set; } = true;

    /// <summary>SACK loss recovery paces its sending by RFC 6937's proportional rate reduction, as Linux does
    /// (tcp_cwnd_reduction, PRR-SSRB): cwnd falls to ssthresh over the recovery instead of at once. False: RFC
    /// 6675's cwnd = ssthresh at the start.</summary>
    public bool ProportionalRateReduction { get; set; } = true;

    /// <summary><c>tcp_notsent_lowat</c>: the most written data that may wait unsent before a write blocks (and the
    /// socket is writable only below half of it); int.MaxValue, Linux's 4294967295, is unlimited. TCP_NOTSENT_LOWAT
    /// sets it per socket.</summary>
    public int NotSentLowWatermark { get; set; } = int.MaxValue;

    /// <summary><c>tcp_slow_start_after_idle</c> (1 in Linux, the default; FreeBSD's cc_after_idle does the same):
    /// a connection that has sent nothing for longer than its RTO, with nothing in flight, restarts from the restart
    /// window when the application writes again (RFC 5681 §4.1).</summary>
    public bool SlowStartAfterIdle { get; set; } = true;

    /// <summary>Linux's TSO deferral (tcp_tso_should_defer): when the windows let out less than a full large segment
    /// (<c>tcp_tso_autosize</c>'s size) and less than a <see cref="TsoWinDivisor"/>-th of the window, while the
    /// oldest data in flight has waited more than half an SRTT (so the next ACK is near) and the last transmit was
    /// within a millisecond, new data waits for that ACK and leaves in one larger burst. Only on a route that takes
    /// large segments (a device with <see cref="Links.ILinkDevice.GsoMaxSize"/>), as Linux only for a socket that can
    /// use GSO. False: new data leaves as soon as the windows allow (FreeBSD's tcp_output).</summary>
    public bool TsoDeferral { get; set; } = true;

    /// <summary><c>tcp_tso_win_divisor</c> (3): the fraction of the window that, once the windows allow it, is sent
    /// without deferring; 0 instead sends when more than three segments' worth is allowed.</summary>
    public int TsoWinDivisor { get; set; } = 3;

    /// <summary>FreeBSD's defaults, as its scripts and seed 004 §1.3.2 expect (75 s connect timeout).</summary>
    public static TcpSettings FreeBsd() => new()
    {
        ConnectTimeout = TimeSpan.FromSeconds(75),
        SynRetries = 12,
        MinRto = TimeSpan.FromMilliseconds(30),
        MaxRto = TimeSpan.FromSeconds(64),                // TCPTV_REXMTMAX
        RetransmitSlop = TimeSpan.FromMilliseconds(200),  // net.inet.tcp.rexmit_slop
        AbcLimit = 2,                                     // net.inet.tcp.abc_l_var (net.inet.tcp.rfc3465 = 1)
        HyStart = false,                                  // cc_cubic: no HyStart
        DelayedAck = TimeSpan.FromMilliseconds(40),
        TimeWait = TimeSpan.FromSeconds(60),
        CongestionControl = "reno",
        SoMaxConn = 128,
        SendBufferDefault = 32768,                        // net.inet.tcp.sendspace
        ReceiveBufferDefault = 65536,                     // net.inet.tcp.recvspace
        ReceiveBufferMax = 2097152,                       // kern.ipc.maxsockbuf (sb_max): also sizes the window scale
        SendBufferMax = 2097152,
        BsdSocketBuffers = true,
        BsdSynOptionLayout = true,
        AcceptEmptySegmentAtRightEdge = false,
        TailLossProbe = false,                            // TLP only in the RACK stack (net.inet.tcp.functions_default=freebsd)
        LinuxRttEstimator = false,                        // tcp_xmit_timer: RFC 6298's SRTT + 4 RTTVAR
        ProportionalRateReduction = false,                // net.inet.tcp.do_prr: left at RFC 6675 here
        TsoDeferral = false,                              // tcp_output sends what the window allows
    };

    /// <summary>A copy, so a profile can be adjusted without touching the original.</summary>
    public TcpSettings Clone() => (TcpSettings)MemberwiseClone();
}
