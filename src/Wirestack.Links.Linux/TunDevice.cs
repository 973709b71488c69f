// A Linux TUN device (IFF_TUN | IFF_NO_PI: bare IPv4 datagrams, no packet-information header) as a Wirestack link,
// built like a NIC driver:
//
//   receive   a reader thread (the "interrupt") sleeps in poll() on the non-blocking fd and an eventfd (the stop
//             signal); when the fd is readable it reads every waiting datagram, each straight into a slot of a
//             bounded single-producer/single-consumer ring, until read() says EAGAIN, and wakes the stack's driver
//             (PacketArrived) every WakeBatch packets and at the end of the burst. A datagram that finds the ring full
//             is read anyway (so the kernel's queue keeps moving) and dropped: rx_missed_errors, as a NIC counts it.
//             TryReceive, called by the stack under its lock, copies the oldest slot into a buffer of the stack's
//             own pool (charged to its budget) and frees the slot. PollAt says "now" while the ring holds packets,
//             so a stack that took only its per-poll budget comes straight back.
//   transmit  write() of the datagram on the calling thread (the stack's lock is held); the kernel takes it
//             synchronously. EAGAIN/ENOBUFS, a down link (EIO) or a datagram over the MTU: dropped, tx_dropped.
//
// The MTU is set with SIOCSIFMTU when asked (up to 65535) or read with SIOCGIFMTU; addresses, routes and the link's
// up/down state are left to the kernel side (ip addr / ip link), as for any NIC driver.
using System.Diagnostics.CodeAnalysis;
using Wirestack.Buffers;
using Wirestack.Links.Linux.Interop;
using Wirestack.Time;

namespace Wirestack.Links.Linux;

/// <summary>A TUN device on Linux (see the file comment).</summary>
public sealed unsafe class TunDevice : ILinkDevice, IDisposable
{
    private const string DevicePath = "/dev/net/tun";

    private readonly FileDescriptor _fd;
    private readonly FileDescriptor _stop;
    private readonly PacketBufferPool _pool;
    private readonly SpscPacketRing _ring;
    private readonly int _wakeBatch;
    private readonly Thread _reader;
    private volatile bool _stopping;
    private int _disposed;
    private long _rxOversize;
    private long _rxWakeups;
    private long _txErrors;

