using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Tcp;

namespace Wirestack.Conformance;

/// <summary>System-call lines (spec §3) on <see cref="NetSocket"/>s. Script fds are symbolic: socket() and accept()
/// bind the number the script expects to the socket they return.</summary>
internal sealed partial class ScriptRun
{
    internal static readonly HashSet<string> SupportedCalls =
    [
        "socket", "bind", "listen", "accept", "connect", "write", "send", "sendto", "writev", "read", "recv", "recvfrom", "readv",
        "close", "shutdown", "fcntl", "setsockopt", "getsockopt", "ioctl", "poll",
    ];

    internal static readonly HashSet<string> SupportedSocketOptions =
    [
        "SO_REUSEADDR", "SO_RCVBUF", "SO_SNDBUF", "SO_ERROR", "SO_LINGER", "SO_KEEPALIVE",
        "TCP_NODELAY", "TCP_MAXSEG", "TCP_USER_TIMEOUT", "TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT", "TCP_SYNCNT", "TCP_KEEPINIT", "TCP_LINGER2", "TCP_CORK", "TCP_DEFER_ACCEPT", "TCP_NOTSENT_LOWAT",
    ];

    private const long ORdWr = 2;
    private const long ONonBlock = 0x800;
    private const long MsgDontWait = 0x40;
    private const long MsgNoSignal = 0x4000;
    private const long MsgMore = 0x8000;

    private readonly Dictionary<long, NetSocket> _fds = [];
    private NetSocket? _underTest;

    /// <summary>What a call returned: a value, or -1 with an errno; <see cref="Mismatch"/> for a returned value
    /// (getsockopt's optval, ioctl's count, poll's revents) that differs from the script's.</summary>
    private sealed record CallOutcome(long Value, string? Errno = null, string? Cause = null, string? Mismatch = null)
    {
        public static CallOutcome From(SocketError error, long value, string? cause = null) =>
            error == SocketError.Success ? new CallOutcome(value) : new CallOutcome(-1, LinuxConstants.ErrnoName(error), cause);

        public override string ToString() => Errno is null ? Value.ToString() : $"-1 {Errno}{(Cause is null ? "" : $" ({Cause})")}";
    }

    private bool RunSyscall(SyscallEvent ev)
    {
        long start = Scheduled(ev, false);
        if (!AdvanceTo(start))
        {
            return false;
        }

        long? expectedEnd = null;
        if (ev.Time.BlockingEnd is { } end)
        {
            // E is on the same base as T (spec §2); the script goes on from the call's start while it blocks.
            expectedEnd = ev.Time.Kind == TimeKind.Relative ? BaseFor(false) + end : end;
            Finished(start, false);
        }

        SyscallEvent? savedCall = _currentCall;
        long savedEnd = _pendingExpectedEnd;
        _currentCall = ev;
        _pendingExpectedEnd = expectedEnd ?? start;
        _wouldBlock = false;
        _stalled = null;
        CallOutcome outcome;
        try
        {
            outcome = Call(ev);
        }
        finally
        {
            _currentCall = savedCall;
            _pendingExpectedEnd = savedEnd;
        }

        long returned = NowUs;
        Trace($"{ev.Source} -> {outcome}");
        DrainSent();
        string call = $"{ev.Name}({string.Join(", ", ev.Args)})";
        if (_wouldBlock)
        {
            throw Fail(ev, $"{call} blocked at {Seconds(start)} s, but the script expects it to return at once (no '...')");
        }

        if (_stalled is { } why)
        {
            throw Fail(ev, $"{call} {why}; the script expects it to return at {Seconds(expectedEnd ?? start)} s");
        }

        CheckResult(ev, call, outcome, returned);
        if (expectedEnd is { } expected)
        {
            long tolerance = Tolerance(expected, start);
            if (Math.Abs(returned - expected) > tolerance)
            {
                throw Fail(ev, $"timing: {call} returned {outcome} at {Seconds(returned)} s, expected to return at {Seconds(expected)} s " +
                               $"(tolerance {tolerance} us)");
            }
        }
        else
        {
            Finished(returned, false);
        }

        return true;
    }

