// A TCP connection's control block. Read first: RFC 9293 (§3.3 state machine, §3.4 sequence numbers, §3.10 event
// processing), RFC 7323 (window scale, timestamps, PAWS), RFC 2018 / RFC 6675 (SACK and loss recovery), RFC 5681 /
// RFC 6582 (congestion control, NewReno), RFC 6298 (RTO), RFC 5961 (blind-attack defences), RFC 1122 §4.2.3.6
// (keep-alive), RFC 5482 (user timeout). The class is split by concern: this file holds state and the user calls;
// .Receive.cs segment arrival; .Send.cs output and retransmission; .LossProbe.cs the tail loss probe (RFC 8985 §7);
// .Timers.cs the timers.
using System.Net.Sockets;
using Wirestack.Buffers;
using Wirestack.IP;
using Wirestack.Tcp.Congestion;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tcp;

/// <summary>One TCP connection (RFC 9293 §3.3.1 TCB). Single-threaded: called under the stack's lock.</summary>
public sealed partial class TcpConnection : ITimerCallback
{
    private readonly TcpLayer _layer;
    private readonly TimerEntry _timer;

    // RFC 9293 §3.3.1 send sequence variables
    private SeqNumber _iss;
    private SeqNumber _sndUna;
    private SeqNumber _sndNxt;
    private SeqNumber _sndMax;      // highest sequence sent + 1 (SND.NXT before a go-back-N retransmission)
    private uint _sndWnd;           // scaled
    private uint _maxSndWnd;
    private SeqNumber _sndWl1;
    private SeqNumber _sndWl2;
    private uint _lastDataSentMs;   // when data last left, or the connection was established: Linux's lsndtime,
                                    // a wrapping millisecond stamp like its jiffies (4 bytes: the object stays in its size)

    // receive sequence variables
    private SeqNumber _irs;
    private SeqNumber _rcvNxt;
    private SeqNumber _rcvAdvertisedEdge; // RCV.NXT + the window last advertised: never moved left (§3.8.6.2.2)

    // negotiated options
    private byte _sndScale;        // RFC 7323 shift counts, 0-14 (bytes: they keep the object in its size class)
    private byte _rcvScale;
    private bool _wsEnabled;
    private bool _tsEnabled;
    private bool _sackEnabled;
    private uint _tsRecent;
    private Instant _tsRecentAge;
    private uint _tsOffset;
    private SeqNumber _lastAckSent;
    private int _peerMss = 536;

    // buffers (taken lazily: an idle connection holds none)
    private ByteQueue? _sendQueue;
    private ByteQueue? _receiveQueue;
    private ReassemblyQueue? _ooo;

    // FIN bookkeeping
    private bool _finQueued;       // the user asked to close the sending side
    private bool _finSent;
    private SeqNumber _finSeq;
    private bool _finReceived;

    public TcpConnection(TcpLayer layer)
    {
        _layer = layer;
        _timer = new TimerEntry(this);
        State = TcpState.Closed;
        ReceiveBufferSize = layer.Settings.ReceiveBufferDefault;
        SendBufferSize = layer.Settings.SendBufferDefault;
        ApplyConstraint();
    }

    public TcpState State { get; private set; }

    public FourTuple Tuple { get; internal set; }

    /// <summary>The listener this connection was born from, until it is accepted.</summary>
    internal TcpListener? Listener { get; set; }

    /// <summary>True once a user holds no reference (closed, or never accepted): the stack owns it.</summary>
    public bool IsOrphan { get; internal set; }

    internal bool InTable { get; set; }

    /// <summary>A connect waiting for a half-open slot (<see cref="TcpSettings.HalfOpenLimit"/>).</summary>
    public bool IsConnectQueued { get; internal set; }

    public IEndpointObserver? Observer { get; set; }

    // ---- socket options -------------------------------------------------------------------------------------

    /// <summary>SO_RCVBUF as getsockopt reports it (doubled when set, as Linux does: seed 004 §2.3).</summary>
    public int ReceiveBufferSize { get; private set; }

    /// <summary>SO_SNDBUF as getsockopt reports it.</summary>
    public int SendBufferSize { get; private set; }

    public bool NoDelay { get; set; }

    /// <summary>TCP_CORK: partial segments of new data are held (full ones still go) until the cork is removed
    /// (<see cref="SetCork"/>), TCP_NODELAY is set (<see cref="PushPending"/>), or, with nothing in flight, the
    /// persist timer sends them after an RTO (Linux's "200 ms ceiling", tcp_check_probe_timer).</summary>
    public bool Cork => _cold?.Cork ?? false;

    /// <summary>Sets or removes TCP_CORK; removing it sends what the cork held, as far as Nagle and the windows
    /// allow (Linux __tcp_sock_set_cork: tcp_push_pending_frames).</summary>
    public void SetCork(bool on, Instant now)
    {
        if (!on && _cold is null)
        {
            return;
        }

        Cold.Cork = on;
        if (!on)
        {
            Output(now);
        }
    }

