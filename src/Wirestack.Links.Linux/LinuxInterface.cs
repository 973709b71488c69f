using Wirestack.Links.Linux.Interop;

namespace Wirestack.Links.Linux;

/// <summary>Interface settings through the classic ioctls on an AF_INET datagram socket, in the calling thread's
/// network namespace (the <c>ifconfig</c> way; no netlink). Addresses and routes are not set here: that is the
/// kernel side's business (<c>ip addr add</c>).</summary>
public static unsafe class LinuxInterface
{
    /// <summary>SIOCGIFMTU.</summary>
    public static int GetMtu(string name)
    {
        LibC.IfReq request = LibC.IfReq.ForName(name);
        Control(name, LibC.SIOCGIFMTU, &request, "read the MTU of");
        return request.Mtu;
    }

    /// <summary>SIOCSIFMTU (needs CAP_NET_ADMIN).</summary>
    public static void SetMtu(string name, int mtu)
    {
        LibC.IfReq request = LibC.IfReq.ForName(name);
        request.Mtu = mtu;
        Control(name, LibC.SIOCSIFMTU, &request, $"set MTU {mtu} on");
    }

    private static void Control(string name, ulong request, LibC.IfReq* argument, string what)
    {
        int socket = LibC.Socket(LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
        if (socket < 0)
        {
            int errno = LibC.LastError;
            throw new TunException($"cannot open a control socket to {what} {name}: {LibC.Describe(errno)}", errno);
        }

        try
        {
            if (LibC.Ioctl(socket, request, argument) < 0)
            {
                int errno = LibC.LastError;
                string hint = errno switch
                {
                    LibC.EPERM or LibC.EACCES => " (needs CAP_NET_ADMIN: run as root)",
                    LibC.EINVAL when request == LibC.SIOCSIFMTU => " (the MTU must be 68 to 65535)",
                    LibC.ENODEV => " (no such interface in this network namespace)",
                    _ => "",
                };
                throw new TunException($"cannot {what} {name}: {LibC.Describe(errno)}{hint}", errno);
            }
        }
        finally
        {
            LibC.Close(socket);
        }
    }
}
