// The BSD-style socket over a Wirestack stack, shaped like System.Net.Sockets.Socket: every call has a
// non-throwing form with `out SocketError` and a throwing form (WirestackSocketException, carrying the cause).
// Every call takes the stack's lock; a blocking call waits through the stack's IStackWaiter, which releases the lock
// while it waits (seed 002's big-lock rule).
using System.Net;
using System.Net.Sockets;
using Wirestack.IP;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Time;
using Wirestack.Udp;
using Wirestack.Wire;
using TcpListener = Wirestack.Tcp.TcpListener;

namespace Wirestack.Sockets;

/// <summary>A TCP or UDP socket on a <see cref="NetStack"/>.</summary>
public sealed partial class NetSocket : IEndpointObserver, IDisposable
{
    private readonly NetStack _stack;
    private TcpConnection? _tcp;
    private TcpListener? _listener;
    private readonly UdpEndpoint? _udp;
    private IPv4Address _boundAddress;
    private ushort _boundPort;
    private bool _portReserved;
    private bool _closed;
    private SocketError _lastConnectError;

    public NetSocket(NetStack stack, SocketType type, ProtocolType protocol = ProtocolType.Unspecified)
    {
        _stack = stack;
        if (type == SocketType.Stream && protocol is ProtocolType.Unspecified or ProtocolType.Tcp)
        {
            ProtocolType = ProtocolType.Tcp;
            _tcp = stack.Tcp.CreateConnection();
            _tcp.Observer = this;
        }
        else if (type == SocketType.Dgram && protocol is ProtocolType.Unspecified or ProtocolType.Udp)
        {
            ProtocolType = ProtocolType.Udp;
            _udp = stack.Udp.CreateEndpoint();
            _udp.Observer = this;
        }
        else
        {
            throw new WirestackSocketException(SocketError.ProtocolNotSupported, $"{type}/{protocol} is not supported (TCP stream or UDP datagram)");
        }
    }

    private NetSocket(NetStack stack, TcpConnection accepted)
    {
        _stack = stack;
        ProtocolType = ProtocolType.Tcp;
        _tcp = accepted;
        _tcp.Observer = this;
        _boundAddress = accepted.Tuple.LocalAddress;
        _boundPort = accepted.Tuple.LocalPort;
    }

    public NetStack Stack => _stack;

    public ProtocolType ProtocolType { get; }

    /// <summary>Blocking mode (the default), as O_NONBLOCK off.</summary>
    public bool Blocking { get; set; } = true;

    /// <summary>SO_RCVTIMEO / SO_SNDTIMEO for blocking calls; null waits forever.</summary>
    public TimeSpan? ReceiveTimeout { get => TimeoutOf(_receiveTimeoutTicks); set => _receiveTimeoutTicks = TicksOf(value); }
    public TimeSpan? SendTimeout { get => TimeoutOf(_sendTimeoutTicks); set => _sendTimeoutTicks = TicksOf(value); }

    // The timeouts as ticks, long.MinValue for none: 16 bytes less per socket than two TimeSpan? fields.
    private long _receiveTimeoutTicks = long.MinValue;
    private long _sendTimeoutTicks = long.MinValue;

    private static TimeSpan? TimeoutOf(long ticks) => ticks == long.MinValue ? null : TimeSpan.FromTicks(ticks);

    private static long TicksOf(TimeSpan? value) => value is { } v ? v.Ticks : long.MinValue;

    public bool ReuseAddress { get; set; }

    /// <summary>Raised (under the stack lock) whenever readiness may have changed. Handlers must not block and must
    /// not run user code inline: the async and polling layers only schedule work from here.</summary>
    public event Action<NetSocket>? ReadinessChanged;

    public TcpConnection? Connection => _tcp;

    public TcpListener? Listener => _listener;

    public UdpEndpoint? Udp => _udp;

    public bool IsListening => _listener is not null;

    public bool Connected
    {
        get { lock (_stack.SyncRoot) { return _tcp?.IsConnected ?? _udp?.IsConnected ?? false; } }
    }

    public IPEndPoint? LocalEndPoint
    {
        get
        {
            lock (_stack.SyncRoot)
            {
                if (_tcp is not null && _tcp.State != TcpState.Closed && _tcp.Tuple.LocalPort != 0)
                    return new IPEndPoint(_tcp.Tuple.LocalAddress.ToIPAddress(), _tcp.Tuple.LocalPort);
                if (_udp is not null && _udp.IsBound)
                    return new IPEndPoint(_udp.LocalAddress.ToIPAddress(), _udp.LocalPort);
                return _boundPort != 0 ? new IPEndPoint(_boundAddress.ToIPAddress(), _boundPort) : null;
            }
        }
    }