    private TunDevice(string name, int mtu, FileDescriptor fd, FileDescriptor stop, PacketBufferPool pool, TunOptions options)
    {
        Name = name;
        Mtu = mtu;
        _fd = fd;
        _stop = stop;
        _pool = pool;
        _ring = new SpscPacketRing(options.RingSlots, mtu);
        _wakeBatch = Math.Max(1, options.WakeBatch);
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = $"tun-rx {name}" };
    }

    /// <summary>
    /// Opens <c>/dev/net/tun</c> and attaches to the TUN device <paramref name="name"/> in the calling thread's
    /// network namespace, creating it if it does not exist (it then disappears when this device is disposed; a
    /// device made beforehand with <c>ip tuntap add mode tun</c> persists). A name with <c>%d</c> lets the kernel
    /// number it (<see cref="Name"/> says which). Received packets are copied into <paramref name="pool"/>, the
    /// pool of the stack the device is given to. The reader thread starts at once.
    /// </summary>
    /// <exception cref="TunException">The device cannot be opened, attached or configured; the message says why.</exception>
    public static TunDevice Open(string name, PacketBufferPool pool, TunOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(pool);
        options ??= new TunOptions();
        ValidateName(name);
        if (options.Mtu is { } wanted && wanted is < 68 or > TunOptions.MaxMtu)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"MTU {wanted} is out of range (68 to {TunOptions.MaxMtu})");
        }

        int raw = LibC.Open(DevicePath, LibC.O_RDWR | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (raw < 0)
        {
            int errno = LibC.LastError;
            string hint = errno switch
            {
                LibC.EACCES or LibC.EPERM => " (run as root)",
                LibC.ENOENT or LibC.ENODEV => " (is the tun module loaded? modprobe tun)",
                _ => "",
            };
            throw new TunException($"cannot open {DevicePath}: {LibC.Describe(errno)}{hint}", errno);
        }

        var fd = new FileDescriptor(raw);
        FileDescriptor? stop = null;
        try
        {
            LibC.IfReq request = LibC.IfReq.ForName(name);
            request.Flags = LibC.IFF_TUN | LibC.IFF_NO_PI;
            if (LibC.Ioctl(raw, LibC.TUNSETIFF, &request) < 0)
            {
                int errno = LibC.LastError;
                string reason = errno switch
                {
                    LibC.EPERM or LibC.EACCES => $"{LibC.Describe(errno)} (needs CAP_NET_ADMIN: run as root)",
                    LibC.EBUSY => "device busy (another process has it attached)",
                    LibC.EINVAL => $"{LibC.Describe(errno)} (an interface of that name exists and is not a TUN device, " +
                        "or was made with other flags than IFF_TUN|IFF_NO_PI)",
                    _ => LibC.Describe(errno),
                };
                throw new TunException($"cannot attach TUN device {name}: {reason}", errno);
            }

            string actual = request.GetName();
            if (options.Mtu is { } mtu)
            {
                LinuxInterface.SetMtu(actual, mtu);
            }

            int current = LinuxInterface.GetMtu(actual);
            int stopFd = LibC.EventFd(0, LibC.EFD_CLOEXEC | LibC.EFD_NONBLOCK);
            if (stopFd < 0)
            {
                int errno = LibC.LastError;
                throw new TunException($"cannot make an eventfd for the reader of {actual}: {LibC.Describe(errno)}", errno);
            }

            stop = new FileDescriptor(stopFd);
            var device = new TunDevice(actual, current, fd, stop, pool, options);
            device._reader.Start();
            return device;
        }
        catch
        {
            stop?.Dispose();
            fd.Dispose();
            throw;
        }
    }

    public string Name { get; }

    public LinkMedium Medium => LinkMedium.Ip;

    public int Mtu { get; }

    public LinkCounters Counters { get; } = new();

    /// <summary>Called on the reader thread after packets were put in the ring: set it to the driver's
    /// <c>Wake</c>. It must not block.</summary>
    public Action? PacketArrived { get; set; }

    /// <summary>Now while the ring holds packets (the stack should take them at once), else unknown.</summary>
    public Instant? PollAt => _ring.IsEmpty ? null : Instant.Zero;

    /// <summary>Slots of the receive ring.</summary>
    public int RingSlots => _ring.Capacity;

    /// <summary>Packets waiting in the ring.</summary>
    public int RingCount => _ring.Count;

    /// <summary>Datagrams longer than the MTU the device was opened with (the interface MTU was raised behind its
    /// back): dropped.</summary>
    public long RxOversize => Interlocked.Read(ref _rxOversize);

    /// <summary>Times the reader woke the driver.</summary>
    public long RxWakeups => Interlocked.Read(ref _rxWakeups);

    /// <summary>Writes that failed for another reason than a full queue (the link is down: EIO).</summary>
    public long TxErrors => Interlocked.Read(ref _txErrors);

    /// <summary>What stopped the reader thread, if it stopped on its own (the device was deleted).</summary>
    public Exception? ReaderFault { get; private set; }

    /// <summary>Writes one datagram to the kernel; always disposes <paramref name="packet"/>.</summary>
    public void Transmit(PacketBuffer packet, Instant now)
    {
        ArgumentNullException.ThrowIfNull(packet);
        using (packet)
        {
            int length = packet.Length;
            if (length > Mtu || _stopping)
            {
                Counters.TxDropped++;
                return;
            }

            bool added = false;
            try
            {
                _fd.DangerousAddRef(ref added);
                nint written;
                fixed (byte* bytes = packet.Span)
                {
                    do
                    {
                        written = LibC.Write(_fd.Value, bytes, (nuint)length);
                    }
                    while (written < 0 && LibC.LastError == LibC.EINTR);
                }

                if (written == length)
                {
                    Counters.TxPackets++;
                    Counters.TxBytes += length;
                    return;
                }

                Counters.TxDropped++;
                if (written < 0 && LibC.LastError is not (LibC.EAGAIN or LibC.ENOMEM or LibC.ENOBUFS))
                {
                    Interlocked.Increment(ref _txErrors);
                }
            }
            catch (ObjectDisposedException)
            {
                Counters.TxDropped++; // the device closed under us
            }
            finally
            {
                if (added)
                {
                    _fd.DangerousRelease();
                }
            }
        }
    }

    /// <summary>Takes the oldest received datagram, copied into a buffer of the stack's pool.</summary>
    public bool TryReceive(Instant now, [NotNullWhen(true)] out PacketBuffer? packet)
    {
        while (_ring.TryPeek(out ReadOnlySpan<byte> bytes))
        {
            if (_pool.TryRent(bytes.Length, BudgetCause.PacketRx, out PacketBuffer? rented))
            {
                bytes.CopyTo(rented.Append(bytes.Length));
                rented.Timestamp = now.Microseconds;
                _ring.Release();
                packet = rented;
                return true;
            }

            _ring.Release();
            Interlocked.Increment(ref Counters.RxMissed); // the stack's budget is spent: dropped as a NIC would
        }

        packet = null;
        return false;
    }

    /// <summary>Stops the reader thread and closes the device (a device this one created disappears).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping = true;
        ulong one = 1;
        bool added = false;
        _stop.DangerousAddRef(ref added);
        try
        {
            LibC.Write(_stop.Value, (byte*)&one, sizeof(ulong));
        }
        finally
        {
            _stop.DangerousRelease();
        }

        if (Thread.CurrentThread != _reader && _reader.IsAlive)
        {
            _reader.Join();
        }

        _fd.Dispose();
        _stop.Dispose();
    }

    public override string ToString() => $"tun {Name} mtu {Mtu}";

    private void ReadLoop()
    {
        bool added = false;
        bool stopAdded = false;
        try
        {
            _fd.DangerousAddRef(ref added);
            _stop.DangerousAddRef(ref stopAdded);
            LibC.PollFd* fds = stackalloc LibC.PollFd[2];
            byte[] overflow = GC.AllocateUninitializedArray<byte>(Mtu, pinned: true);
            while (!_stopping)
            {
                fds[0] = new LibC.PollFd { Fd = _fd.Value, Events = LibC.POLLIN };
                fds[1] = new LibC.PollFd { Fd = _stop.Value, Events = LibC.POLLIN };
                if (LibC.Poll(fds, 2, -1) < 0)
                {
                    int errno = LibC.LastError;
                    if (errno == LibC.EINTR)
                    {
                        continue;
                    }

                    throw new TunException($"poll on {Name} failed: {LibC.Describe(errno)}", errno);
                }

                if (fds[1].Revents != 0 || _stopping)
                {
                    break;
                }

                if ((fds[0].Revents & LibC.POLLIN) == 0 && (fds[0].Revents & (LibC.POLLERR | LibC.POLLHUP | LibC.POLLNVAL)) != 0)
                {
                    throw new TunException($"TUN device {Name} reported an error (was it deleted?)", LibC.EBADFD);
                }

                Drain(overflow);
            }
        }
        catch (Exception ex)
        {
            ReaderFault = ex;
        }
        finally
        {
            if (added)
            {
                _fd.DangerousRelease();
            }

            if (stopAdded)
            {
                _stop.DangerousRelease();
            }
        }
    }

    /// <summary>Reads until the kernel has nothing more (EAGAIN), waking the stack as packets go into the ring.</summary>
    private void Drain(byte[] overflow)
    {
        int batch = 0;
        while (!_stopping)
        {
            byte[]? slot = _ring.ProducerSlot();
            byte[] target = slot ?? overflow;
            nint n;
            fixed (byte* p = target)
            {
                n = LibC.Read(_fd.Value, p, (nuint)target.Length);
            }

            if (n < 0)
            {
                int errno = LibC.LastError;
                if (errno == LibC.EINTR)
                {
                    continue;
                }

                if (errno == LibC.EAGAIN)
                {
                    break;
                }

                if (errno is LibC.EINVAL or LibC.EMSGSIZE or LibC.EFAULT)
                {
                    Interlocked.Increment(ref _rxOversize); // the datagram did not fit the slot; the kernel freed it
                    continue;
                }

                throw new TunException($"read from TUN device {Name} failed: {LibC.Describe(errno)}", errno);
            }

            if (n > target.Length)
            {
                Interlocked.Increment(ref _rxOversize); // truncated by the kernel: the MTU was raised behind our back
                continue;
            }

            if (slot is null)
            {
                Interlocked.Increment(ref Counters.RxMissed);
                Interlocked.Increment(ref Counters.RxFifoErrors);
                continue;
            }

            _ring.Publish((int)n);
            Interlocked.Increment(ref Counters.RxPackets);
            Interlocked.Add(ref Counters.RxBytes, n);
            if (++batch >= _wakeBatch)
            {
                Wake();
                batch = 0;
            }
        }

        if (batch > 0)
        {
            Wake();
        }
    }

    private void Wake()
    {
        Interlocked.Increment(ref _rxWakeups);
        PacketArrived?.Invoke();
    }

    /// <summary>Whether <paramref name="name"/> can name a Linux interface (1 to 15 printable ASCII characters, no
    /// '/', ':' or spaces); <paramref name="error"/> says why not.</summary>
    public static bool IsValidName(string name, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length is 0 or >= LibC.IFNAMSIZ || name.Any(c => c is <= ' ' or '/' or ':' or > '~'))
        {
            error = $"'{name}' is not a valid interface name (1 to {LibC.IFNAMSIZ - 1} printable ASCII characters, no '/', ':' or spaces)";
            return false;
        }

        error = null;
        return true;
    }

    private static void ValidateName(string name)
    {
        if (!IsValidName(name, out string? error))
        {
            throw new ArgumentException(error, nameof(name));
        }
    }
}
