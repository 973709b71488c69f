using System.Net.Sockets;

namespace Wirestack.Sockets;

/// <summary>A <see cref="SocketException"/> that also says why: the cause the stack recorded
/// ("connect timed out: 7 SYNs sent at 0,1,3,7,15,31,63 s ..."). Code catching SocketException sees the usual
/// <see cref="SocketException.SocketErrorCode"/>.</summary>
public sealed class WirestackSocketException : SocketException
{
    public WirestackSocketException(SocketError error, string? cause)
        : base((int)error)
    {
        Cause = cause;
    }

    public string? Cause { get; }

    /// <summary>The errno name Linux would report (ECONNREFUSED, ETIMEDOUT...).</summary>
    public string Errno => SocketErrors.ToErrno(SocketErrorCode);

    public override string Message => Cause is null ? $"{base.Message} ({Errno})" : $"{base.Message} ({Errno}): {Cause}";
}