    public IPEndPoint? RemoteEndPoint
    {
        get
        {
            lock (_stack.SyncRoot)
            {
                if (_tcp is not null && _tcp.Tuple.RemotePort != 0)
                    return new IPEndPoint(_tcp.Tuple.RemoteAddress.ToIPAddress(), _tcp.Tuple.RemotePort);
                if (_udp is not null && _udp.IsConnected)
                    return new IPEndPoint(_udp.RemoteAddress.ToIPAddress(), _udp.RemotePort);
                return null;
            }
        }
    }

    /// <summary>The cause behind the last error the stack recorded for this socket.</summary>
    public string? ErrorCause
    {
        get { lock (_stack.SyncRoot) { return _tcp?.ErrorCause ?? _tcp?.LastCallCause; } }
    }

    void IEndpointObserver.OnEndpointChanged()
    {
        _stack.Waiter?.Notify();
        ReadinessChanged?.Invoke(this);
    }

    private static IPv4Address ToV4(IPAddress address) => IPv4Address.FromIPAddress(address);

    private Instant Now => _stack.Now;

    private WirestackSocketException Error(SocketError error, string? cause = null) => new(error, cause ?? _tcp?.ErrorCause);

    // ---- bind / listen / accept --------------------------------------------------------------------------------------

    public void Bind(IPEndPoint endpoint)
    {
        SocketError error = Bind(ToV4(endpoint.Address), (ushort)endpoint.Port);
        if (error != SocketError.Success) throw Error(error, $"bind to {endpoint} failed");
    }

    public SocketError Bind(IPv4Address address, ushort port)
    {
        lock (_stack.SyncRoot)
        {
            ThrowIfClosed();
            if (_udp is not null)
            {
                return _stack.Udp.Bind(_udp, address, port);
            }

            if (_portReserved || _tcp!.State != TcpState.Closed)
            {
                return SocketError.InvalidArgument;
            }

            SocketError error = _stack.Tcp.Bind(address, ref port, ReuseAddress);
            if (error == SocketError.Success)
            {
                _boundAddress = address;
                _boundPort = port;
                _portReserved = true;
            }

            return error;
        }
    }

    public void Listen(int backlog = 4096)
    {
        SocketError error = Listen(backlog, out _);
        if (error != SocketError.Success) throw Error(error);
    }

    public SocketError Listen(int backlog, out SocketError error)
    {
        lock (_stack.SyncRoot)
        {
            ThrowIfClosed();
            if (_tcp is null)
            {
                return error = SocketError.OperationNotSupported;
            }

            if (_listener is not null)
            {
                _listener.Backlog = Math.Min(backlog, _stack.Tcp.Settings.SoMaxConn);
                return error = SocketError.Success;
            }

            if (!_portReserved)
            {
                ushort port = 0;
                error = _stack.Tcp.Bind(IPv4Address.Any, ref port, ReuseAddress);
                if (error != SocketError.Success) return error;
                _boundPort = port;
                _portReserved = true;
            }

            error = _stack.Tcp.Listen(_boundAddress, _boundPort, backlog, out TcpListener? listener);
            if (error == SocketError.Success)
            {
                _listener = listener;
                _listener!.Observer = this;
                _listener.Template = _tcp; // its options pass to every connection the listener creates
                _tcp.Observer = null;
                _tcp = null;
            }

            return error;
        }
    }

    public NetSocket Accept()
    {
        NetSocket? socket = Accept(out SocketError error);
        return socket ?? throw Error(error);
    }

    public NetSocket? Accept(out SocketError error)
    {
        lock (_stack.SyncRoot)
        {
            ThrowIfClosed();
            if (_listener is null)
            {
                error = SocketError.InvalidArgument;
                return null;
            }

            if (!WaitFor(static s => s._listener!.AcceptQueueLength > 0 || s._closed, this, ReceiveTimeout, out error))
            {
                return null;
            }

            TcpConnection? connection = _stack.Tcp.Accept(_listener);
            if (connection is null)
            {
                error = SocketError.WouldBlock;
                return null;
            }

            error = SocketError.Success;
            return new NetSocket(_stack, connection);
        }
    }