    private void CheckResult(SyscallEvent ev, string call, CallOutcome outcome, long at)
    {
        long expected = Evaluate(ev.Result);
        string expectedText = expected < 0 && ev.Errno is not null ? $"{expected} {ev.Errno}" : expected.ToString();
        string When() => $" at {Seconds(at)} s";
        if (expected < 0)
        {
            if (outcome.Errno is null)
            {
                throw Fail(ev, $"{call} returned {outcome.Value}, expected {expectedText}{When()}");
            }

            if (ev.Errno is not null && LinuxConstants.CanonicalErrno(ev.Errno) != LinuxConstants.CanonicalErrno(outcome.Errno))
            {
                throw Fail(ev, $"{call} returned {outcome}, expected {expectedText}{When()}");
            }

            return;
        }

        if (outcome.Errno is not null)
        {
            throw Fail(ev, $"{call} returned {outcome}, expected {expectedText}{When()}");
        }

        bool returnsFd = ev.Name is "socket" or "accept";
        if (!returnsFd && outcome.Value != expected)
        {
            throw Fail(ev, $"{call} returned {outcome.Value}, expected {expectedText}{When()}");
        }

        if (outcome.Mismatch is { } m)
        {
            throw Fail(ev, $"{call}: {m}{When()}");
        }
    }

    private CallOutcome Call(SyscallEvent ev) => ev.Name switch
    {
        "socket" => SocketCall(ev),
        "bind" => WithSocket(ev, s => s.IsListening ? new CallOutcome(-1, "EINVAL") : CallOutcome.From(Bind(ev, s), 0)),
        "listen" => WithSocket(ev, s => CallOutcome.From(s.Listen(checked((int)Evaluate(Arg(ev, 1))), out _), 0)),
        "accept" => WithSocket(ev, s => AcceptCall(ev, s)),
        "connect" => WithSocket(ev, s => ConnectCall(ev, s)),
        "write" or "send" or "sendto" or "writev" => WithSocket(ev, s => WriteCall(ev, s)),
        "read" or "recv" or "recvfrom" or "readv" => WithSocket(ev, s => ReadCall(ev, s)),
        "close" => WithSocket(ev, s => CloseCall(ev, s)),
        "shutdown" => WithSocket(ev, s => ShutdownCall(ev, s)),
        "fcntl" => WithSocket(ev, s => FcntlCall(ev, s)),
        "setsockopt" => WithSocket(ev, s => SetSockOpt(ev, s)),
        "getsockopt" => WithSocket(ev, s => GetSockOpt(ev, s)),
        "ioctl" => WithSocket(ev, s => IoctlCall(ev, s)),
        "poll" => PollCall(ev),
        _ => throw new ScriptSkipException($"system call {ev.Name}()"),
    };

    private static Expr Arg(SyscallEvent ev, int index) =>
        index < ev.Args.Count ? ev.Args[index] : throw new ScriptSkipException($"{ev.Name}() with {ev.Args.Count} arguments (line {ev.Line})");

    private CallOutcome WithSocket(SyscallEvent ev, Func<NetSocket, CallOutcome> body) =>
        _fds.TryGetValue(Evaluate(Arg(ev, 0)), out NetSocket? socket) ? body(socket) : new CallOutcome(-1, "EBADF");

