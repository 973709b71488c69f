// The readiness API: an epoll(7)-like poller over the sockets of one stack, and a select()-style helper.
//
// Semantics follow Linux epoll. Error and HangUp are always reported, whatever the interest. Level-triggered
// registrations are reported by every Wait while the socket is ready (after a report the entry goes back on the
// ready list and is checked again next time, as ep_send_events does); edge-triggered ones are reported once per
// wake-up the socket gets (ReadinessChanged: new data, new room, a state change), so the caller must drain until
// WouldBlock. OneShot disables the registration after one report until Modify re-arms it. Registration itself
// checks current readiness, as EPOLL_CTL_ADD/MOD do. A non-blocking connect (seed 003) shows as Writable when the
// handshake ends, with Error|HangUp too when it failed; GetPendingError (SO_ERROR) then says why.
//
// Wait blocks through the stack's IStackWaiter, which releases the lock while waiting: in real time a StackDriver
// waits on the stack's monitor; in simulation the simulator runs virtual time forward until something is ready.
using Wirestack.Stack;
using Wirestack.Time;

namespace Wirestack.Sockets;

/// <summary>How a registration reports (EPOLLET, EPOLLONESHOT).</summary>
[Flags]
public enum PollFlags
{
    /// <summary>Level-triggered (the epoll default).</summary>
    None = 0,
    EdgeTriggered = 1,
    OneShot = 2,
}

/// <summary>One readiness report: the socket, what it is ready for, and the registration's user data.</summary>
public readonly record struct PollEvent(NetSocket Socket, SocketReadiness Events, object? UserData);

/// <summary>An epoll instance over sockets of one <see cref="NetStack"/>.</summary>
public sealed class NetPoller : IDisposable
{
    private const SocketReadiness AlwaysReported = SocketReadiness.Error | SocketReadiness.HangUp;

    private readonly NetStack _stack;
    private readonly Dictionary<NetSocket, Registration> _registrations = new(ReferenceEqualityComparer.Instance);
    private readonly Queue<Registration> _ready = new();
    private readonly Func<bool> _hasWork;
    private bool _interrupted;
    private bool _disposed;

    public NetPoller(NetStack stack)
    {
        ArgumentNullException.ThrowIfNull(stack);
        _stack = stack;
        _hasWork = () => _ready.Count > 0 || _interrupted || _disposed;
    }

    public NetStack Stack => _stack;

    /// <summary>Sockets registered.</summary>
    public int Count
    {
        get { lock (_stack.SyncRoot) { return _registrations.Count; } }
    }

    /// <summary>EPOLL_CTL_ADD. Throws <see cref="InvalidOperationException"/> when the socket is already
    /// registered (EEXIST) and <see cref="ArgumentException"/> for a socket of another stack.</summary>
    public void Register(NetSocket socket, SocketReadiness interest, PollFlags flags = PollFlags.None, object? userData = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (!ReferenceEquals(socket.Stack, _stack))
        {
            throw new ArgumentException($"socket {socket} belongs to stack '{socket.Stack.Name}', not '{_stack.Name}'", nameof(socket));
        }

        lock (_stack.SyncRoot)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_registrations.ContainsKey(socket))
            {
                throw new InvalidOperationException($"socket {socket} is already registered (EEXIST)");
            }

