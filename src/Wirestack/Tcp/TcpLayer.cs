// TCP demultiplexing and the parts of RFC 9293 that belong to no single connection: CLOSED (§3.10.7.1) and LISTEN
// (§3.10.7.2) processing, port allocation, ISNs (RFC 6528), the challenge-ACK limit (RFC 5961 §7) and ICMP errors
// (RFC 5927 §4.1, RFC 1122 §4.2.3.9).
using System.Net.Sockets;
using Wirestack.Buffers;
using Wirestack.Diagnostics;
using Wirestack.IP;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tcp;

/// <summary>The TCP layer of one stack.</summary>
public sealed partial class TcpLayer : IIPDispatcher
{
    private readonly Dictionary<FourTuple, TcpConnection> _connections = new();
    private readonly Dictionary<ushort, int> _connectionPorts = new(); // connections in the table per local port
    private readonly Dictionary<ushort, List<TcpListener>> _listeners = new();
    private readonly Dictionary<ushort, int> _boundPorts = new();
    private readonly IsnGenerator _isn;
    private readonly SynCookies _cookies;
    private long _challengeSecond = -1;
    private int _challengeCount;

    public TcpLayer(IPv4Layer ip, TcpCounters counters, TcpSettings settings, TimerWheel timers, MemoryBudget budget, Random random)
    {
        Ip = ip;
        Counters = counters;
        Settings = settings;
        Timers = timers;
        Budget = budget;
        Random = random;
        Span<byte> secret = stackalloc byte[32];
        random.NextBytes(secret);
        _isn = new IsnGenerator(secret);
        random.NextBytes(secret);
        _cookies = new SynCookies(secret);
        _timeWait = new TimeWaitTable(this);
        ip.RegisterProtocol(IPProtocol.Tcp, this);
    }

    public IPv4Layer Ip { get; }
    public TcpCounters Counters { get; }
    public TcpSettings Settings { get; set; }
    public TimerWheel Timers { get; }
    public MemoryBudget Budget { get; }
    public Random Random { get; }

    /// <summary>Segments not sent because no packet buffer could be had (the retransmission timer covers them).</summary>
    public long OutputNoBuffers { get; internal set; }

    public int ConnectionCount => _connections.Count + _timeWait.Count;

    /// <summary>Every connection in the table; a TIME-WAIT record (a connection whose user had gone) appears as a
    /// stand-in built for the enumeration (TcpConnection.TimeWait.cs).</summary>
    public IEnumerable<TcpConnection> Connections => _timeWait.Count == 0
        ? _connections.Values
        : _connections.Values.Concat(_timeWait.All.Select(p => TcpConnection.TimeWaitView(this, p.Key, p.Value)));

    // TIME-WAIT connections without a user, kept as compact records (TimeWaitRecord.cs).
    private readonly TimeWaitTable _timeWait;

    /// <summary>Entries in the TIME-WAIT table's expiry queues, stale ones included (tests: the queues stay bounded).</summary>
    internal int TimeWaitQueuedExpiries => _timeWait.QueuedExpiries;

    /// <summary>After a segment or close(): a TIME-WAIT connection whose user has gone becomes a compact record
    /// (unless it is traced or watched, or anything else of it is still pending). Its port stays counted.</summary>
    internal void CompactIfTimeWait(TcpConnection connection)
    {
        if (connection.State == TcpState.TimeWait && connection.IsOrphan && StateChanged is null &&
            _connections.TryGetValue(connection.Tuple, out TcpConnection? existing) && existing == connection &&
            connection.TryCompactTimeWait(out TimeWaitRecord record))
        {
            _connections.Remove(connection.Tuple);
            _timeWait.Add(connection.Tuple, record);
            TimeWaitConnections--; // counted in the table from now on
        }
    }

    /// <summary>Connections in TIME-WAIT still kept as connections (their user holds them, or they are traced);
    /// the rest are records in the table.</summary>
    internal int TimeWaitConnections;

    /// <summary>Everything in TIME-WAIT: connections and compact records (<see cref="TcpSettings.MaxTimeWaitBuckets"/>).</summary>
    public int TimeWaitCount => _timeWait.Count + TimeWaitConnections;

    /// <summary>A TIME-WAIT record ended: its local port counts one connection less.</summary>
    internal void ReleaseTimeWaitPort(ushort port)
    {
        ReleasePort(_connectionPorts, port);
    }