    /// <summary>The numeric value of an argument: integers, symbols (Linux values), A|B, [v], htons(v).</summary>
    internal static long Evaluate(Expr expr) => expr switch
    {
        IntExpr i => i.Value,
        SymbolExpr s when LinuxConstants.Symbols.TryGetValue(s.Name, out long v) => v,
        SymbolExpr s when LinuxConstants.Errno.TryGetValue(s.Name, out long e) => e,
        OrExpr o => o.Terms.Aggregate(0L, (acc, t) => acc | Evaluate(t)),
        ListExpr { Items.Count: 1 } l => Evaluate(l.Items[0]),
        CallExpr { Name: "htons" or "htonl" or "ntohs" or "ntohl", Args.Count: 1 } c => Evaluate(c.Args[0]),
        _ => throw new ScriptSkipException($"argument '{expr}'"),
    };

    private CallOutcome SocketCall(SyscallEvent ev)
    {
        Expr domain = Arg(ev, 0);
        if (domain is not EllipsisExpr && Evaluate(domain) != 2)
        {
            throw new ScriptSkipException($"socket domain {domain} (IPv4 only)");
        }

        long type = Evaluate(Arg(ev, 1));
        if ((type & 0xF) != 1)
        {
            throw new ScriptSkipException($"socket type {Arg(ev, 1)} (TCP stream sockets only)");
        }

        var socket = new NetSocket(Stack, SocketType.Stream, ProtocolType.Tcp) { Blocking = (type & 0x800) == 0 };
        long fd = Evaluate(ev.Result);
        if (fd >= 0)
        {
            _fds[fd] = socket;
        }

        _underTest = socket;
        return new CallOutcome(fd >= 0 ? fd : 3);
    }

    private SocketError Bind(SyscallEvent ev, NetSocket s)
    {
        if (Arg(ev, 1) is not EllipsisExpr)
        {
            throw new ScriptSkipException($"bind() to an explicit address {Arg(ev, 1)}");
        }

        return s.Bind(_localIp, _bindPort);
    }

    private CallOutcome AcceptCall(SyscallEvent ev, NetSocket s)
    {
        NetSocket? accepted = s.Accept(out SocketError error);
        if (accepted is null)
        {
            return CallOutcome.From(error == SocketError.Success ? SocketError.WouldBlock : error, -1);
        }

        long fd = Evaluate(ev.Result);
        _fds[fd >= 0 ? fd : _fds.Keys.Max() + 1] = accepted;
        _underTest = accepted;
        return new CallOutcome(fd);
    }

    private CallOutcome ConnectCall(SyscallEvent ev, NetSocket s)
    {
        Expr address = Arg(ev, 1);
        if (address is not EllipsisExpr)
        {
            throw new ScriptSkipException($"connect() to an explicit address {address}");
        }

        if (s.Connection is { State: TcpState.Closed })
        {
            BeginActiveFlow();
        }

        _underTest = s;
        SocketError error = s.Connect(_remoteIp, _connectPort);
        return CallOutcome.From(error, 0, s.ErrorCause);
    }

    /// <summary>Byte count of write/send/sendto (arg 2) or writev (sum of the iovec lengths).</summary>
    private static int ByteCount(SyscallEvent ev)
    {
        if (ev.Name is "writev" or "readv")
        {
            if (Arg(ev, 1) is not ListExpr iov)
            {
                throw new ScriptSkipException($"{ev.Name}() with iovec {Arg(ev, 1)}");
            }

            return iov.Items.Sum(i => i is StructExpr { Fields.Count: 2 } st ? checked((int)Evaluate(st.Fields[1].Value)) : throw new ScriptSkipException($"iovec {i}"));
        }

        if (Arg(ev, 1) is not EllipsisExpr)
        {
            throw new ScriptSkipException($"{ev.Name}() with buffer {Arg(ev, 1)} (only '...')");
        }

        return checked((int)Evaluate(Arg(ev, 2)));
    }

