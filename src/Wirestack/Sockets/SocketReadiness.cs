namespace Wirestack.Sockets;

/// <summary>Readiness as epoll reports it (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP).</summary>
[Flags]
public enum SocketReadiness
{
    None = 0,
    Readable = 1,
    Writable = 4,
    Error = 8,
    HangUp = 16,
    ReadHangUp = 0x2000,
}
