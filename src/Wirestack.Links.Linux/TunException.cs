namespace Wirestack.Links.Linux;

/// <summary>A native call on a TUN device or a network namespace failed. The message says what was being done,
/// the C library's reason and, for the usual causes, what to do ("cannot open /dev/net/tun: permission denied (run
/// as root)"); <see cref="Errno"/> is the errno.</summary>
public sealed class TunException(string message, int errno) : IOException(message)
{
    public int Errno { get; } = errno;
}
