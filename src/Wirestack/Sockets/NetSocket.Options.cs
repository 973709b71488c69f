// setsockopt/getsockopt, with Linux's semantics: SO_RCVBUF/SO_SNDBUF are clamped to rmem_max/wmem_max and doubled
// (getsockopt returns the doubled figure, seed 004 §2.3); SO_ERROR reads and clears the pending error.
using System.Net.Sockets;
using Wirestack.Tcp;

namespace Wirestack.Sockets;

public sealed partial class NetSocket
{
    /// <summary>setsockopt for the standard option names: SO_REUSEADDR, SO_KEEPALIVE, SO_RCVBUF, SO_SNDBUF,
    /// SO_LINGER (seconds; negative turns it off), SO_RCVTIMEO/SO_SNDTIMEO (ms), IP_TOS, TCP_NODELAY and the
    /// keep-alive knobs (TcpKeepAliveTime/Interval in seconds, RetryCount).</summary>
    public SocketError SetSocketOption(SocketOptionLevel level, SocketOptionName name, int value)
    {
        lock (_stack.SyncRoot)
        {
            ThrowIfClosed();
            TcpConnection? c = _tcp ?? _listener?.Template; // a listener's options are its children's
            switch (level, name)
            {
                case (SocketOptionLevel.Socket, SocketOptionName.ReuseAddress):
                    ReuseAddress = value != 0;
                    return SocketError.Success;
                case (SocketOptionLevel.Socket, SocketOptionName.ReceiveTimeout):
                    ReceiveTimeout = value <= 0 ? null : TimeSpan.FromMilliseconds(value);
                    return SocketError.Success;
                case (SocketOptionLevel.Socket, SocketOptionName.SendTimeout):
                    SendTimeout = value <= 0 ? null : TimeSpan.FromMilliseconds(value);
                    return SocketError.Success;
                case (SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer) when _udp is not null:
                    _udp.ReceiveBufferSize = Math.Max(2 * Math.Clamp(value, 0, _stack.Tcp.Settings.CoreReceiveBufferMax), 2304);
                    return SocketError.Success;
            }

            if (c is null)
            {
                return _udp is not null && level == SocketOptionLevel.IP && name == SocketOptionName.TypeOfService
                    ? SocketError.Success
                    : SocketError.ProtocolOption;
            }

            switch (level, name)
            {
                case (SocketOptionLevel.Socket, SocketOptionName.KeepAlive):
                    c.KeepAlive = value != 0;
                    break;
                case (SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer):
                    c.SetReceiveBufferSize(value);
                    break;
                case (SocketOptionLevel.Socket, SocketOptionName.SendBuffer):
                    c.SetSendBufferSize(value);
                    break;
                case (SocketOptionLevel.Socket, SocketOptionName.Linger):
                    c.Linger = value < 0 ? null : TimeSpan.FromSeconds(value);
                    break;
                case (SocketOptionLevel.IP, SocketOptionName.TypeOfService):
                    c.Tos = (byte)value;
                    break;
                case (SocketOptionLevel.Tcp, SocketOptionName.NoDelay):
                    c.NoDelay = value != 0;
                    if (value != 0 && c == _tcp)
                    {
                        c.PushPending(Now); // Linux: setting TCP_NODELAY flushes what Nagle or TCP_CORK holds
                    }

                    break;
                case (SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime):
                    if (value < 1) return SocketError.InvalidArgument;
                    c.KeepIdle = TimeSpan.FromSeconds(value);
                    break;
                case (SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval):
                    if (value < 1) return SocketError.InvalidArgument;
                    c.KeepInterval = TimeSpan.FromSeconds(value);
                    break;
                case (SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount):
                    if (value is < 1 or > 127) return SocketError.InvalidArgument;
                    c.KeepCount = value;
                    break;
                default:
                    return SocketError.ProtocolOption;
            }

            c.ScheduleTimer();
            return SocketError.Success;
        }
    }

    /// <summary>setsockopt for the Linux-only TCP options (TCP_MAXSEG, TCP_SYNCNT, TCP_USER_TIMEOUT, TCP_KEEP*).
    /// Impossible values give InvalidArgument (EINVAL), as Linux does.</summary>
    public SocketError SetSocketOption(LinuxSocketOption option, int value)
    {
        lock (_stack.SyncRoot)
        {
            ThrowIfClosed();
            if ((_tcp ?? _listener?.Template) is not { } c)
            {
                return SocketError.ProtocolOption;
            }

            switch (option)
            {
                case LinuxSocketOption.TcpMaxSegment when value is >= 88 and <= 32767 || value == 0:
                    c.MaxSegmentOption = value;
                    break;
                case LinuxSocketOption.TcpSynCount when value is >= 1 and <= 127:
                    c.SynCount = value;
                    break;
                case LinuxSocketOption.TcpUserTimeout when value >= 0:
                    c.UserTimeout = TimeSpan.FromMilliseconds(value);
                    break;
                case LinuxSocketOption.TcpKeepIdle when value is >= 1 and <= 32767:
                    c.KeepIdle = TimeSpan.FromSeconds(value);
                    break;
                case LinuxSocketOption.TcpKeepInterval when value is >= 1 and <= 32767:
                    c.KeepInterval = TimeSpan.FromSeconds(value);
                    break;
                case LinuxSocketOption.TcpKeepCount when value is >= 1 and <= 127:
                    c.KeepCount = value;
                    break;
                case LinuxSocketOption.TcpNotSentLowat:
                    c.NotSentLowat = value; // Linux keeps it as unsigned: a negative value is a huge limit, read back as given
                    c.Notify();             // Linux calls sk->sk_write_space: the new limit may make the socket writable
                    break;
                case LinuxSocketOption.TcpDeferAccept:
                    c.DeferAcceptTimeouts = TcpConnection.DeferAcceptTimeoutsFor(value);
                    break;
                case LinuxSocketOption.TcpCork:
                    c.SetCork(value != 0, Now);
                    break;
                case LinuxSocketOption.TcpLinger2:
                    // Linux do_tcp_setsockopt: negative → -1, above TCP_FIN_TIMEOUT_MAX (120 s) → 120 s, 0 → the sysctl.
                    c.FinWait2Timeout = value < 0 ? TimeSpan.FromSeconds(-1) : value == 0 ? null : TimeSpan.FromSeconds(Math.Min(value, MaxLinger2Seconds));
                    break;
                default:
                    return SocketError.InvalidArgument;
            }

            c.ScheduleTimer();
            return SocketError.Success;
        }
    }