    /// <summary>Sends what Nagle or the cork is holding, as setting TCP_NODELAY does in Linux
    /// (__tcp_sock_set_nodelay: TCP_NAGLE_PUSH and tcp_push_pending_frames). The push lasts until the next write
    /// (tcp_skb_entail clears TCP_NAGLE_PUSH), so what the window holds back now goes when an ACK opens it; the cork
    /// holds later writes again (tcp(7): TCP_NODELAY "is overridden by TCP_CORK; however, setting this option forces
    /// an explicit flush").</summary>
    public void PushPending(Instant now)
    {
        Cold.NaglePush = true;
        Output(now);
    }

    /// <summary>Partial segments are held now: TCP_CORK, or the output of a MSG_MORE send, and no push pending.</summary>
    private bool Corked => _cold is { } cold && (cold.Cork || cold.CorkThisPush) && !cold.NaglePush;
    public bool KeepAlive { get => _cold?.KeepAlive ?? false; set { if (value || _cold is not null) Cold.KeepAlive = value; } }
    public TimeSpan? KeepIdle { get => _cold?.KeepIdle; set { if (value is not null || _cold is not null) Cold.KeepIdle = value; } }
    public TimeSpan? KeepInterval { get => _cold?.KeepInterval; set { if (value is not null || _cold is not null) Cold.KeepInterval = value; } }
    public int? KeepCount { get => _cold?.KeepCount; set { if (value is not null || _cold is not null) Cold.KeepCount = value; } }

    /// <summary>TCP_USER_TIMEOUT (RFC 5482); zero means the default behaviour.</summary>
    public TimeSpan UserTimeout
    {
        get => _cold?.UserTimeout ?? TimeSpan.Zero;
        set { if (value != TimeSpan.Zero || _cold is not null) Cold.UserTimeout = value; }
    }

    /// <summary>TCP_SYNCNT; null: the stack's <see cref="TcpSettings.SynRetries"/>.</summary>
    public int? SynCount { get => _cold?.SynCount; set { if (value is not null || _cold is not null) Cold.SynCount = value; } }

    /// <summary>SO_LINGER: null off; zero means close sends RST.</summary>
    public TimeSpan? Linger { get => _cold?.Linger; set { if (value is not null || _cold is not null) Cold.Linger = value; } }

    /// <summary>TCP_LINGER2: how long an orphaned connection waits in FIN-WAIT-2 for the peer's FIN. Null: the
    /// stack's <c>tcp_fin_timeout</c>; negative: none at all, the connection is dropped instead (Linux's
    /// <c>tp->linger2 = -1</c>).</summary>
    public TimeSpan? FinWait2Timeout { get => _cold?.Linger2; set { if (value is not null || _cold is not null) Cold.Linger2 = value; } }

    /// <summary>TCP_DEFER_ACCEPT on a listener (its half-open connections inherit it), as Linux keeps it: the number
    /// of SYN-ACK timeouts during which a bare ACK does not complete the handshake (<see cref="DeferAcceptSeconds"/>
    /// converts). 0: off.</summary>
    public int DeferAcceptTimeouts { get => _cold?.DeferAccept ?? 0; set { if (value != 0 || _cold is not null) Cold.DeferAccept = (byte)Math.Clamp(value, 0, 255); } }

    /// <summary>Linux secs_to_retrans (setsockopt TCP_DEFER_ACCEPT): the SYN-ACK timeouts, 1 s doubling up to
    /// 120 s, whose total first reaches <paramref name="seconds"/>; 0 for 0 or less.</summary>
    public static int DeferAcceptTimeoutsFor(int seconds)
    {
        int timeouts = 0;
        if (seconds > 0)
        {
            int timeout = 1, period = 1;
            timeouts = 1;
            while (seconds > period && timeouts < 255)
            {
                timeouts++;
                timeout = Math.Min(timeout * 2, 120);
                period += timeout;
            }
        }

        return timeouts;
    }

    /// <summary>Linux retrans_to_secs (getsockopt TCP_DEFER_ACCEPT): the seconds <paramref name="timeouts"/> SYN-ACK
    /// timeouts span.</summary>
    public static int DeferAcceptSeconds(int timeouts)
    {
        int period = 0;
        if (timeouts > 0)
        {
            int timeout = 1;
            period = 1;
            while (--timeouts > 0)
            {
                timeout = Math.Min(timeout * 2, 120);
                period += timeout;
            }
        }

        return period;
    }

    /// <summary>Linux tcp_fin_time: the FIN-WAIT-2 timeout of an orphan (TCP_LINGER2, else tcp_fin_timeout), never
    /// less than 3.5 RTOs, so that the peer's FIN has time to arrive after a retransmission.</summary>
    private TimeSpan FinWait2Time
    {
        get
        {
            TimeSpan timeout = FinWait2Timeout is { } own && own > TimeSpan.Zero ? own : _layer.Settings.FinTimeout;
            TimeSpan rto = Rtt.CurrentRto;
            TimeSpan floor = 4 * rto - rto / 2;
            return timeout < floor ? floor : timeout;
        }
    }

