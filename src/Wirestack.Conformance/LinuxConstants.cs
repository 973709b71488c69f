using System.Net.Sockets;
using Wirestack.Sockets;

namespace Wirestack.Conformance;

/// <summary>The Linux numbers of the symbols scripts use (errno names, flags, socket options), so that expected values
/// written as symbols compare with what the stack reports.</summary>
internal static class LinuxConstants
{
    public static readonly Dictionary<string, long> Errno = new()
    {
        ["EPERM"] = 1, ["ENOENT"] = 2, ["EINTR"] = 4, ["EIO"] = 5, ["EBADF"] = 9, ["EAGAIN"] = 11, ["EWOULDBLOCK"] = 11,
        ["ENOMEM"] = 12, ["EFAULT"] = 14, ["EINVAL"] = 22, ["EPIPE"] = 32, ["ENOTSOCK"] = 88, ["EDESTADDRREQ"] = 89,
        ["EMSGSIZE"] = 90, ["EPROTOTYPE"] = 91, ["ENOPROTOOPT"] = 92, ["EPROTONOSUPPORT"] = 93, ["EOPNOTSUPP"] = 95,
        ["EAFNOSUPPORT"] = 97, ["EADDRINUSE"] = 98, ["EADDRNOTAVAIL"] = 99, ["ENETDOWN"] = 100, ["ENETUNREACH"] = 101,
        ["ECONNABORTED"] = 103, ["ECONNRESET"] = 104, ["ENOBUFS"] = 105, ["EISCONN"] = 106, ["ENOTCONN"] = 107,
        ["ESHUTDOWN"] = 108, ["ETIMEDOUT"] = 110, ["ECONNREFUSED"] = 111, ["EHOSTUNREACH"] = 113, ["EALREADY"] = 114,
        ["EINPROGRESS"] = 115, ["ECANCELED"] = 125,
    };

    public static readonly Dictionary<string, long> Symbols = new()
    {
        // fcntl
        ["F_GETFL"] = 3, ["F_SETFL"] = 4, ["O_RDONLY"] = 0, ["O_WRONLY"] = 1, ["O_RDWR"] = 2, ["O_NONBLOCK"] = 0x800,
        // socket
        ["AF_INET"] = 2, ["AF_INET6"] = 10, ["AF_UNSPEC"] = 0, ["PF_INET"] = 2, ["PF_INET6"] = 10,
        ["SOCK_STREAM"] = 1, ["SOCK_DGRAM"] = 2, ["SOCK_RAW"] = 3, ["SOCK_NONBLOCK"] = 0x800, ["SOCK_CLOEXEC"] = 0x80000,
        ["IPPROTO_IP"] = 0, ["IPPROTO_TCP"] = 6, ["IPPROTO_UDP"] = 17,
        // shutdown
        ["SHUT_RD"] = 0, ["SHUT_WR"] = 1, ["SHUT_RDWR"] = 2,
        // send/recv flags
        ["MSG_OOB"] = 1, ["MSG_PEEK"] = 2, ["MSG_DONTWAIT"] = 0x40, ["MSG_WAITALL"] = 0x100, ["MSG_NOSIGNAL"] = 0x4000,
        ["MSG_MORE"] = 0x8000, ["MSG_EOR"] = 0x80, ["MSG_FASTOPEN"] = 0x20000000, ["MSG_ZEROCOPY"] = 0x4000000,
        ["MSG_TRUNC"] = 0x20, ["MSG_ERRQUEUE"] = 0x2000,
        // poll
        ["POLLIN"] = 0x1, ["POLLPRI"] = 0x2, ["POLLOUT"] = 0x4, ["POLLERR"] = 0x8, ["POLLHUP"] = 0x10, ["POLLNVAL"] = 0x20,
        ["POLLRDNORM"] = 0x40, ["POLLWRNORM"] = 0x100, ["POLLRDHUP"] = 0x2000,
        // ioctl
        ["SIOCINQ"] = 0x541B, ["FIONREAD"] = 0x541B, ["SIOCOUTQ"] = 0x5411, ["TIOCOUTQ"] = 0x5411,
        // levels
        ["SOL_SOCKET"] = 1, ["SOL_TCP"] = 6, ["SOL_IP"] = 0,
        ["NULL"] = 0,
    };

    public static long ErrnoNumber(SocketError error) => Errno.TryGetValue(ErrnoName(error), out long n) ? n : 0;

    /// <summary>The Linux errno name for an error the stack reports.</summary>
    public static string ErrnoName(SocketError error) => error switch
    {
        SocketError.Fault => "EFAULT",
        SocketError.NotSocket => "ENOTSOCK",
        SocketError.ProtocolNotSupported => "EPROTONOSUPPORT",
        SocketError.AddressFamilyNotSupported => "EAFNOSUPPORT",
        SocketError.NetworkDown => "ENETDOWN",
        SocketError.Interrupted => "EINTR",
        SocketError.AccessDenied => "EACCES",
        SocketError.Disconnecting => "ESHUTDOWN",
        _ => SocketErrors.ToErrno(error),
    };

    /// <summary>EWOULDBLOCK and EAGAIN are one errno.</summary>
    public static string CanonicalErrno(string name) => name == "EWOULDBLOCK" ? "EAGAIN" : name;
}