    /// <summary>Waits (blocking mode) for <paramref name="condition"/> of <paramref name="state"/>; non-blocking returns
    /// WouldBlock at once. Callers pass static lambdas, so a call that need not wait allocates nothing: the closure
    /// the waiter takes is built only on the blocking path.</summary>
    private bool WaitFor<TState>(Func<TState, bool> condition, TState state, TimeSpan? timeout, out SocketError error)
    {
        if (condition(state))
        {
            error = SocketError.Success;
            return true;
        }

        if (!Blocking)
        {
            error = SocketError.WouldBlock;
            return false;
        }

        return WaitBlocking(condition, state, timeout, out error);
    }

    private bool WaitBlocking<TState>(Func<TState, bool> condition, TState state, TimeSpan? timeout, out SocketError error)
    {
        IStackWaiter waiter = _stack.Waiter ?? throw new InvalidOperationException(
            $"stack '{_stack.Name}' has no driver: a blocking call needs a StackDriver (real time) or a Simulator (virtual time)");
        Instant? deadline = timeout is { } t ? Now + t : null;
        // A Close on another thread ends the wait (like Socket.Dispose in .NET): the caller gets OperationAborted.
        bool met = waiter.WaitUntil(() => _closed || condition(state), deadline);
        if (_closed)
        {
            error = SocketError.OperationAborted;
            return false;
        }

        error = met ? SocketError.Success : SocketError.TimedOut;
        return met;
    }

    // ---- connect ----------------------------------------------------------------------------------------------------

    public void Connect(IPEndPoint remote)
    {
        SocketError error = Connect(ToV4(remote.Address), (ushort)remote.Port);
        if (error != SocketError.Success) throw Error(error);
    }

    /// <summary>connect(). Non-blocking: InProgress at once, always (seed 003); the outcome shows as writability
    /// and <see cref="GetPendingError"/>. Blocking: waits for the handshake to finish or fail.</summary>
    public SocketError Connect(IPv4Address address, ushort port) => ConnectCore(address, port, Blocking);

    /// <summary>The body of <see cref="Connect(IPv4Address, ushort)"/>; <paramref name="wait"/> is the blocking
    /// mode (ConnectAsync passes false and waits through its operation instead).</summary>
    private SocketError ConnectCore(IPv4Address address, ushort port, bool wait)
    {
        lock (_stack.SyncRoot)
        {
            ThrowIfClosed();
            if (_udp is not null)
            {
                return _stack.Udp.Connect(_udp, address, port);
            }

            if (_tcp is null)
            {
                return SocketError.InvalidArgument;
            }

            if (_tcp.State is TcpState.SynSent or TcpState.SynReceived || _tcp.IsConnectQueued)
            {
                return wait ? WaitConnected() : SocketError.AlreadyInProgress;
            }

            if (_tcp.State != TcpState.Closed)
            {
                return SocketError.IsConnected;
            }

            if (_tcp.PendingError != SocketError.Success || _lastConnectError != SocketError.Success)
            {
                // a failed socket cannot be reused for another connect (like Linux after ECONNREFUSED: start over)
                _tcp.Observer = null;
                _tcp = _stack.Tcp.CreateConnection();
                _tcp.Observer = this;
                _lastConnectError = SocketError.Success;
            }

            ushort localPort = _boundPort;
            if (!_portReserved)
            {
                SocketError bindError = _stack.Tcp.Bind(IPv4Address.Any, ref localPort, false);
                if (bindError != SocketError.Success) return bindError;
                _boundPort = localPort;
                _portReserved = true;
            }

            SocketError error = _stack.Tcp.Connect(_tcp, _boundAddress, _boundPort, address, port, Now);
            if (error != SocketError.Success)
            {
                return error;
            }

            return wait ? WaitConnected() : SocketError.InProgress;
        }
    }

    private SocketError WaitConnected()
    {
        TcpConnection connection = _tcp!;
        WaitFor(static c => !c.IsConnectQueued && c.State is not (TcpState.SynSent or TcpState.SynReceived), connection, SendTimeout, out SocketError waitError);
        if (waitError != SocketError.Success)
        {
            return waitError;
        }

        if (connection.PendingError != SocketError.Success)
        {
            _lastConnectError = connection.PendingError;
            return connection.PendingError;
        }

        return connection.IsConnected || connection.State == TcpState.CloseWait ? SocketError.Success : SocketError.ConnectionRefused;
    }