    // Rarely set state lives in a side object allocated on first use, so an idle connection that never sets an
    // option, fails or is traced does not carry it (about 100 bytes).
    private ColdState? _cold;

    private ColdState Cold => _cold ??= new ColdState();

    private sealed class ColdState
    {
        public bool KeepAlive;
        public int MaxSegmentOption;
        public byte Tos;
        public long TotalRetransmits;
        public TimeSpan? KeepIdle;
        public TimeSpan? KeepInterval;
        public int? KeepCount;
        public TimeSpan UserTimeout;
        public int? SynCount;
        public TimeSpan? Linger;
        public TimeSpan? Linger2;
        public int PrrPriorCwnd;     // RFC 6937 in segments: cwnd when recovery began (Linux prior_cwnd)
        public int PrrDelivered;     // segments delivered to the receiver since (prr_delivered)
        public int PrrOut;           // segments sent since (prr_out)
        public bool UndoActive;      // the recovery's reduction may still be undone (Linux undo_marker set)
        public SeqNumber UndoMarker; // SND.UNA when the recovery began (undo_marker)
        public int UndoRetrans;      // segments retransmitted in it and not yet shown spurious by a D-SACK (undo_retrans)
        public uint RetransStamp;    // TSval of its first retransmission, 0 before one (retrans_stamp)
        public int UndoPriorCwnd;    // cwnd and ssthresh before the reduction (prior_cwnd, prior_ssthresh)
        public int UndoPriorSsthresh;
        public byte DeferAccept;     // TCP_DEFER_ACCEPT, in SYN-ACK timeouts (Linux rskq_defer_accept)
        public bool DeferAcked;      // a bare ACK completed the handshake while deferred (Linux inet_rsk(req)->acked)
        public int NotSentLowat;     // TCP_NOTSENT_LOWAT (0: tcp_notsent_lowat)
        public bool InSend;          // inside Send: its own output raises no readiness (the caller has the count)
        public bool Cork;            // TCP_CORK
        public bool CorkThisPush;    // inside the output of a MSG_MORE send
        public bool NaglePush;       // TCP_NODELAY was set: Nagle and cork are ignored until the next write (TCP_NAGLE_PUSH)
        public bool TailUnpushed;    // the last write was MSG_MORE: the end of the queue is no push point
        public string? ErrorCause;
        public string? LastCallCause;
        public List<TcpTraceEvent>? Trace;
        public TimeWaitViewState? TimeWaitView; // a stand-in for a TIME-WAIT record (TcpConnection.TimeWait.cs)
        public Instant? PersistAt;
        public Instant? KeepAt;
        public Instant? FirstRexmitAt;
        public Instant? ProbeStart;
        public int SynAckRepeats;           // see TcpConnection.Receive.cs
        public SeqNumber TlpEndSeq;         // RFC 8985 §7: TLP.end_seq, while TlpOutstanding
        public bool TlpOutstanding;
        public bool TlpIsRetrans;           // RFC 8985 §7: TLP.is_retrans
    }

    /// <summary>TCP_MAXSEG as set by the user (0: from the route's MTU).</summary>
    public int MaxSegmentOption { get => _cold?.MaxSegmentOption ?? 0; set { if (value != 0 || _cold is not null) Cold.MaxSegmentOption = value; } }

    public byte Tos { get => _cold?.Tos ?? 0; set { if (value != 0 || _cold is not null) Cold.Tos = value; } }

    /// <summary>Whether the user shut down the receive side.</summary>
    public bool ReceiveShutdown { get; private set; }

    // ---- status -----------------------------------------------------------------------------------------------

    /// <summary>SO_ERROR: the error that ended or will end the connection.</summary>
    public SocketError PendingError { get; private set; }

    /// <summary>What the stack saw that led to <see cref="PendingError"/> ("7 SYNs at 0,1,3,7,15,31,63 s, no answer").</summary>
    public string? ErrorCause { get => _cold?.ErrorCause; private set { if (value is not null || _cold is not null) Cold.ErrorCause = value; } }

    /// <summary>Why the last call on this connection failed when the connection itself did not (e.g. ENOBUFS).</summary>
    public string? LastCallCause { get => _cold?.LastCallCause; private set { if (value is not null || _cold is not null) Cold.LastCallCause = value; } }

    /// <summary>The effective send MSS (payload bytes per segment).</summary>
    public int Mss { get; private set; } = 536;

    public int AdvertisedMss { get; private set; }

    public ICongestionController? Congestion { get; private set; }

    public RttEstimator Rtt { get; private set; }
        = new(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(120), linux: true); // the Linux defaults