    /// <summary>MSG_* flags of send/recv: MSG_DONTWAIT, MSG_NOSIGNAL and (send) MSG_MORE are supported; true for
    /// MSG_DONTWAIT.</summary>
    private static bool DontWait(SyscallEvent ev)
    {
        if (ev.Name is "write" or "read" or "writev" or "readv")
        {
            return false;
        }

        long flags = Evaluate(Arg(ev, 3));
        long supported = MsgDontWait | MsgNoSignal | (ev.Name is "send" or "sendto" ? MsgMore : 0);
        if ((flags & ~supported) != 0)
        {
            throw new ScriptSkipException($"{ev.Name}() flags {Arg(ev, 3)}");
        }

        return (flags & MsgDontWait) != 0;
    }

    private CallOutcome WriteCall(SyscallEvent ev, NetSocket s)
    {
        int count = ByteCount(ev);
        bool blocking = s.Blocking;
        if (DontWait(ev))
        {
            s.Blocking = false;
        }

        try
        {
            bool more = ev.Name is "send" or "sendto" && (Evaluate(Arg(ev, 3)) & MsgMore) != 0;
            int n = s.Send(new byte[count], out SocketError error, more);
            return CallOutcome.From(error, n, s.ErrorCause);
        }
        finally
        {
            s.Blocking = blocking;
        }
    }

    private CallOutcome ReadCall(SyscallEvent ev, NetSocket s)
    {
        int count = ByteCount(ev);
        bool blocking = s.Blocking;
        if (DontWait(ev))
        {
            s.Blocking = false;
        }

        try
        {
            int n = s.Receive(new byte[count], out SocketError error);
            return CallOutcome.From(error, n, s.ErrorCause);
        }
        finally
        {
            s.Blocking = blocking;
        }
    }

    private CallOutcome CloseCall(SyscallEvent ev, NetSocket s)
    {
        s.Close();
        foreach (long fd in _fds.Where(kv => kv.Value == s).Select(kv => kv.Key).ToList())
        {
            _fds.Remove(fd);
        }

        return new CallOutcome(0);
    }

    private static CallOutcome ShutdownCall(SyscallEvent ev, NetSocket s)
    {
        SocketShutdown how = Evaluate(Arg(ev, 1)) switch
        {
            0 => SocketShutdown.Receive,
            1 => SocketShutdown.Send,
            2 => SocketShutdown.Both,
            _ => throw new ScriptSkipException($"shutdown how {Arg(ev, 1)}"),
        };
        try
        {
            s.Shutdown(how);
            return new CallOutcome(0);
        }
        catch (WirestackSocketException e)
        {
            return CallOutcome.From(e.SocketErrorCode, -1, e.Cause);
        }
    }

    private static CallOutcome FcntlCall(SyscallEvent ev, NetSocket s)
    {
        switch (Arg(ev, 1))
        {
            case SymbolExpr { Name: "F_GETFL" }:
                return new CallOutcome(ORdWr | (s.Blocking ? 0 : ONonBlock));
            case SymbolExpr { Name: "F_SETFL" }:
                s.Blocking = (Evaluate(Arg(ev, 2)) & ONonBlock) == 0;
                return new CallOutcome(0);
            default:
                throw new ScriptSkipException($"fcntl {Arg(ev, 1)}");
        }
    }

    private static string OptionName(SyscallEvent ev) => Arg(ev, 2) is SymbolExpr { Name: var name } && SupportedSocketOptions.Contains(name)
        ? name
        : throw new ScriptSkipException($"socket option {Arg(ev, 2)}");

    /// <summary>The stack's name for a script's socket option: a standard one, or a Linux-only one.</summary>
    private static (SocketOptionLevel Level, SocketOptionName Name)? StandardOption(string name) => name switch
    {
        "SO_REUSEADDR" => (SocketOptionLevel.Socket, SocketOptionName.ReuseAddress),
        "SO_RCVBUF" => (SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer),
        "SO_SNDBUF" => (SocketOptionLevel.Socket, SocketOptionName.SendBuffer),
        "SO_ERROR" => (SocketOptionLevel.Socket, SocketOptionName.Error),
        "SO_LINGER" => (SocketOptionLevel.Socket, SocketOptionName.Linger),
        "SO_KEEPALIVE" => (SocketOptionLevel.Socket, SocketOptionName.KeepAlive),
        "TCP_NODELAY" => (SocketOptionLevel.Tcp, SocketOptionName.NoDelay),
        _ => null,
    };

