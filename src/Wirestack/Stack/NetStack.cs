// The composition root of one host: devices, IP, ICMP, UDP, TCP, the budget, the timer wheel, the counters and the
// lock domain. It does no I/O and reads no clock of its own: time comes from the injected clock function, and a
// driver (real time) or the simulator (virtual time) calls Poll and honours PollAt.
using Wirestack.Buffers;
using Wirestack.Diagnostics;
using Wirestack.Icmp;
using Wirestack.IP;
using Wirestack.Links;
using Wirestack.Tcp;
using Wirestack.Time;
using Wirestack.Udp;
using Wirestack.Wire;

namespace Wirestack.Stack;

/// <summary>One host's TCP/IP stack.</summary>
public sealed class NetStack
{
    private readonly Func<Instant> _clock;
    private readonly List<NetInterface> _pollOrder = [];
    private bool _pendingRx;

    public NetStack(NetStackOptions options, Func<Instant> clock)
    {
        Options = options;
        _clock = clock;
        Name = options.Name;
        Random = new Random(options.Seed);
        Budget = new MemoryBudget(options.MemoryBudgetBytes);
        Pool = new PacketBufferPool(Budget);
        Timers = new TimerWheel(clock());
        Counters = new StackCounters();
        Ip = new IPv4Layer(Pool, Counters.Ip, options.Ip, (ushort)Random.Next(65536));
        Icmp = new IcmpLayer(Ip, Counters.Icmp);
        Udp = new UdpLayer(Ip, Counters.Udp, Random);
        Tcp = new TcpLayer(Ip, Counters.Tcp, options.Tcp, Timers, Budget, Random);
    }

    public string Name { get; }

    public NetStackOptions Options { get; }

    /// <summary>The lock domain: every entry into protocol state (link input, timers, user calls) holds it.</summary>
    public object SyncRoot { get; } = new();

    public Random Random { get; }

    public MemoryBudget Budget { get; }

    public PacketBufferPool Pool { get; }

    public TimerWheel Timers { get; }

    public StackCounters Counters { get; }

    public IPv4Layer Ip { get; }

    public IcmpLayer Icmp { get; }

    public UdpLayer Udp { get; }

    public TcpLayer Tcp { get; }

    /// <summary>How blocking calls wait (set by the driver or the simulator).</summary>
    public IStackWaiter? Waiter { get; set; }

    /// <summary>
    /// Where completions of async socket operations run. Null (real time): an operation completed under
    /// <see cref="SyncRoot"/> hands its continuation to the thread pool (never inline under the lock). Set (the
    /// simulator sets its single-threaded context): the completion is posted here and the continuation runs on this
    /// context, outside the lock, in posting order, which keeps async code deterministic.
    /// </summary>
    public SynchronizationContext? CompletionContext { get; set; }

    /// <summary>The stack clock now.</summary>
    public Instant Now => _clock();

    public IReadOnlyList<NetInterface> Interfaces => Ip.Interfaces;

    public NetInterface AddInterface(ILinkDevice device, IPv4Cidr address)
    {
        NetInterface iface = Ip.AddInterface(device, address);
        _pollOrder.Add(iface);
        return iface;
    }

    /// <summary>Adds a route via <paramref name="gateway"/> (or on-link when null) out of interface <paramref name="interfaceIndex"/>.</summary>
    public Route AddRoute(IPv4Cidr destination, IPv4Address? gateway, int interfaceIndex, int metric = 0)
    {
        var route = new Route(new IPv4Cidr(destination.Network, destination.PrefixLength), gateway, interfaceIndex, metric);
        Ip.Routes.Add(route);
        return route;
    }

    /// <summary>
    /// Does all work due at <paramref name="now"/>: takes up to the rx budget of packets from each device (NAPI
    /// style), then fires due timers. Must be called with <see cref="SyncRoot"/> held (or on the stack's own loop).
    /// Returns true when anything happened.
    /// </summary>
    public bool Poll(Instant now)
    {
        bool worked = false;
        _pendingRx = false;
        foreach (NetInterface iface in _pollOrder)
        {
            int budget = Options.Ip.RxBudget;
            bool gro = iface.Device.GenericReceiveOffload;
            PacketBuffer? held = null; // GRO: the packet that ended the last merge, next in line
            while (true)
            {
                PacketBuffer? packet = held;
                held = null;
                if (packet is null && (budget-- <= 0 || !iface.Device.TryReceive(now, out packet)))
                {
                    break;
                }

                worked = true;
                if (packet.Length > 0 && (packet.Head.IsEmpty ? packet.Span : packet.Head)[0] >> 4 == 6)
                {
                    // An IPv6 packet (a kernel's router solicitation on a TUN device): this stack has no IPv6, so it
                    // is dropped as Linux drops a protocol nothing handles (rx_nohandler), not as a bad IPv4 header.
                    iface.Device.Counters.RxNoHandler++;
                    packet.Dispose();
                    continue;
                }

                // GRO (ReceiveOffload): the following packets of this poll join this one while they continue it.
                while (gro && budget > 0 && iface.Device.TryReceive(now, out PacketBuffer? following))
                {
                    budget--;
                    if (!ReceiveOffload.TryMerge(ref packet, following, Pool, iface.Device.Counters))
                    {
                        held = following;
                        break;
                    }
                }

                Ip.Input(iface, packet, now);
            }

            if (budget < 0 && iface.Device.PollAt is { } next && next <= now)
            {
                _pendingRx = true; // more waiting than one poll's budget: come back at once
            }
        }

        if (Timers.Advance(now) > 0)
        {
            worked = true;
        }

        if (Ip.PollAt is { } ipAt && ipAt <= now)
        {
            Ip.OnTimer(now);
            worked = true;
        }

        if (worked)
        {
            Waiter?.Notify();
        }

        return worked;
    }

    /// <summary>When <see cref="Poll"/> next has work without new input: the earliest timer, reassembly timeout or
    /// packet arrival a device knows of. Null when idle.</summary>
    public Instant? PollAt
    {
        get
        {
            if (_pendingRx)
            {
                return Now;
            }

            Instant? at = Instant.Earliest(Timers.NextDeadline, Ip.PollAt);
            foreach (NetInterface iface in _pollOrder)
            {
                at = Instant.Earliest(at, iface.Device.PollAt);
            }

            return at;
        }
    }

    /// <summary>Counters grouped as netstat -s shows them, with the device and budget figures.</summary>
    public SortedDictionary<string, SortedDictionary<string, long>> SnapshotCounters()
    {
        Counters.Extra["BudgetInUse"] = Budget.InUse;
        Counters.Extra["BudgetHighWater"] = Budget.HighWater;
        Counters.Extra["BudgetFailures"] = Budget.Failures;
        foreach (BudgetCause cause in Enum.GetValues<BudgetCause>())
        {
            Counters.Extra["ENOBUFS." + cause] = Budget.FailuresFor(cause);
        }

        return Counters.Snapshot(Interfaces.Select(i => (i.Name, i.Device.Counters.Snapshot())));
    }

    public override string ToString() => Name;
}