    /// <summary>Bytes received in order and not yet read (Recv-Q).</summary>
    public int ReceiveQueued => _receiveQueue?.Length ?? 0;

    /// <summary>Bytes written and not yet acknowledged (Send-Q).</summary>
    public int SendQueued => _sendQueue?.Length ?? 0;

    /// <summary>Bytes held out of order.</summary>
    public int OutOfOrderBytes => _ooo?.BytesHeld ?? 0;

    public bool FinReceived => _finReceived;

    public SeqNumber SndUna => _sndUna;
    public SeqNumber SndNxt => _sndNxt;
    public SeqNumber RcvNxt => _rcvNxt;
    public uint SendWindow => _sndWnd;
    public int SendScale => _sndScale;
    public int ReceiveScale => _rcvScale;
    public bool TimestampsEnabled => _tsEnabled;
    public bool SackEnabled => _sackEnabled;
    public bool WindowScaleEnabled => _wsEnabled;

    /// <summary>Retransmissions of the current unacknowledged data (or SYN), the figure <c>ss</c> prints.</summary>
    public int Retransmits { get; private set; }

    public long TotalRetransmits { get => _cold?.TotalRetransmits ?? 0; private set { if (value != 0 || _cold is not null) Cold.TotalRetransmits = value; } }

    /// <summary>Times at which SYNs were sent (for the explanation of a connect timeout).</summary>
    internal List<Instant>? SynTimes => ReferenceEquals(_synTimes, OnlySynAtConnectStart) ? [_connectStart!.Value] : _synTimes;

    /// <summary>Behind <see cref="SynTimes"/>: null, or <see cref="OnlySynAtConnectStart"/> while the only SYN sent
    /// is the first (at <c>_connectStart</c>), or the list of every SYN's time, built when a SYN is retransmitted
    /// (so that a connection answered at once allocates no list).</summary>
    private List<Instant>? _synTimes;

    private static readonly List<Instant> OnlySynAtConnectStart = new(0); // a marker, never added to

    /// <summary>An optional per-connection event trace (state changes, retransmits, windows).</summary>
    public List<TcpTraceEvent>? Trace { get => _cold?.Trace; set { if (value is not null || _cold is not null) Cold.Trace = value; } }

    internal TcpLayer Layer => _layer;

    /// <summary>Readable: data queued, end of stream, or an error.</summary>
    public bool CanRead => ReceiveQueued > 0 || _finReceived || PendingError != SocketError.Success || ReceiveShutdown ||
                           State == TcpState.Closed;

    /// <summary>Writable: connected and a third of the send buffer free (Linux's sk_stream_wspace rule), or failed.</summary>
    public bool CanWrite => PendingError != SocketError.Success || (State == TcpState.Closed && !IsConnectQueued) ||
        ((State is TcpState.Established or TcpState.CloseWait) && !_finQueued && SendSpace >= Math.Max(1, SendLimit / 3) &&
         (NotSentLowWatermark == int.MaxValue || 2L * NotSentBytes < NotSentLowWatermark));

    public bool IsConnected => State is TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.FinWait2;

    /// <summary>The send-buffer bytes usable for data: half of SO_SNDBUF, the rest is Linux's overhead allowance.</summary>
    private int SendLimit => Math.Max(_layer.Settings.BsdSocketBuffers ? SendBufferSize : SendBufferSize / 2, 1);

    private int ReceiveLimit => Math.Max(_layer.Settings.BsdSocketBuffers ? ReceiveBufferSize : ReceiveBufferSize / 2, 1);

    public int SendSpace => Math.Max(0, SendLimit - SendQueued);

    /// <summary>A write would queue something now: there is send-buffer space and TCP_NOTSENT_LOWAT leaves room
    /// (Linux sk_stream_memory_free, what a blocked sendmsg waits for).</summary>
    public bool CanQueue => SendSpace > 0 && (NotSentLowWatermark == int.MaxValue || NotSentRoom(NotSentLowWatermark) > 0);

    // ---- user calls ----------------------------------------------------------------------------------------------

    /// <summary>SO_RCVBUF: Linux clamps to <c>rmem_max</c> and doubles (seed 004 §2.3).</summary>
    public void SetReceiveBufferSize(int bytes)
    {
        if (_layer.Settings.BsdSocketBuffers)
        {
            ReceiveBufferSize = Math.Clamp(bytes, 1, _layer.Settings.ReceiveBufferMax); // FreeBSD: as given, up to sb_max
            _userSetReceiveBuffer = true;
            ApplyConstraint();
            return;
        }

        bytes = Math.Clamp(bytes, 0, _layer.Settings.CoreReceiveBufferMax);
        ReceiveBufferSize = Math.Max(bytes * 2, 2304);
        _userSetReceiveBuffer = true; // Linux: an explicit SO_RCVBUF turns off receive-buffer autotuning
        ApplyConstraint();
    }

