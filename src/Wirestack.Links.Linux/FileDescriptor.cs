using System.Runtime.InteropServices;
using Wirestack.Links.Linux.Interop;

namespace Wirestack.Links.Linux;

/// <summary>A file descriptor that is closed once, when the last user lets go: a transmit racing with
/// <see cref="TunDevice.Dispose"/> holds a reference, so the number cannot be closed (and reused by some other
/// open) under its write.</summary>
internal sealed class FileDescriptor : SafeHandle
{
    public FileDescriptor(int fd)
        : base(new IntPtr(-1), ownsHandle: true)
    {
        SetHandle(new IntPtr(fd));
    }

    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>The descriptor number (valid while a reference is held or the handle is open).</summary>
    public int Value => (int)handle.ToInt64();

    protected override bool ReleaseHandle() => LibC.Close(Value) == 0;
}