    private static LinuxSocketOption LinuxOption(string name) => name switch
    {
        "TCP_MAXSEG" => LinuxSocketOption.TcpMaxSegment,
        "TCP_SYNCNT" => LinuxSocketOption.TcpSynCount,
        "TCP_USER_TIMEOUT" => LinuxSocketOption.TcpUserTimeout,
        "TCP_KEEPIDLE" => LinuxSocketOption.TcpKeepIdle,
        "TCP_KEEPINTVL" => LinuxSocketOption.TcpKeepInterval,
        "TCP_KEEPCNT" => LinuxSocketOption.TcpKeepCount,
        "TCP_LINGER2" => LinuxSocketOption.TcpLinger2,
        "TCP_CORK" => LinuxSocketOption.TcpCork,
        "TCP_DEFER_ACCEPT" => LinuxSocketOption.TcpDeferAccept,
        "TCP_NOTSENT_LOWAT" => LinuxSocketOption.TcpNotSentLowat,
        _ => throw new ScriptSkipException($"socket option {name}"),
    };

    /// <summary>setsockopt through the stack's own socket-option API (Linux semantics: doubled buffers, EINVAL for
    /// impossible values).</summary>
    private CallOutcome SetSockOpt(SyscallEvent ev, NetSocket s)
    {
        string name = OptionName(ev);
        Expr value = Arg(ev, 3);
        if (name == "TCP_KEEPINIT")
        {
            // FreeBSD's per-socket connect timeout. The stack has only the stack-wide keepinit, and a script drives
            // one connection, so the stack-wide value stands in for it.
            Stack.Tcp.Settings.ConnectTimeout = TimeSpan.FromSeconds(Evaluate(value));
            return new CallOutcome(0);
        }

        int v;
        if (name == "SO_LINGER")
        {
            if (value is not StructExpr st || st.Field("onoff") is not { } onoff || st.Field("linger") is not { } linger)
            {
                throw new ScriptSkipException($"SO_LINGER value {value}");
            }

            v = Evaluate(onoff) != 0 ? checked((int)Evaluate(linger)) : -1;
        }
        else
        {
            v = checked((int)Evaluate(value));
        }

        SocketError error = StandardOption(name) is var (level, option)
            ? s.SetSocketOption(level, option, v)
            : s.SetSocketOption(LinuxOption(name), v);
        return CallOutcome.From(error, 0);
    }

    private CallOutcome GetSockOpt(SyscallEvent ev, NetSocket s)
    {
        string name = OptionName(ev);
        if (name is "TCP_KEEPINIT" or "SO_LINGER")
        {
            throw new ScriptSkipException($"getsockopt {name}");
        }

        long actual;
        try
        {
            int raw = StandardOption(name) is var (level, option) ? s.GetSocketOption(level, option) : s.GetSocketOption(LinuxOption(name));
            actual = name == "SO_ERROR" ? LinuxConstants.ErrnoNumber((SocketError)raw) : raw;
        }
        catch (WirestackSocketException e)
        {
            return CallOutcome.From(e.SocketErrorCode, -1, e.Cause);
        }

        string? mismatch = null;
        Expr expectedValue = Arg(ev, 3);
        if (expectedValue is not EllipsisExpr && Evaluate(expectedValue) != actual)
        {
            string shown = name == "SO_ERROR" ? ErrnoText(actual) : actual.ToString();
            mismatch = $"{name} is {shown}, expected {expectedValue}";
        }
        else if (Arg(ev, 4) is ListExpr { Items: [IntExpr { Value: var len }] } && len != 4)
        {
            mismatch = $"optlen is 4, expected {len}";
        }

        return new CallOutcome(0, Mismatch: mismatch);
    }