    /// <summary>SO_SNDBUF: clamped to <c>wmem_max</c> and doubled.</summary>
    public void SetSendBufferSize(int bytes)
    {
        if (_layer.Settings.BsdSocketBuffers)
        {
            SendBufferSize = Math.Clamp(bytes, 1, _layer.Settings.SendBufferMax);
            _userSetSendBuffer = true;
            ApplyConstraint();
            return;
        }

        bytes = Math.Clamp(bytes, 0, _layer.Settings.CoreSendBufferMax);
        SendBufferSize = Math.Max(bytes * 2, 4608);
        _userSetSendBuffer = true;
        ApplyConstraint();
    }

    /// <summary>The buffers as sized by the stack's own sysctls, bypassing rmem_max (used for the defaults and by
    /// the benchmark).</summary>
    public void SetBufferSizesUnclamped(int receive, int send)
    {
        ReceiveBufferSize = receive;
        SendBufferSize = send;
        _userSetReceiveBuffer = true;
        _userSetSendBuffer = true;
        ApplyConstraint();
    }

    /// <summary>Takes the socket options of the listener that creates this connection, before the SYN-ACK is built
    /// (so TCP_MAXSEG and SO_RCVBUF shape its MSS, window and window scale): Linux's child socket is a clone of the
    /// listener (sk_clone_lock: buffers, SO_KEEPALIVE, SO_LINGER, priority) with its TCP options (tcp_create_openreq_child:
    /// TCP_NODELAY, TCP_MAXSEG, TCP_USER_TIMEOUT, the keep-alive knobs).</summary>
    internal void InheritOptions(TcpConnection listener)
    {
        ReceiveBufferSize = listener.ReceiveBufferSize;
        SendBufferSize = listener.SendBufferSize;
        _userSetReceiveBuffer = listener._userSetReceiveBuffer;
        _userSetSendBuffer = listener._userSetSendBuffer;
        NoDelay = listener.NoDelay;
        KeepAlive = listener.KeepAlive;
        KeepIdle = listener.KeepIdle;
        KeepInterval = listener.KeepInterval;
        KeepCount = listener.KeepCount;
        UserTimeout = listener.UserTimeout;
        SynCount = listener.SynCount;
        Linger = listener.Linger;
        FinWait2Timeout = listener.FinWait2Timeout;
        DeferAcceptTimeouts = listener.DeferAcceptTimeouts;
        NotSentLowat = listener.NotSentLowat;
        if (listener.Cork)
        {
            Cold.Cork = true;
        }
        MaxSegmentOption = listener.MaxSegmentOption;
        Tos = listener.Tos;
    }

    private bool _userSetReceiveBuffer;
    private bool _userSetSendBuffer;

    /// <summary>FreeBSD tcp_mss: once the MSS is known, both socket buffers grow to a multiple of it (at most sb_max),
    /// so that whole segments fill them.</summary>
    private void RoundBuffersToMss()
    {
        if (!_layer.Settings.BsdSocketBuffers || Mss <= 0)
        {
            return;
        }

        static int RoundUp(int size, int mss, int max) => size < mss ? size : (int)Math.Min(((long)size + mss - 1) / mss * mss, Math.Max(size, max));
        ReceiveBufferSize = RoundUp(ReceiveBufferSize, Mss, _layer.Settings.ReceiveBufferMax);
        SendBufferSize = RoundUp(SendBufferSize, Mss, _layer.Settings.SendBufferMax);
        ApplyConstraint();
    }
    private int _rcvSpaceBytes;
    private Instant _rcvSpaceStart;

    /// <summary>Linux tcp_sndbuf_expand: without an explicit SO_SNDBUF the send buffer follows the congestion
    /// window (room for twice the window, doubled for overhead), up to tcp_wmem[2].</summary>
    private void AutotuneSendBuffer()
    {
        if (_userSetSendBuffer || Congestion is null)
        {
            return;
        }

        long wanted = Math.Min((long)Congestion.Cwnd * 4, _layer.Settings.SendBufferMax);
        if (wanted > SendBufferSize)
        {
            SendBufferSize = (int)wanted;
            ApplyConstraint();
        }
    }

    /// <summary>Linux tcp_rcv_space_adjust (dynamic right-sizing): without an explicit SO_RCVBUF, when the
    /// application reads more than half the buffer within one round trip, the buffer grows to twice what it
    /// read, up to tcp_rmem[2].</summary>
    private void AutotuneReceiveBuffer(int copied, Instant now)
    {
        if (_userSetReceiveBuffer)
        {
            return;
        }

        _rcvSpaceBytes += copied;
        TimeSpan rtt = Rtt.SmoothedRtt ?? TimeSpan.FromMilliseconds(1);
        if (now - _rcvSpaceStart < rtt)
        {
            return;
        }

        if (_rcvSpaceBytes * 2 > ReceiveLimit)
        {
            long wanted = Math.Min((long)_rcvSpaceBytes * 4 * 2, _layer.Settings.ReceiveBufferMax);
            if (wanted > ReceiveBufferSize)
            {
                ReceiveBufferSize = (int)wanted;
                ApplyConstraint();
            }
        }

        _rcvSpaceBytes = 0;
        _rcvSpaceStart = now;
    }

