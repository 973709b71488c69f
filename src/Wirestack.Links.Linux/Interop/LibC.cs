// Every native call of Wirestack, in one place: the libc functions the Linux TUN device and the network-namespace
// helper need, with the constants and struct layouts of the Linux x86-64 / arm64 ABI (both use the asm-generic
// values for everything here). Calls set errno (SetLastError), read back with Marshal.GetLastPInvokeError.
using System.Runtime.InteropServices;
using System.Text;

namespace Wirestack.Links.Linux.Interop;

internal static unsafe partial class LibC
{
    private const string Library = "libc";

    // open(2) flags
    public const int O_RDWR = 0x2;
    public const int O_RDONLY = 0x0;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;

    // <linux/if_tun.h>: TUNSETIFF = _IOW('T', 202, int), TUNGETIFF = _IOR('T', 210, unsigned int)
    public const ulong TUNSETIFF = 0x400454ca;
    public const ulong TUNGETIFF = 0x800454d2;
    public const short IFF_TUN = 0x0001;
    public const short IFF_NO_PI = 0x1000;

    // <linux/if_tun.h>, the virtio-net header offloads (Documentation/networking/tuntap.rst): IFF_VNET_HDR puts a
    // struct virtio_net_hdr in front of every packet read or written; TUNSETVNETHDRSZ = _IOW('T', 216, int) sets its
    // size (argument: a pointer to an int); TUNSETOFFLOAD = _IOW('T', 208, unsigned int) says which offloads the
    // reader of the device handles (argument: the TUN_F_* bits themselves, by value).
    public const short IFF_VNET_HDR = 0x4000;
    public const ulong TUNSETOFFLOAD = 0x400454d0;
    public const ulong TUNSETVNETHDRSZ = 0x400454d8;
    public const uint TUN_F_CSUM = 0x01; // "You can hand me unchecksummed packets."
    public const uint TUN_F_TSO4 = 0x02; // "I can handle TSO for IPv4 packets"

    // <linux/sockios.h>
    public const ulong SIOCGIFFLAGS = 0x8913;
    public const ulong SIOCSIFFLAGS = 0x8914;
    public const ulong SIOCGIFMTU = 0x8921;
    public const ulong SIOCSIFMTU = 0x8922;

    // <net/if.h>
    public const short IFF_UP = 0x1;

    // socket(2)
    public const int AF_INET = 2;
    public const int SOCK_DGRAM = 2;
    public const int SOCK_CLOEXEC = 0x80000;

    // poll(2)
    public const short POLLIN = 0x1;
    public const short POLLERR = 0x8;
    public const short POLLHUP = 0x10;
    public const short POLLNVAL = 0x20;

    // eventfd(2)
    public const int EFD_NONBLOCK = 0x800;
    public const int EFD_CLOEXEC = 0x80000;

    // setns(2)
    public const int CLONE_NEWNET = 0x40000000;

    // errno
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EFAULT = 14;
    public const int EBUSY = 16;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int EMSGSIZE = 90;
    public const int ENOBUFS = 105;
    public const int EBADFD = 77;

    /// <summary>IFNAMSIZ: an interface name is at most 15 bytes and a NUL.</summary>
    public const int IFNAMSIZ = 16;

    /// <summary><c>struct ifreq</c>: the name, then a 24-byte union of which we use <c>ifr_flags</c> (short) and
    /// <c>ifr_mtu</c> (int), both at offset 16. 40 bytes on 64-bit Linux.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 40)]
    public struct IfReq
    {
        [FieldOffset(0)]
        public fixed byte Name[IFNAMSIZ];

        [FieldOffset(16)]
        public short Flags;

        [FieldOffset(16)]
        public int Mtu;

        public static IfReq ForName(string name)
        {
            var request = default(IfReq);
            request.SetName(name);
            return request;
        }

        public void SetName(string name)
        {
            fixed (byte* p = Name)
            {
                var span = new Span<byte>(p, IFNAMSIZ);
                span.Clear();
                Encoding.ASCII.GetBytes(name, span[..(IFNAMSIZ - 1)]);
            }
        }

        public readonly string GetName()
        {
            fixed (byte* p = Name)
            {
                var span = new ReadOnlySpan<byte>(p, IFNAMSIZ);
                int end = span.IndexOf((byte)0);
                return Encoding.ASCII.GetString(end < 0 ? span : span[..end]);
            }
        }
    }

    /// <summary><c>struct pollfd</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Library, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport(Library, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nuint count);

    [LibraryImport(Library, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, ulong request, IfReq* argument);

    [LibraryImport(Library, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, ulong request, int* argument);

    /// <summary>ioctl(2) whose argument is a value, not a pointer (TUNSETOFFLOAD).</summary>
    [LibraryImport(Library, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int IoctlValue(int fd, ulong request, nuint argument);

    /// <summary><c>struct iovec</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [LibraryImport(Library, EntryPoint = "writev", SetLastError = true)]
    public static partial nint WriteV(int fd, IoVec* vectors, int count);

    [LibraryImport(Library, EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(Library, EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport(Library, EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initialValue, int flags);

    [LibraryImport(Library, EntryPoint = "setns", SetLastError = true)]
    public static partial int SetNs(int fd, int namespaceType);

    /// <summary>errno of the last call made through this class on this thread.</summary>
    public static int LastError => Marshal.GetLastPInvokeError();

    /// <summary>The C library's text for an errno, in lower case as error messages quote it ("permission denied").</summary>
    public static string Describe(int errno)
    {
        string text = Marshal.GetPInvokeErrorMessage(errno);
        return text.Length > 0 ? char.ToLowerInvariant(text[0]) + text[1..] : $"errno {errno}";
    }
}