            var registration = new Registration(this, socket);
            _registrations.Add(socket, registration);
            socket.ReadinessChanged += registration.OnReadinessChanged;
            registration.Set(interest, flags, userData);
            registration.OnReadinessChanged(socket);
        }
    }

    /// <summary>EPOLL_CTL_MOD: new interest, flags and user data; re-arms a OneShot registration. Throws
    /// <see cref="InvalidOperationException"/> when the socket is not registered (ENOENT).</summary>
    public void Modify(NetSocket socket, SocketReadiness interest, PollFlags flags = PollFlags.None, object? userData = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        lock (_stack.SyncRoot)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_registrations.TryGetValue(socket, out Registration? registration))
            {
                throw new InvalidOperationException($"socket {socket} is not registered (ENOENT)");
            }

            registration.Set(interest, flags, userData);
            registration.OnReadinessChanged(socket);
        }
    }

    /// <summary>EPOLL_CTL_DEL. Returns false when the socket was not registered.</summary>
    public bool Remove(NetSocket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        lock (_stack.SyncRoot)
        {
            if (!_registrations.Remove(socket, out Registration? registration))
            {
                return false;
            }

            socket.ReadinessChanged -= registration.OnReadinessChanged;
            registration.Removed = true;
            return true;
        }
    }

    /// <summary>epoll_wait: fills <paramref name="events"/> with up to its length of reports and returns how many.
    /// <paramref name="timeout"/>: null waits until something is ready, <see cref="TimeSpan.Zero"/> only looks.
    /// Returns 0 on timeout or after <see cref="Interrupt"/>.</summary>
    public int Wait(Span<PollEvent> events, TimeSpan? timeout = null)
    {
        if (events.IsEmpty)
        {
            throw new ArgumentException("the event buffer is empty (EINVAL)", nameof(events));
        }

        lock (_stack.SyncRoot)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Instant? deadline = timeout is { } t && t != System.Threading.Timeout.InfiniteTimeSpan ? _stack.Now + t : null;
            while (true)
            {
                int count = Collect(events);
                if (count > 0 || _interrupted || _disposed)
                {
                    _interrupted = false;
                    return count;
                }

                if (deadline is { } d && _stack.Now >= d)
                {
                    return 0;
                }

                IStackWaiter waiter = _stack.Waiter ?? throw new InvalidOperationException(
                    $"stack '{_stack.Name}' has no driver: waiting needs a StackDriver (real time) or a Simulator (virtual time)");
                if (!waiter.WaitUntil(_hasWork, deadline) && deadline is not null)
                {
                    return Collect(events);
                }
            }
        }
    }

    /// <summary>Makes a <see cref="Wait"/> in progress (or the next one) return, like writing to an eventfd the
    /// poller watches.</summary>
    public void Interrupt()
    {
        lock (_stack.SyncRoot)
        {
            _interrupted = true;
            _stack.Waiter?.Notify();
        }
    }

    public void Dispose()
    {
        lock (_stack.SyncRoot)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach ((NetSocket socket, Registration registration) in _registrations)
            {
                socket.ReadinessChanged -= registration.OnReadinessChanged;
                registration.Removed = true;
            }

            _registrations.Clear();
            _ready.Clear();
            _stack.Waiter?.Notify();
        }
    }

    /// <summary>Moves ready registrations into <paramref name="events"/> (under the lock).</summary>
    private int Collect(Span<PollEvent> events)
    {
        int count = 0;
        int candidates = _ready.Count;
        while (candidates-- > 0 && count < events.Length)
        {
            Registration registration = _ready.Dequeue();
            registration.Queued = false;
            if (registration.Removed)
            {
                continue;
            }

            SocketReadiness ready = registration.Socket.ReadinessUnlocked & registration.Mask;
            if (ready == SocketReadiness.None)
            {
                continue; // no longer ready: dropped from the ready list, as epoll does
            }

            events[count++] = new PollEvent(registration.Socket, ready, registration.UserData);
            if ((registration.Flags & PollFlags.OneShot) != 0)
            {
                registration.Mask = SocketReadiness.None;
            }
            else if ((registration.Flags & PollFlags.EdgeTriggered) == 0)
            {
                Enqueue(registration); // level-triggered: looked at again by the next Wait
            }
        }

        return count;
    }

    private void Enqueue(Registration registration)
    {
        if (!registration.Queued)
        {
            registration.Queued = true;
            _ready.Enqueue(registration);
        }
    }

    /// <summary>select(): keeps in each list only the sockets ready for it (read: readable, at end of stream, in
    /// error or closed; write: writable; error: in error) and returns the total. All sockets must be on one stack.
    /// <paramref name="timeout"/>: null waits until one is ready; zero only looks. For small sets: it rescans
    /// every socket on each wake-up.</summary>
    public static int Select(IList<NetSocket>? checkRead, IList<NetSocket>? checkWrite, IList<NetSocket>? checkError, TimeSpan? timeout)
    {
        NetStack stack = FirstStack(checkRead, checkWrite, checkError)
            ?? throw new ArgumentException("select needs at least one socket");
        lock (stack.SyncRoot)
        {
            bool Ready() => Any(checkRead, SelectRead) || Any(checkWrite, SocketReadiness.Writable) || Any(checkError, SocketReadiness.Error);
            if (!Ready() && timeout != TimeSpan.Zero)
            {
                IStackWaiter waiter = stack.Waiter ?? throw new InvalidOperationException($"stack '{stack.Name}' has no driver");
                Instant? deadline = timeout is { } t && t != System.Threading.Timeout.InfiniteTimeSpan ? stack.Now + t : null;
                waiter.WaitUntil(Ready, deadline);
            }

            return Keep(checkRead, SelectRead) + Keep(checkWrite, SocketReadiness.Writable) + Keep(checkError, SocketReadiness.Error);
        }
    }

    private const SocketReadiness SelectRead = SocketReadiness.Readable | SocketReadiness.HangUp | SocketReadiness.Error;

    private static NetStack? FirstStack(params IList<NetSocket>?[] lists)
    {
        NetStack? stack = null;
        foreach (IList<NetSocket>? list in lists)
        {
            foreach (NetSocket socket in list ?? [])
            {
                stack ??= socket.Stack;
                if (!ReferenceEquals(stack, socket.Stack))
                {
                    throw new ArgumentException("select over sockets of different stacks");
                }
            }
        }

        return stack;
    }

    private static bool Any(IList<NetSocket>? list, SocketReadiness mask)
    {
        if (list is null)
        {
            return false;
        }

        for (int i = 0; i < list.Count; i++)
        {
            if ((list[i].ReadinessUnlocked & mask) != 0)
            {
                return true;
            }
        }

        return false;
    }

    private static int Keep(IList<NetSocket>? list, SocketReadiness mask)
    {
        if (list is null)
        {
            return 0;
        }

        for (int i = list.Count - 1; i >= 0; i--)
        {
            if ((list[i].ReadinessUnlocked & mask) == 0)
            {
                list.RemoveAt(i);
            }
        }

        return list.Count;
    }

    /// <summary>One socket's registration; its handler runs under the stack lock.</summary>
    private sealed class Registration(NetPoller poller, NetSocket socket)
    {
        public NetSocket Socket { get; } = socket;

        public SocketReadiness Mask { get; set; }

        public PollFlags Flags { get; private set; }

        public object? UserData { get; private set; }

        public bool Queued { get; set; }

        public bool Removed { get; set; }

        public void Set(SocketReadiness interest, PollFlags flags, object? userData)
        {
            Mask = interest | AlwaysReported;
            Flags = flags;
            UserData = userData;
        }

        public void OnReadinessChanged(NetSocket changed)
        {
            if (!Removed && (changed.ReadinessUnlocked & Mask) != 0)
            {
                poller.Enqueue(this);
                poller._stack.Waiter?.Notify();
            }
        }
    }
}