    private void ApplyConstraint()
    {
        int cap = _layer.Settings.ConstrainedSocketBuffer;
        if (cap > 0)
        {
            ReceiveBufferSize = Math.Min(ReceiveBufferSize, cap);
            SendBufferSize = Math.Min(SendBufferSize, cap);
        }
    }

    /// <summary>Queues user data for sending. Returns the bytes accepted (0 when the buffer is full, the call
    /// would block); sets <paramref name="error"/> when the connection cannot send.</summary>
    /// <param name="more">MSG_MORE: more data follows, so a partial segment at the end of this write is held as by
    /// TCP_CORK, and the write's end is not a push point (no PSH; Linux tcp_push).</param>
    public int Send(ReadOnlySpan<byte> data, Instant now, out SocketError error, bool more = false)
    {
        if (PendingError != SocketError.Success)
        {
            error = TakeError(); // the error once, then EPIPE
            return 0;
        }

        if (_finQueued || State is TcpState.Closed or TcpState.TimeWait or TcpState.Closing or TcpState.LastAck)
        {
            // RFC 9293 §3.10.2: SEND in a closing state: "error: connection closing"; BSD says EPIPE.
            error = SocketError.Shutdown;
            return 0;
        }

        if (State is TcpState.SynSent or TcpState.SynReceived)
        {
            error = SocketError.WouldBlock; // queued data before the handshake completes is not accepted here
            return 0;
        }

        int lowat = NotSentLowWatermark;
        int room = Math.Min(SendSpace, data.Length);
        if (lowat < int.MaxValue)
        {
            room = Math.Min(room, NotSentRoom(lowat));
        }

        if (room == 0)
        {
            error = SocketError.WouldBlock;
            return 0;
        }

        RestartAfterIdle(now);
        if (_cold is { NaglePush: true } pushed)
        {
            pushed.NaglePush = false; // tcp_skb_entail: a new write ends the push of TCP_NODELAY
        }

        _sendQueue ??= _layer.RentQueue(BudgetCause.SendBuffer);
        int accepted = _sendQueue.Write(data[..room]);
        if (accepted == 0)
        {
            // Counted per cause by the budget; the explanation is for this call only (the connection is fine).
            MemoryBudget budget = _layer.Budget;
            LastCallCause = $"no buffer space: the stack's memory budget is spent ({budget.InUse:N0} of {budget.Limit:N0} bytes in use, " +
                $"{budget.InUseFor(BudgetCause.SendBuffer):N0} in send buffers, {budget.InUseFor(BudgetCause.ReceiveBuffer):N0} in receive buffers); " +
                "this connection keeps its reserve and moves on as the budget comes back";
            error = SocketError.NoBufferSpaceAvailable;
            return 0;
        }

        error = SocketError.Success;
        if (lowat == int.MaxValue)
        {
            Push(more, now);
            return accepted;
        }

        ColdState inSend = Cold;
        inSend.InSend = true;
        try
        {
            Push(more, now);

            // TCP_NOTSENT_LOWAT: what the output just sent makes room for more, as Linux's tcp_sendmsg checks the
            // limit before each new skb while it pushes the full ones out.
            while (accepted < data.Length)
            {
                int next = Math.Min(Math.Min(SendSpace, data.Length - accepted), NotSentRoom(lowat));
                int written = next > 0 ? _sendQueue.Write(data.Slice(accepted, next)) : 0;
                if (written == 0)
                {
                    break;
                }

                accepted += written;
                Push(more, now);
            }
        }
        finally
        {
            inSend.InSend = false;
        }

        return accepted;
    }

    /// <summary>The output at the end of a write: as MSG_MORE asks (the tail held, no push point), or plain.</summary>
    private void Push(bool more, Instant now)
    {
        if (more)
        {
            ColdState cold = Cold;
            cold.TailUnpushed = true;
            cold.CorkThisPush = true;
            try
            {
                Output(now);
            }
            finally
            {
                cold.CorkThisPush = false;
            }

            return;
        }

        if (_cold is { TailUnpushed: true } unpushed)
        {
            unpushed.TailUnpushed = false;
        }

        Output(now);
    }

    /// <summary>TCP_NOTSENT_LOWAT (0: the stack's <c>tcp_notsent_lowat</c>, <see cref="TcpSettings.NotSentLowWatermark"/>):
    /// the most written data that may wait unsent. A write stops there (rounded up to a whole segment; Linux's stops at
    /// the end of the skb that crosses it), and the socket is writable only while less than half of it waits
    /// (tcp_stream_memory_free with wake).</summary>
    public int NotSentLowat { get => _cold?.NotSentLowat ?? 0; set { if (value != 0 || _cold is not null) Cold.NotSentLowat = value; } }

