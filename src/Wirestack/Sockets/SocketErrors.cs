using System.Net.Sockets;

namespace Wirestack.Sockets;

/// <summary>Maps <see cref="SocketError"/> to the errno names of seed 004 §3.</summary>
public static class SocketErrors
{
    public static string ToErrno(SocketError error) => error switch
    {
        SocketError.Success => "OK",
        SocketError.ConnectionRefused => "ECONNREFUSED",
        SocketError.TimedOut => "ETIMEDOUT",
        SocketError.ConnectionReset => "ECONNRESET",
        SocketError.Shutdown => "EPIPE",
        SocketError.WouldBlock => "EAGAIN",
        SocketError.InProgress => "EINPROGRESS",
        SocketError.AlreadyInProgress => "EALREADY",
        SocketError.AddressAlreadyInUse => "EADDRINUSE",
        SocketError.AddressNotAvailable => "EADDRNOTAVAIL",
        SocketError.NoBufferSpaceAvailable => "ENOBUFS",
        SocketError.NotConnected => "ENOTCONN",
        SocketError.IsConnected => "EISCONN",
        SocketError.InvalidArgument => "EINVAL",
        SocketError.NetworkUnreachable => "ENETUNREACH",
        SocketError.HostUnreachable => "EHOSTUNREACH",
        SocketError.MessageSize => "EMSGSIZE",
        SocketError.OperationAborted => "ECANCELED",
        SocketError.ConnectionAborted => "ECONNABORTED",
        SocketError.ProtocolOption => "ENOPROTOOPT",
        SocketError.OperationNotSupported => "EOPNOTSUPP",
        _ => error.ToString(),
    };
}