    /// <summary>One user of the port less in a count table (the entry goes at zero); one lookup.</summary>
    private static void ReleasePort(Dictionary<ushort, int> counts, ushort port)
    {
        ref int n = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(counts, port);
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref n) || n <= 1) counts.Remove(port);
        else n--;
    }

    public IEnumerable<TcpListener> Listeners => _listeners.Values.SelectMany(l => l);

    /// <summary>Raised when a connection fails with an error for its user (for traces and explanations).</summary>
    public event Action<TcpConnection, SocketError, string?, Instant>? ConnectionFailed;

    /// <summary>Raised on every state change.</summary>
    public event Action<TcpConnection, TcpState, TcpState, Instant>? StateChanged;

    public TcpConnection CreateConnection() => new(this);

    // Socket-buffer queues of finished connections, kept for the next ones (a queue and its chunk table are about
    // 130 bytes: at tens of thousands of connections a second, that garbage is worth avoiding). Bounded.
    private readonly Stack<ByteQueue> _freeSendQueues = new();
    private readonly Stack<ByteQueue> _freeReceiveQueues = new();
    private const int FreeQueueLimit = 1024;

    /// <summary>An empty send or receive queue (<paramref name="cause"/>), reused when one is free.</summary>
    internal ByteQueue RentQueue(BudgetCause cause)
    {
        Stack<ByteQueue> free = cause == BudgetCause.SendBuffer ? _freeSendQueues : _freeReceiveQueues;
        while (free.TryPop(out ByteQueue? queue))
        {
            if (queue.ChunkSize == Settings.SocketChunkSize)
            {
                return queue;
            }
        }

        return new ByteQueue(Budget, cause, Settings.SocketChunkSize, Ip.Pool.Arrays) { GuaranteeFirstChunk = true };
    }

    /// <summary>Empties <paramref name="queue"/> (its chunks go back to the budget) and keeps it for reuse.</summary>
    internal void ReturnQueue(ByteQueue? queue, BudgetCause cause)
    {
        if (queue is null)
        {
            return;
        }

        queue.Clear();
        Stack<ByteQueue> free = cause == BudgetCause.SendBuffer ? _freeSendQueues : _freeReceiveQueues;
        if (free.Count < FreeQueueLimit)
        {
            free.Push(queue);
        }
    }

    // Transmit-time logs of finished connections (a log and its ring), kept for the next ones, as the queues are.
    private readonly Stack<SendTimeLog> _freeSendTimeLogs = new();

    /// <summary>An empty transmit-time log (<see cref="SendTimeLog"/>), reused when one is free.</summary>
    internal SendTimeLog RentSendTimeLog(bool everySegment)
    {
        while (_freeSendTimeLogs.TryPop(out SendTimeLog? log))
        {
            if (log.EverySegment == everySegment)
            {
                return log;
            }
        }

        return new SendTimeLog(everySegment);
    }

    /// <summary>Empties <paramref name="log"/> and keeps it for reuse.</summary>
    internal void ReturnSendTimeLog(SendTimeLog? log)
    {
        if (log is null)
        {
            return;
        }

        log.Clear();
        if (_freeSendTimeLogs.Count < FreeQueueLimit)
        {
            _freeSendTimeLogs.Push(log);
        }
    }

    internal SeqNumber NextIsn(FourTuple tuple, Instant now) =>
        _isn.Next(tuple.LocalAddress.Value, tuple.LocalPort, tuple.RemoteAddress.Value, tuple.RemotePort, now);

    // ---- binding ----------------------------------------------------------------------------------------------------

    /// <summary>Reserves a local port for a socket (bind()). Port 0 picks an ephemeral one.</summary>
    public SocketError Bind(IPv4Address address, ref ushort port, bool reuseAddress)
    {
        if (!address.IsUnspecified && !Ip.IsLocalAddress(address))
        {
            return SocketError.AddressNotAvailable;
        }

        if (port == 0)
        {
            int span = Settings.EphemeralHigh - Settings.EphemeralLow + 1;
            int start = Random.Next(span);
            for (int i = 0; i < span; i++)
            {
                ushort candidate = (ushort)(Settings.EphemeralLow + (start + i) % span);
                // A port still used by a connection whose socket is gone (TIME-WAIT, an orphan closing) is not free:
                // Linux keeps such sockets in the port's bind bucket, so autobinding moves on to another port rather
                // than clash with the old 4-tuple (found by the half-close soak: EADDRINUSE on a TIME-WAIT tuple).
                if (!_boundPorts.ContainsKey(candidate) && !_listeners.ContainsKey(candidate) && !_connectionPorts.ContainsKey(candidate))
                {
                    port = candidate;
                    break;
                }
            }

            if (port == 0)
            {
                return SocketError.AddressNotAvailable;
            }
        }
        else if (_listeners.TryGetValue(port, out List<TcpListener>? ls) && AnyOverlaps(ls, address) ||
                 (_boundPorts.ContainsKey(port) && !reuseAddress))
        {
            return SocketError.AddressAlreadyInUse;
        }

        System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_boundPorts, port, out _)++;
        return SocketError.Success;
    }

    /// <summary>Releases a port reserved by <see cref="Bind"/>.</summary>
    public void Unbind(ushort port)
    {
        ref int n = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(_boundPorts, port);
        if (!System.Runtime.CompilerServices.Unsafe.IsNullRef(ref n))
        {
            if (n <= 1) _boundPorts.Remove(port);
            else n--;
        }
    }

    private static bool Overlaps(IPv4Address a, IPv4Address b) => a.IsUnspecified || b.IsUnspecified || a == b;

    /// <summary>Whether a listener of the list overlaps the address (a loop, not a lambda capturing the address:
    /// the closure was allocated on every explicit bind).</summary>
    private static bool AnyOverlaps(List<TcpListener> listeners, IPv4Address address)
    {
        foreach (TcpListener l in listeners)
        {
            if (Overlaps(l.Address, address))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>listen(): a listener on an address and port already bound by the caller.</summary>
    public SocketError Listen(IPv4Address address, ushort port, int backlog, out TcpListener? listener)
    {
        listener = null;
        if (_listeners.TryGetValue(port, out List<TcpListener>? list) && AnyOverlaps(list, address))
        {
            return SocketError.AddressAlreadyInUse;
        }

        // Linux clamps the backlog to somaxconn (and treats negative as the maximum).
        int effective = backlog < 0 ? Settings.SoMaxConn : Math.Min(backlog, Settings.SoMaxConn);
        listener = new TcpListener(address, port, effective);
        if (list is null)
        {
            list = [];
            _listeners[port] = list;
        }

        list.Add(listener);
        return SocketError.Success;
    }

    public void CloseListener(TcpListener listener, Instant now)
    {
        if (_listeners.TryGetValue(listener.Port, out List<TcpListener>? list))
        {
            list.Remove(listener);
            if (list.Count == 0)
            {
                _listeners.Remove(listener.Port);
            }
        }

        listener.IsClosed = true;
        foreach (TcpConnection connection in listener.Drain())
        {
            connection.Listener = null;
            connection.IsOrphan = true;
            if (connection.State == TcpState.SynReceived)
            {
                // Linux inet_csk_listen_stop: a half-open request just goes, silently; the peer's ACK then finds
                // no connection and no listener and is answered as in CLOSED (RFC 9293 §3.10.7.1: <SEQ=SEG.ACK><CTL=RST>).
                connection.Fail(SocketError.Success, null, now);
                continue;
            }

            // Linux resets connections that were established but never accepted (inet_child_forget, tcp_disconnect).
            connection.Abort(SocketError.ConnectionReset, "listener closed before accept", sendReset: true, now);
        }
    }

    /// <summary>accept(): the next established connection, or null when none is waiting.</summary>
    public TcpConnection? Accept(TcpListener listener)
    {
        TcpConnection? connection = listener.Dequeue();
        if (connection is not null)
        {
            connection.Listener = null;
            connection.IsOrphan = false;
        }

        return connection;
    }

    /// <summary>connect(): RFC 9293 §3.10.1 active OPEN. The local port must be bound (or is chosen here).</summary>
    public SocketError Connect(TcpConnection connection, IPv4Address localAddress, ushort localPort, IPv4Address remote, ushort remotePort, Instant now)
    {
        if (remotePort == 0 || remote.IsUnspecified || remote.IsBroadcast || remote.IsMulticast)
        {
            return SocketError.AddressNotAvailable;
        }

        IPv4Address? source = localAddress.IsUnspecified ? Ip.SelectSource(remote) : localAddress;
        if (source is null)
        {
            return SocketError.NetworkUnreachable;
        }

        var tuple = new FourTuple(source.Value, localPort, remote, remotePort);
        if (_connections.ContainsKey(tuple) || _timeWait.Contains(tuple))
        {
            return SocketError.AddressAlreadyInUse; // EADDRNOTAVAIL in Linux for an ephemeral clash; bound: EADDRINUSE
        }

        connection.Tuple = tuple;
        if (Settings.HalfOpenLimit > 0 && HalfOpenCount >= Settings.HalfOpenLimit)
        {
            // Seed 000: Windows XP allowed 10 half-open connects; beyond the cap attempts wait in order (or fail).
            if (Settings.HalfOpenFailFast)
            {
                Counters.HalfOpenRejected++;
                return SocketError.WouldBlock;
            }

            Counters.HalfOpenQueued++;
            Insert(connection);
            connection.IsConnectQueued = true;
            _connectQueue.Enqueue(connection);
            return SocketError.Success;
        }

        Counters.ActiveOpens++;
        Insert(connection);
        connection.OpenActive(tuple, now);
        connection.ScheduleTimer();
        return SocketError.Success;
    }

    private readonly Queue<TcpConnection> _connectQueue = new();

    /// <summary>Connections in SYN-SENT now (the half-open count of seed 000).</summary>
    public int HalfOpenCount { get; private set; }

    /// <summary>Connects waiting for a half-open slot.</summary>
    public int QueuedConnects => _connectQueue.Count;

    private void StartQueuedConnects(Instant now)
    {
        while (_connectQueue.Count > 0 && (Settings.HalfOpenLimit == 0 || HalfOpenCount < Settings.HalfOpenLimit))
        {
            TcpConnection next = _connectQueue.Dequeue();
            if (!next.IsConnectQueued)
            {
                continue; // closed while it waited
            }

            next.IsConnectQueued = false;
            Counters.ActiveOpens++;
            next.OpenActive(next.Tuple, now);
            next.ScheduleTimer();
        }
    }

    private void Insert(TcpConnection connection)
    {
        if (_connections.TryAdd(connection.Tuple, connection))
        {
            System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_connectionPorts, connection.Tuple.LocalPort, out _)++;
        }
        else
        {
            _connections[connection.Tuple] = connection;
        }

        connection.InTable = true;
    }

    internal void Remove(TcpConnection connection)
    {
        if (connection.InTable && _connections.TryGetValue(connection.Tuple, out TcpConnection? existing) && existing == connection)
        {
            _connections.Remove(connection.Tuple);
            ReleasePort(_connectionPorts, connection.Tuple.LocalPort);
        }

        connection.InTable = false;
        connection.Listener?.Forget(connection);
    }

    // ---- input ------------------------------------------------------------------------------------------------------

    /// <summary>While a segment is being delivered: its GSO size (a merged or large segment's MSS,
    /// <see cref="PacketBuffer.GsoSize"/>), or 0 (Linux's <c>skb_shinfo(skb)-&gt;gso_size</c>).</summary>
    internal int InputGsoSize { get; private set; }

    public void Deliver(in IPv4Header ip, PacketBuffer packet, Instant now)
    {
        int outer = InputGsoSize; // a segment delivered while another is being processed keeps the outer one's
        InputGsoSize = packet.GsoSize;
        try
        {
            DeliverSegment(ip, packet, now);
        }
        finally
        {
            InputGsoSize = outer;
        }
    }

    private void DeliverSegment(in IPv4Header ip, PacketBuffer packet, Instant now)
    {
        // A payload held by reference (TCP output's, handed over by a simulated wire), in one piece or several, is
        // read where it is when the head is exactly the header and the checksum needs no look; otherwise the packet
        // is joined first.
        bool referenced = packet.HasReferencedPayload && packet.ChecksumTrusted && packet.Head.Length >= TcpSegment.MinHeaderLength &&
            (packet.Head[12] >> 4) * 4 == packet.Head.Length;
        if (TcpSegment.TryCreate(referenced ? packet.Head : packet.Span, out TcpSegment segment) != HeaderError.None)
        {
            Counters.InErrs++;
            return;
        }

        // A checksum this process computed over bytes nothing has changed since needs no second look (Linux skips
        // it for CHECKSUM_UNNECESSARY skbs: loopback, receive checksum offload); anything else is verified
        // (RFC 9293 §3.1: a segment with a bad checksum is discarded).
        HeaderError error = packet.ChecksumTrusted
            ? TcpHeader.TryParseUnchecked(segment, out TcpHeader h)
            : TcpHeader.TryParse(segment, ip.Source, ip.Destination, out h);
        if (error != HeaderError.None)
        {
            Counters.InErrs++;
            if (error == HeaderError.BadChecksum)
            {
                Counters.InCsumErrors++;
            }

            return;
        }

        Counters.InSegs++;
        // RFC 1122 §4.2.3.10: a SYN to a broadcast or multicast address is dropped; so are land attacks.
        if (ip.Destination.IsBroadcast || ip.Destination.IsMulticast || (ip.Source == ip.Destination && h.SourcePort == h.DestinationPort && h.Has(TcpFlags.Syn)))
        {
            Counters.InErrs++;
            return;
        }

        SegmentText payload = !referenced ? segment.Payload
            : packet.ReferencedFragmentCount == 1 ? packet.ReferencedPayload : new SegmentText(packet);
        var tuple = new FourTuple(ip.Destination, h.DestinationPort, ip.Source, h.SourcePort);
        if (_connections.TryGetValue(tuple, out TcpConnection? connection))
        {
            if (connection.State == TcpState.TimeWait)
            {
                if (h.Has(TcpFlags.Syn) && !h.Has(TcpFlags.Ack) && !h.Has(TcpFlags.Rst) && connection.AcceptsNewIncarnation(h) &&
                    FindListener(ip.Destination, h.DestinationPort) is not null)
                {
                    Counters.TWRecycled++;
                    connection.Fail(SocketError.Success, null, now);
                }
                else
                {
                    connection.OnSegmentInTimeWait(h, payload.Length, now);
                    return;
                }
            }
            else
            {
                connection.OnSegment(h, payload, now);
                if (connection.State == TcpState.TimeWait)
                {
                    CompactIfTimeWait(connection);
                }

                return;
            }
        }
        else if (_timeWait.Count != 0 && _timeWait.TryGet(tuple, out TimeWaitRecord record))
        {
            if (h.Has(TcpFlags.Syn) && !h.Has(TcpFlags.Ack) && !h.Has(TcpFlags.Rst) && TimeWaitTable.AcceptsNewIncarnation(record, h) &&
                FindListener(ip.Destination, h.DestinationPort) is { } recycler)
            {
                Counters.TWRecycled++;
                _timeWait.Remove(tuple); // no user code runs: the listener found above is still the one
                OnListenerSegment(recycler, h, tuple, payload, now);
                return;
            }

            _timeWait.OnSegment(tuple, h, payload.Length, now);
            return;
        }

        TcpListener? listener = FindListener(ip.Destination, h.DestinationPort);
        if (listener is not null)
        {
            OnListenerSegment(listener, h, tuple, payload, now);
            return;
        }

        OnClosedSegment(h, tuple, payload.Length, now);
    }

    private TcpListener? FindListener(IPv4Address address, ushort port)
    {
        if (!_listeners.TryGetValue(port, out List<TcpListener>? list))
        {
            return null;
        }

        TcpListener? wildcard = null;
        foreach (TcpListener l in list)
        {
            if (l.Address == address)
            {
                return l;
            }

            if (l.Address.IsUnspecified)
            {
                wildcard = l;
            }
        }

        return wildcard;
    }

    /// <summary>RFC 9293 §3.10.7.1: "If the state is CLOSED ... all data in the incoming segment is discarded. An
    /// incoming segment containing a RST is discarded. An incoming segment not containing a RST causes a RST to be
    /// sent in response."</summary>
    private void OnClosedSegment(in TcpHeader h, FourTuple tuple, int payloadLength, Instant now)
    {
        if (h.Has(TcpFlags.Rst))
        {
            return;
        }

        if (h.Has(TcpFlags.Ack))
        {
            SendResetFor(tuple, h.AcknowledgmentNumber, default, ack: false, now);
        }
        else
        {
            int segLen = payloadLength + (h.Has(TcpFlags.Syn) ? 1 : 0) + (h.Has(TcpFlags.Fin) ? 1 : 0);
            SendResetFor(tuple, new SeqNumber(0), h.SequenceNumber + segLen, ack: true, now);
        }
    }
}