    /// <summary>The limit on unsent data in force: the socket's, else the stack's; int.MaxValue when unlimited (a
    /// negative socket value is, as unsigned, beyond any buffer).</summary>
    private int NotSentLowWatermark => _cold is { NotSentLowat: not 0 } cold
        ? (cold.NotSentLowat < 0 ? int.MaxValue : cold.NotSentLowat)
        : _layer.Settings.NotSentLowWatermark;

    /// <summary>Written data not yet sent (Linux tcp_notsent_bytes: write_seq - snd_nxt).</summary>
    public int NotSentBytes => Math.Max(0, _sndUna + SendQueued - _sndMax);

    private int NotSentRoom(int lowat)
    {
        int unsent = NotSentBytes;
        if (unsent >= lowat)
        {
            return 0;
        }

        int mss = Math.Max(Mss, 1);
        long room = lowat - unsent;
        return (int)Math.Min((room + mss - 1) / mss * mss, int.MaxValue);
    }

    /// <summary>Reads received data. Returns the bytes copied; 0 with Success means end of stream; WouldBlock
    /// when nothing is there yet.</summary>
    public int Receive(Span<byte> destination, Instant now, out SocketError error, bool peek = false)
    {
        int queued = ReceiveQueued;
        if (queued > 0 && destination.Length > 0)
        {
            int before = ReceiveWindowAvailable();
            int n = peek ? _receiveQueue!.Peek(0, destination) : _receiveQueue!.Read(destination);
            error = SocketError.Success;
            if (!peek)
            {
                AutotuneReceiveBuffer(n, now);
                MaybeSendWindowUpdate(before, now);
            }

            return n;
        }

        if (queued > 0)
        {
            error = SocketError.Success;
            return 0;
        }

        if (HasUnreportedError)
        {
            error = TakeError();
            return 0;
        }

        if (_finReceived || ReceiveShutdown || State == TcpState.Closed)
        {
            error = SocketError.Success; // end of stream
            return 0;
        }

        error = State is TcpState.SynSent or TcpState.SynReceived ? SocketError.WouldBlock : SocketError.WouldBlock;
        return 0;
    }

    private bool _errorReported;

    /// <summary>Linux reports a connection's error (sk_err) once, to the first call that looks; after that a write
    /// fails with EPIPE and a read sees end of stream (seed 004 §3.3).</summary>
    private SocketError TakeError()
    {
        if (_errorReported)
        {
            return SocketError.Shutdown;
        }

        _errorReported = true;
        return PendingError;
    }

    /// <summary>The error still waiting to be reported to a call, if any.</summary>
    private bool HasUnreportedError => PendingError != SocketError.Success && !_errorReported;

    /// <summary>SO_ERROR read: returns and clears the pending error (getsockopt semantics).</summary>
    public SocketError ConsumeError()
    {
        if (!HasUnreportedError)
        {
            return SocketError.Success;
        }

        _errorReported = true;
        return PendingError;
    }

    /// <summary>shutdown(SHUT_WR): RFC 9293 §3.10.4 CLOSE of the sending side: FIN after the queued data.</summary>
    public SocketError ShutdownSend(Instant now)
    {
        switch (State)
        {
            case TcpState.Closed:
            case TcpState.Listen:
                return SocketError.NotConnected;
            case TcpState.SynSent:
                Abort(SocketError.Success, null, sendReset: false, now);
                return SocketError.Success;
        }

        if (!_finQueued)
        {
            _finQueued = true;
            if (State is TcpState.Established or TcpState.SynReceived)
            {
                // RFC 9293 §3.10.4: CLOSE in SYN-RECEIVED (nothing queued) forms a FIN and enters FIN-WAIT-1.
                SetState(TcpState.FinWait1, now);
            }
            else if (State == TcpState.CloseWait)
            {
                SetState(TcpState.LastAck, now);
            }

            Output(now);
        }

        return SocketError.Success;
    }

    /// <summary>shutdown(SHUT_RD).</summary>
    public void ShutdownReceive()
    {
        ReceiveShutdown = true;
        Notify();
    }