    /// <summary>Linux's TCP_FIN_TIMEOUT_MAX, in seconds: the largest TCP_LINGER2.</summary>
    public const int MaxLinger2Seconds = 120;

    /// <summary>getsockopt: the values Linux reports (doubled buffers; SO_ERROR read-and-clear).</summary>
    public int GetSocketOption(SocketOptionLevel level, SocketOptionName name)
    {
        lock (_stack.SyncRoot)
        {
            TcpConnection? c = _tcp ?? _listener?.Template; // a listener's options are its children's
            return (level, name) switch
            {
                (SocketOptionLevel.Socket, SocketOptionName.Error) => (int)GetPendingErrorUnlocked(),
                (SocketOptionLevel.Socket, SocketOptionName.ReuseAddress) => ReuseAddress ? 1 : 0,
                (SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer) => c?.ReceiveBufferSize ?? _udp?.ReceiveBufferSize ?? 0,
                (SocketOptionLevel.Socket, SocketOptionName.SendBuffer) => c?.SendBufferSize ?? 0,
                (SocketOptionLevel.Socket, SocketOptionName.KeepAlive) => c?.KeepAlive == true ? 1 : 0,
                (SocketOptionLevel.Socket, SocketOptionName.Linger) => c?.Linger is { } l ? (int)l.TotalSeconds : -1,
                (SocketOptionLevel.IP, SocketOptionName.TypeOfService) => c?.Tos ?? 0,
                (SocketOptionLevel.Tcp, SocketOptionName.NoDelay) => c?.NoDelay == true ? 1 : 0,
                (SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime) =>
                    (int)(c?.KeepIdle ?? _stack.Tcp.Settings.KeepAliveTime).TotalSeconds,
                (SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval) =>
                    (int)(c?.KeepInterval ?? _stack.Tcp.Settings.KeepAliveInterval).TotalSeconds,
                (SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount) => c?.KeepCount ?? _stack.Tcp.Settings.KeepAliveProbes,
                _ => throw Error(SocketError.ProtocolOption, $"getsockopt {level}/{name} is not supported"),
            };
        }
    }

    /// <summary>getsockopt for the Linux-only TCP options.</summary>
    public int GetSocketOption(LinuxSocketOption option)
    {
        lock (_stack.SyncRoot)
        {
            TcpConnection c = _tcp ?? _listener?.Template ?? throw Error(SocketError.ProtocolOption, "not a TCP connection socket");
            TcpSettings s = _stack.Tcp.Settings;
            return option switch
            {
                LinuxSocketOption.TcpMaxSegment => c.State == TcpState.Closed ? (c.MaxSegmentOption == 0 ? 536 : c.MaxSegmentOption) : c.Mss,
                LinuxSocketOption.TcpSynCount => c.SynCount ?? s.SynRetries,
                LinuxSocketOption.TcpUserTimeout => (int)c.UserTimeout.TotalMilliseconds,
                LinuxSocketOption.TcpKeepIdle => (int)(c.KeepIdle ?? s.KeepAliveTime).TotalSeconds,
                LinuxSocketOption.TcpKeepInterval => (int)(c.KeepInterval ?? s.KeepAliveInterval).TotalSeconds,
                LinuxSocketOption.TcpKeepCount => c.KeepCount ?? s.KeepAliveProbes,
                LinuxSocketOption.TcpCork => c.Cork ? 1 : 0,
                LinuxSocketOption.TcpNotSentLowat => c.NotSentLowat,
                LinuxSocketOption.TcpDeferAccept => TcpConnection.DeferAcceptSeconds(c.DeferAcceptTimeouts),
                LinuxSocketOption.TcpLinger2 => c.FinWait2Timeout is { } l2 ? (l2 < TimeSpan.Zero ? -1 : (int)l2.TotalSeconds) : (int)s.FinTimeout.TotalSeconds,
                _ => throw Error(SocketError.ProtocolOption),
            };
        }
    }

    private SocketError GetPendingErrorUnlocked()
    {
        if (_udp is not null)
        {
            SocketError e = _udp.PendingError;
            _udp.PendingError = SocketError.Success;
            return e;
        }

        return _tcp?.ConsumeError() ?? SocketError.Success;
    }
}
