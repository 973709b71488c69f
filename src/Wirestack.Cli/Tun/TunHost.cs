// One Wirestack host on a Linux TUN device, in real time: a StackDriver with one stack, whose only interface is the
// TUN device (wrapped in a capture when --pcap is given), the device's reader waking the driver, and SIGINT/SIGTERM
// turned into a cancellation. Dispose tears it down in the order that loses nothing: the driver stops polling, the
// device closes (a device the host created disappears), then the capture is flushed.
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Wirestack.Cli.Output;
using Wirestack.Links;
using Wirestack.Links.Linux;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Wire;

namespace Wirestack.Cli.Tun;

/// <summary>What every <c>wirestack tun</c> command takes: the device, Wirestack's address on it, the MTU, the
/// capture and the seed.</summary>
internal sealed record TunSettings(string Device, IPv4Cidr Address, int? Mtu, string? Pcap, bool Stats, int? Seed, int RingSlots, bool Offload = false)
{
    /// <summary>Stack options for a real network: the Linux profile, seeded at random unless --seed is given.</summary>
    public NetStackOptions StackOptions() => new() { Name = "wirestack", Seed = Seed ?? Random.Shared.Next() };
}

/// <summary>A stack on a TUN device, driven in real time (see the file comment).</summary>
internal sealed class TunHost : IDisposable
{
    private readonly List<PosixSignalRegistration> _signals = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly FileStream? _pcapFile;
    private readonly PcapWriter? _pcap;
    private readonly Timer _watchdog;
    private bool _disposed;