    /// <summary>close(): the user lets go. Unread data or linger 0 resets (RFC 2525 §2.17; SO_LINGER); otherwise a
    /// graceful FIN and the stack finishes the connection as an orphan.</summary>
    public void Close(Instant now)
    {
        IsOrphan = true;
        Observer = null;
        if (State is TcpState.Closed or TcpState.TimeWait)
        {
            _layer.ReturnQueue(_receiveQueue, BudgetCause.ReceiveBuffer); // unread data the user no longer wants
            _receiveQueue = null;
            if (State == TcpState.Closed)
            {
                _layer.Remove(this);
            }
            else
            {
                _layer.CompactIfTimeWait(this);
            }

            return;
        }

        if (IsConnectQueued)
        {
            IsConnectQueued = false;
            _layer.Remove(this);
            return;
        }

        if (State is TcpState.SynSent or TcpState.Listen)
        {
            Abort(SocketError.Success, null, sendReset: false, now);
            return;
        }

        if (ReceiveQueued > 0 || (_ooo is not null && !_ooo.IsEmpty))
        {
            // RFC 2525 §2.17 / RFC 9293 §3.10.4: closing with unread data SHOULD send RST.
            _layer.Counters.TCPAbortOnClose++;
            Abort(SocketError.ConnectionReset, "closed with unread data: reset sent (RFC 2525)", sendReset: true, now);
            return;
        }

        if (Linger is { } linger && linger == TimeSpan.Zero)
        {
            _layer.Counters.TCPAbortOnLinger++;
            Abort(SocketError.ConnectionReset, "SO_LINGER 0: reset sent on close", sendReset: true, now);
            return;
        }

        ShutdownSend(now);
        if (State == TcpState.FinWait2)
        {
            if (FinWait2Timeout < TimeSpan.Zero)
            {
                // Linux tcp_close: TCP_LINGER2 < 0 in FIN-WAIT-2 resets at once instead of waiting.
                _layer.Counters.TCPAbortOnLinger++;
                Abort(SocketError.ConnectionReset, "TCP_LINGER2 < 0: closed in FIN-WAIT-2, reset sent", sendReset: true, now);
                return;
            }

            _waitAt = now + FinWait2Time; // an orphan does not wait in FIN-WAIT-2 forever
            ScheduleTimer();
        }
    }

    /// <summary>Ends the connection at once: optionally sends RST, records the error, frees everything.</summary>
    internal void Abort(SocketError error, string? cause, bool sendReset, Instant now)
    {
        if (sendReset && State is not (TcpState.Closed or TcpState.Listen or TcpState.SynSent or TcpState.TimeWait))
        {
            SendReset(_sndNxt, now);
        }

        Fail(error, cause, now);
    }

    /// <summary>Moves to CLOSED with an error for the user (Success for a quiet end) and frees all buffers.</summary>
    internal void Fail(SocketError error, string? cause, Instant now)
    {
        if (error != SocketError.Success)
        {
            PendingError = error;
            ErrorCause = cause;
            _layer.OnConnectionError(this, error, cause, now);
        }

        SetState(TcpState.Closed, now);
        // A quiet end (TIME-WAIT over, LAST-ACK acknowledged) leaves received data readable by a user who still
        // holds the socket, as Linux does; a reset or timeout discards it.
        ReleaseBuffers(keepReceived: error == SocketError.Success && !IsOrphan);
        _layer.Timers.Cancel(_timer);
        _layer.Remove(this);
        Notify();
    }

    internal void ReleaseBuffers(bool keepReceived = false)
    {
        _layer.ReturnQueue(_sendQueue, BudgetCause.SendBuffer);
        _layer.ReturnSendTimeLog(_sendTimes);
        _sendTimes = null;
        _ooo?.Clear();
        _sendQueue = null;
        _ooo = null;
        _sack?.Reset();
        if (!keepReceived || _receiveQueue is { Length: 0 })
        {
            _layer.ReturnQueue(_receiveQueue, BudgetCause.ReceiveBuffer);
            _receiveQueue = null;
        }
    }

    internal void Notify()
    {
        if (_deferNotify)
        {
            _notifyPending = true; // raised once the segment in hand is fully processed (OnSegment)
            return;
        }

        Observer?.OnEndpointChanged();
    }

    internal void SetState(TcpState state, Instant now)
    {
        TcpState old = State;
        if (old == state)
        {
            return;
        }

        bool wasEstab = old is TcpState.Established or TcpState.CloseWait;
        bool isEstab = state is TcpState.Established or TcpState.CloseWait;
        if (wasEstab && !isEstab)
        {
            _layer.Counters.CurrEstab--;
        }
        else if (!wasEstab && isEstab)
        {
            _layer.Counters.CurrEstab++;
        }

        if (old == TcpState.TimeWait)
        {
            _layer.TimeWaitConnections--;
        }
        else if (state == TcpState.TimeWait)
        {
            _layer.TimeWaitConnections++;
        }

        State = state;
        if (state == TcpState.Established)
        {
            _synTimes = null; // only a connect timeout explains itself with them
            _lastDataSentMs = StampMs(now); // Linux tcp_finish_connect / tcp_create_openreq_child set lsndtime
        }

        Trace?.Add(new TcpTraceEvent(now, "state", $"{old.SsName()} -> {state.SsName()}"));
        _layer.OnStateChanged(this, old, state, now);
    }

    public override string ToString() => $"{Tuple} {State.SsName()}";
}

/// <summary>One line of a connection's event trace.</summary>
public readonly record struct TcpTraceEvent(Instant Time, string Kind, string Detail)
{
    public override string ToString() => $"{Time.TotalSeconds,10:0.000000} {Kind,-8} {Detail}";
}