    private static string ErrnoText(long errno) =>
        LinuxConstants.Errno.FirstOrDefault(kv => kv.Value == errno && kv.Key != "EWOULDBLOCK").Key is { } n ? $"[{n}]" : $"[{errno}]";

    private static CallOutcome IoctlCall(SyscallEvent ev, NetSocket s)
    {
        string request = Arg(ev, 1) is SymbolExpr sym ? sym.Name : "";
        TcpConnection c = s.Connection ?? throw new ScriptSkipException($"ioctl {request} on a listening socket");
        long actual = request switch
        {
            "SIOCINQ" or "FIONREAD" => c.ReceiveQueued,
            "SIOCOUTQ" or "TIOCOUTQ" => c.SendQueued,
            _ => throw new ScriptSkipException($"ioctl {Arg(ev, 1)}"),
        };
        long expected = Evaluate(Arg(ev, 2));
        return new CallOutcome(0, Mismatch: actual == expected ? null : $"{request} is {actual}, expected {expected}");
    }

    private CallOutcome PollCall(SyscallEvent ev)
    {
        if (Arg(ev, 0) is not ListExpr list)
        {
            throw new ScriptSkipException($"poll() with {Arg(ev, 0)}");
        }

        var entries = new List<(NetSocket? Socket, long Events, long? Revents)>();
        foreach (Expr item in list.Items)
        {
            if (item is not StructExpr st || st.Field("fd") is not { } fd || st.Field("events") is not { } events)
            {
                throw new ScriptSkipException($"pollfd {item}");
            }

            entries.Add((_fds.GetValueOrDefault(Evaluate(fd)), Evaluate(events), st.Field("revents") is { } r ? Evaluate(r) : null));
        }

        long Revents((NetSocket? Socket, long Events, long? Revents) e)
        {
            const long always = 0x8 | 0x10 | 0x20; // POLLERR | POLLHUP | POLLNVAL
            if (e.Socket is null)
            {
                return 0x20;
            }

            SocketReadiness r = e.Socket.Readiness;
            long bits = 0;
            if ((r & SocketReadiness.Readable) != 0) bits |= 0x1 | 0x40;
            if ((r & SocketReadiness.Writable) != 0) bits |= 0x4 | 0x100;
            if ((r & SocketReadiness.Error) != 0) bits |= 0x8;
            if ((r & SocketReadiness.HangUp) != 0) bits |= 0x10;
            if ((r & SocketReadiness.ReadHangUp) != 0) bits |= 0x2000;
            return bits & (e.Events | always);
        }

        int Ready() => entries.Count(e => Revents(e) != 0);

        long timeoutMs = Evaluate(Arg(ev, 2));
        if (Ready() == 0 && timeoutMs != 0)
        {
            Time.Instant? deadline = timeoutMs < 0 ? null : _host.Clock.Now + TimeSpan.FromMilliseconds(timeoutMs);
            lock (Stack.SyncRoot)
            {
                WaitUntil(() => Ready() > 0, deadline);
            }

            if (_wouldBlock && timeoutMs > 0)
            {
                // a poll written without '...' that has to wait: it may, up to its timeout, with the stack's timers running
                _wouldBlock = false;
                while (Ready() == 0 && _host.Clock.Now < deadline!.Value)
                {
                    StepTime(deadline.Value.Microseconds - _startUs, out _);
                }
            }
        }

        var differences = new List<string>();
        foreach ((NetSocket? Socket, long Events, long? Revents) e in entries)
        {
            long actual = Revents(e);
            if (e.Revents is { } expected && expected != actual)
            {
                differences.Add($"revents 0x{actual:x}, expected 0x{expected:x}");
            }
        }

        return new CallOutcome(Ready(), Mismatch: differences.Count > 0 ? string.Join("; ", differences) : null);
    }
}