    private TunHost(StackDriver driver, NetStack stack, TunDevice device, FileStream? pcapFile, PcapWriter? pcap)
    {
        Driver = driver;
        Stack = stack;
        Device = device;
        _pcapFile = pcapFile;
        _pcap = pcap;
        foreach (PosixSignal signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
        {
            _signals.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true; // do not die at once: the command closes its sockets and reports first
                Signal = context.Signal;
                _stopping.Cancel();
            }));
        }

        // The reader stops on its own only when the device went away (deleted, namespace gone): stop the command.
        _watchdog = new Timer(_ =>
        {
            if (Device.ReaderFault is not null)
            {
                _stopping.Cancel();
            }
        }, null, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));
    }

    public StackDriver Driver { get; }

    public NetStack Stack { get; }

    public TunDevice Device { get; }

    /// <summary>Cancelled by SIGINT/SIGTERM, or when the device fails.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>The signal that stopped the host, if one did.</summary>
    public PosixSignal? Signal { get; private set; }

    /// <summary>Why the device stopped, if it did.</summary>
    public Exception? DeviceFault => Device.ReaderFault;

    /// <summary>Wirestack's address on the device.</summary>
    public IPv4Address Address { get; private init; }

    /// <summary>Opens the device, builds the stack and starts the driver. Throws <see cref="TunException"/> when
    /// the device cannot be had, <see cref="CommandFailedException"/> when the capture cannot be written.</summary>
    public static TunHost Start(TunSettings settings)
    {
        FileStream? pcapFile = null;
        if (settings.Pcap is { } path)
        {
            try
            {
                pcapFile = new FileStream(Path.GetFullPath(path), FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                throw new CommandFailedException($"cannot write the capture to '{path}': {ex.Message}", ex);
            }
        }

        var driver = new StackDriver(name: "wirestack-tun");
        TunDevice? device = null;
        try
        {
            NetStack stack = driver.CreateStack(settings.StackOptions());
            device = TunDevice.Open(settings.Device, stack.Pool, new TunOptions { Mtu = settings.Mtu, RingSlots = settings.RingSlots, Offload = settings.Offload });
            device.PacketArrived = driver.Wake;
            PcapWriter? pcap = pcapFile is null ? null : new PcapWriter(pcapFile, LinkMedium.Ip);
            ILinkDevice link = pcap is null ? device : new PcapLink(device, pcap);
            lock (stack.SyncRoot)
            {
                stack.AddInterface(link, settings.Address);
            }

            driver.Start();
            return new TunHost(driver, stack, device, pcapFile, pcap) { Address = settings.Address.Address };
        }
        catch
        {
            driver.Dispose();
            device?.Dispose();
            pcapFile?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Waits (bounded) until every TCP connection has had its data and its FIN acknowledged (FIN-WAIT-2, TIME-WAIT
    /// or gone). A user-space stack dies with its process: without this, bytes still in a send buffer when the
    /// command ends would never be sent, and the peer would wait for a FIN that never comes.
    /// </summary>
    public bool Linger(TimeSpan max) => Driver.WaitFor(Stack,
        () => Stack.Tcp.Connections.All(c => c.State is TcpState.TimeWait or TcpState.FinWait2 or TcpState.Closed), max);

    /// <summary>"tun0 mtu 1500, Wirestack 10.77.0.2/24".</summary>
    public string Describe() => $"{Device.Name} mtu {Device.Mtu}{(Device.Offload ? " (TSO/checksum offload)" : "")}, Wirestack {Stack.Interfaces[0].Address}";

    /// <summary>Packets in the capture so far (0 without one).</summary>
    public long CapturedPackets
    {
        get
        {
            lock (Stack.SyncRoot)
            {
                return _pcap?.RecordCount ?? 0;
            }
        }
    }

    public string? CapturePath => _pcapFile?.Name;

    /// <summary>The counters (netstat -s style, zeros left out) with the device's own figures, then the TCP socket
    /// table (ss -tanoi style).</summary>
    public void PrintStats(TextWriter output)
    {
        output.WriteLine("counters (netstat -s style, zeros left out):");
        new CounterPrinter(output).Print(Snapshot(), "  ");
        output.WriteLine("sockets (ss -tanoi style):");
        IReadOnlyList<SocketTableRow> rows = SocketTable.Capture(Stack, udp: false);
        new SocketTablePrinter(output) { Indent = "  " }.Print(rows);
        if (rows.Count == 0)
        {
            output.WriteLine("  (no TCP sockets)");
        }
    }

    /// <summary>Counters and sockets for --json.</summary>
    public JsonObject StatsJson()
    {
        var groups = new JsonObject();
        foreach ((string group, SortedDictionary<string, long> counters) in Snapshot())
        {
            var values = new JsonObject();
            foreach ((string name, long value) in counters)
            {
                values[name] = value;
            }

            groups[group] = values;
        }

        return new JsonObject { ["counters"] = groups, ["sockets"] = SocketTablePrinter.ToJson(SocketTable.Capture(Stack, udp: false)) };
    }

    private SortedDictionary<string, SortedDictionary<string, long>> Snapshot()
    {
        SortedDictionary<string, SortedDictionary<string, long>> snapshot;
        lock (Stack.SyncRoot)
        {
            snapshot = Stack.SnapshotCounters();
        }

        string group = snapshot.Keys.FirstOrDefault(k => k.EndsWith(":" + Device.Name, StringComparison.Ordinal)) ?? "Link:" + Device.Name;
        if (!snapshot.TryGetValue(group, out SortedDictionary<string, long>? device))
        {
            snapshot[group] = device = new SortedDictionary<string, long>(StringComparer.Ordinal);
        }

        device["rx_ring_slots"] = Device.RingSlots;
        device["rx_ring_buffers"] = Device.RingBuffers;
        device["rx_ring_buffer_bytes"] = Device.RingBufferSize;
        device["rx_bad_vnet_header"] = Device.RxBadHeader;
        device["rx_wakeups"] = Device.RxWakeups;
        device["rx_oversize_drops"] = Device.RxOversize;
        device["tx_errors"] = Device.TxErrors;
        return snapshot;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _watchdog.Dispose();
        foreach (PosixSignalRegistration registration in _signals)
        {
            registration.Dispose();
        }

        Driver.Dispose();
        Device.Dispose();
        if (_pcap is not null)
        {
            lock (Stack.SyncRoot)
            {
                _pcap.Dispose();
                _pcapFile!.Dispose();
            }
        }

        _stopping.Dispose();
    }
}
