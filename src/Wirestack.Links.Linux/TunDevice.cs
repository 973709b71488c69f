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
//
// Offloads (TunOptions.Offload; Documentation/networking/tuntap.rst): the device is opened with IFF_VNET_HDR as well,
// every packet in either direction has a struct virtio_net_hdr in front of it (VirtioNetHeader), and
// TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4) tells the kernel we take partial checksums and TCP segments of up to 64 KiB,
// as a virtio NIC with TSO would. Then
//   transmit  GsoMaxSize is 65535, so TCP sends several MSS as one large segment (PacketBuffer.GsoSize says the
//             MSS); it goes to the kernel whole, gso_type TCPV4, and every TCP segment goes with a partial checksum
//             (NEEDS_CSUM), which the kernel does not verify again. tx_gso_packets counts the large ones.
//   receive   reads are up to 64 KiB plus the header; the kernel's TSO packets arrive whole (rx_gso_packets) and
//             with partial checksums, which the reader thread completes (as skb_checksum_help would) before the
//             packet goes into the ring; such a packet, or one the kernel marks DATA_VALID, reaches the stack as
//             PacketBuffer.ChecksumTrusted (CHECKSUM_UNNECESSARY). The ring's buffers are then 64 KiB each, but
//             only as many as the ring has held at once are ever allocated (SpscPacketRing).
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
    private long _rxBadHeader;
    private readonly bool _offload;

    private TunDevice(string name, int mtu, FileDescriptor fd, FileDescriptor stop, PacketBufferPool pool, TunOptions options)
    {
        Name = name;
        Mtu = mtu;
        _fd = fd;
        _stop = stop;
        _pool = pool;
        _offload = options.Offload;
        // With offloads, a read is the header and up to an IPv4 datagram's largest size (the kernel's TSO packets are
        // up to its gso_max_size, 64 KiB), whatever the MTU.
        _ring = new SpscPacketRing(options.RingSlots, _offload ? VirtioNetHeader.Size + TunOptions.MaxMtu : mtu);
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
            request.Flags = (short)(LibC.IFF_TUN | LibC.IFF_NO_PI | (options.Offload ? LibC.IFF_VNET_HDR : 0));
            if (LibC.Ioctl(raw, LibC.TUNSETIFF, &request) < 0)
            {
                int errno = LibC.LastError;
                string reason = errno switch
                {
                    LibC.EPERM or LibC.EACCES => $"{LibC.Describe(errno)} (needs CAP_NET_ADMIN: run as root)",
                    LibC.EBUSY => "device busy (another process has it attached)",
                    LibC.EINVAL => $"{LibC.Describe(errno)} (an interface of that name exists and is not a TUN device, " +
                        "or was made with other flags than IFF_TUN|IFF_NO_PI" + (options.Offload ? "|IFF_VNET_HDR)" : ")"),
                    _ => LibC.Describe(errno),
                };
                throw new TunException($"cannot attach TUN device {name}: {reason}", errno);
            }

            string actual = request.GetName();
            if (options.Offload)
            {
                EnableOffloads(raw, actual);
            }

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

    /// <summary>Whether the device was opened with the virtio-net header and offloads (<see cref="TunOptions.Offload"/>).</summary>
    public bool Offload => _offload;

    /// <summary>65535 with offloads on (TCP sends large segments; the kernel takes them whole), else 0.</summary>
    public int GsoMaxSize => _offload ? TunOptions.MaxMtu : 0;

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

    /// <summary>Buffers the receive ring has allocated (each of <see cref="RingBufferSize"/> bytes): the most packets
    /// it has held at once, plus one.</summary>
    public int RingBuffers => _ring.AllocatedBuffers;

    /// <summary>Bytes of each receive ring buffer: the MTU, or the virtio-net header and 64 KiB with offloads.</summary>
    public int RingBufferSize => _ring.SlotSize;

    /// <summary>Packets read with a virtio-net header that could not be used (too short, or a partial checksum
    /// pointing outside the packet): dropped.</summary>
    public long RxBadHeader => Interlocked.Read(ref _rxBadHeader);

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
            VirtioNetHeader header = default;
            if (_offload)
            {
                VirtioNetHeader? made = length > TunOptions.MaxMtu ? null : VirtioNetHeader.ForTransmit(packet.Span, Mtu, packet.GsoSize);
                if (made is null || _stopping)
                {
                    Counters.TxDropped++; // over the MTU and not a TCP segment the kernel can take whole
                    return;
                }

                header = made.Value;
            }
            else if (length > Mtu || _stopping)
            {
                Counters.TxDropped++;
                return;
            }

            bool added = false;
            try
            {
                _fd.DangerousAddRef(ref added);
                nint written;
                int expected = length;
                fixed (byte* bytes = packet.Span)
                {
                    if (_offload)
                    {
                        byte* vnet = stackalloc byte[VirtioNetHeader.Size];
                        header.Write(new Span<byte>(vnet, VirtioNetHeader.Size));
                        LibC.IoVec* vectors = stackalloc LibC.IoVec[2];
                        vectors[0] = new LibC.IoVec { Base = vnet, Length = VirtioNetHeader.Size };
                        vectors[1] = new LibC.IoVec { Base = bytes, Length = (nuint)length };
                        expected += VirtioNetHeader.Size;
                        do
                        {
                            written = LibC.WriteV(_fd.Value, vectors, 2);
                        }
                        while (written < 0 && LibC.LastError == LibC.EINTR);
                    }
                    else
                    {
                        do
                        {
                            written = LibC.Write(_fd.Value, bytes, (nuint)length);
                        }
                        while (written < 0 && LibC.LastError == LibC.EINTR);
                    }
                }

                if (written == expected)
                {
                    Counters.TxPackets++;
                    Counters.TxBytes += length;
                    if (header.IsGso)
                    {
                        Counters.TxGsoPackets++;
                    }

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
        while (_ring.TryPeek(out Span<byte> bytes))
        {
            bool trusted = false;
            if (_offload)
            {
                trusted = (bytes[0] & VirtioNetHeader.FlagDataValid) != 0; // the reader's verdict (see Drain)
                bytes = bytes[VirtioNetHeader.Size..];
            }

            if (_pool.TryRent(bytes.Length, BudgetCause.PacketRx, out PacketBuffer? rented))
            {
                bytes.CopyTo(rented.Append(bytes.Length));
                rented.Timestamp = now.Microseconds;
                rented.ChecksumTrusted = trusted;
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

        if (_offload)
        {
            // The offloads are the interface's features and outlive this file: a persistent device (ip tuntap add)
            // would go on handing TSO packets to its next user, who may not read virtio-net headers.
            bool fdAdded = false;
            try
            {
                _fd.DangerousAddRef(ref fdAdded);
                LibC.IoctlValue(_fd.Value, LibC.TUNSETOFFLOAD, 0);
            }
            catch (ObjectDisposedException)
            {
            }
            finally
            {
                if (fdAdded)
                {
                    _fd.DangerousRelease();
                }
            }
        }

        _fd.Dispose();
        _stop.Dispose();
    }

    public override string ToString() => $"tun {Name} mtu {Mtu}" + (_offload ? " offload" : "");

    private void ReadLoop()
    {
        bool added = false;
        bool stopAdded = false;
        try
        {
            _fd.DangerousAddRef(ref added);
            _stop.DangerousAddRef(ref stopAdded);
            LibC.PollFd* fds = stackalloc LibC.PollFd[2];
            byte[] overflow = GC.AllocateUninitializedArray<byte>(_ring.SlotSize, pinned: true);
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

            long bytes = n;
            if (_offload)
            {
                if (!AcceptVnet(slot, (int)n))
                {
                    continue;
                }

                bytes -= VirtioNetHeader.Size;
            }

            _ring.Publish((int)n);
            Interlocked.Increment(ref Counters.RxPackets);
            Interlocked.Add(ref Counters.RxBytes, bytes);
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

    /// <summary>
    /// A packet just read with offloads on, its virtio-net header in front: completes a partial checksum (the
    /// reader thread does it, off the stack's lock) and leaves the verdict in the header's flags byte for
    /// <see cref="TryReceive"/>: DATA_VALID when the transport checksum is known good (completed here from the
    /// kernel's own bytes, or the kernel says it checked it), else 0, and the stack verifies it. False: dropped.
    /// </summary>
    private bool AcceptVnet(byte[] slot, int length)
    {
        if (length < VirtioNetHeader.Size)
        {
            Interlocked.Increment(ref _rxBadHeader);
            return false;
        }

        var header = VirtioNetHeader.Read(slot);
        if (!header.TryCompleteChecksum(slot.AsSpan(VirtioNetHeader.Size, length - VirtioNetHeader.Size)))
        {
            Interlocked.Increment(ref _rxBadHeader);
            return false;
        }

        slot[0] = (header.Flags & (VirtioNetHeader.FlagNeedsChecksum | VirtioNetHeader.FlagDataValid)) != 0 ? VirtioNetHeader.FlagDataValid : (byte)0;
        if (header.IsGso)
        {
            Interlocked.Increment(ref Counters.RxGsoPackets);
        }

        return true;
    }

    /// <summary>IFF_VNET_HDR was asked for: the header is struct virtio_net_hdr (10 bytes, TUNSETVNETHDRSZ), and
    /// TUNSETOFFLOAD says we take partial checksums and IPv4 TSO packets (tuntap.rst, include/uapi/linux/if_tun.h).</summary>
    private static void EnableOffloads(int fd, string name)
    {
        int size = VirtioNetHeader.Size;
        if (LibC.Ioctl(fd, LibC.TUNSETVNETHDRSZ, &size) < 0)
        {
            int errno = LibC.LastError;
            throw new TunException($"cannot set the virtio-net header size of {name} (TUNSETVNETHDRSZ): {LibC.Describe(errno)}", errno);
        }

        if (LibC.IoctlValue(fd, LibC.TUNSETOFFLOAD, LibC.TUN_F_CSUM | LibC.TUN_F_TSO4) < 0)
        {
            int errno = LibC.LastError;
            throw new TunException($"cannot turn on checksum and TSO offloads of {name} (TUNSETOFFLOAD): {LibC.Describe(errno)}", errno);
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