    /// <summary>SO_ERROR: the pending error, cleared by reading it (getsockopt semantics).</summary>
    public SocketError GetPendingError()
    {
        lock (_stack.SyncRoot)
        {
            return GetPendingErrorUnlocked();
        }
    }

    // ---- shutdown / close -----------------------------------------------------------------------------------------

    public void Shutdown(SocketShutdown how)
    {
        lock (_stack.SyncRoot)
        {
            ThrowIfClosed();
            if (_tcp is null)
            {
                return;
            }

            if (how is SocketShutdown.Receive or SocketShutdown.Both)
            {
                _tcp.ShutdownReceive();
            }

            if (how is SocketShutdown.Send or SocketShutdown.Both)
            {
                SocketError error = _tcp.ShutdownSend(Now);
                if (error != SocketError.Success) throw Error(error);
            }
        }
    }

    public void Close()
    {
        lock (_stack.SyncRoot)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            Instant now = Now;
            if (_listener is not null)
            {
                _stack.Tcp.CloseListener(_listener, now);
            }

            if (_tcp is not null)
            {
                TcpConnection connection = _tcp;
                connection.Close(now);
                if (connection.Linger is { } linger && linger > TimeSpan.Zero && Blocking && connection.State != TcpState.Closed)
                {
                    LingerWait(connection, now + linger);
                }
            }

            if (_udp is not null)
            {
                _stack.Udp.Close(_udp);
            }

            if (_portReserved)
            {
                _stack.Tcp.Unbind(_boundPort);
                _portReserved = false;
            }

            _stack.Waiter?.Notify();
            ReadinessChanged?.Invoke(this);
        }
    }

    /// <summary>SO_LINGER with a timeout: wait until the data is acknowledged (or the time is up). A method of its
    /// own so that the closure is built only when a close lingers.</summary>
    private void LingerWait(TcpConnection connection, Instant deadline) =>
        _stack.Waiter?.WaitUntil(() => connection.SendQueued == 0 || connection.State is TcpState.Closed or TcpState.TimeWait, deadline);

    public void Dispose() => Close();

    private void ThrowIfClosed() => ObjectDisposedException.ThrowIf(_closed, this);

    // ---- readiness --------------------------------------------------------------------------------------------------

    /// <summary>The readiness epoll would report now.</summary>
    public SocketReadiness Readiness
    {
        get
        {
            lock (_stack.SyncRoot)
            {
                return ReadinessUnlocked;
            }
        }
    }

    internal SocketReadiness ReadinessUnlocked
    {
        get
        {
            if (_closed)
            {
                return SocketReadiness.HangUp;
            }

            if (_listener is not null)
            {
                return _listener.AcceptQueueLength > 0 ? SocketReadiness.Readable : SocketReadiness.None;
            }

            if (_udp is not null)
            {
                SocketReadiness r = SocketReadiness.Writable;
                if (_udp.QueuedDatagrams > 0) r |= SocketReadiness.Readable;
                if (_udp.PendingError != SocketError.Success) r |= SocketReadiness.Error | SocketReadiness.Readable;
                return r;
            }

            TcpConnection c = _tcp!;
            SocketReadiness result = SocketReadiness.None;
            if (c.State is TcpState.SynSent or TcpState.SynReceived || c.IsConnectQueued)
            {
                return result;
            }

            if (c.PendingError != SocketError.Success)
            {
                result |= SocketReadiness.Error | SocketReadiness.HangUp | SocketReadiness.Readable | SocketReadiness.Writable;
            }

            if (c.State == TcpState.Closed && c.Tuple.RemotePort == 0)
            {
                return SocketReadiness.HangUp | SocketReadiness.Writable; // never connected: like Linux's EPOLLOUT|EPOLLHUP
            }

            if (c.CanRead) result |= SocketReadiness.Readable;
            if (c.FinReceived) result |= SocketReadiness.ReadHangUp;
            if (c.CanWrite) result |= SocketReadiness.Writable;
            if (c.State == TcpState.Closed || (c.FinReceived && c.State is TcpState.TimeWait or TcpState.LastAck or TcpState.Closing))
            {
                result |= SocketReadiness.HangUp;
            }

            return result;
        }
    }

    public override string ToString() => _tcp?.ToString() ?? _listener?.ToString() ?? $"udp {LocalEndPoint}";
}
