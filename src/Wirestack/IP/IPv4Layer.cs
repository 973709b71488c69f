// IPv4 input and output. Read first: RFC 791 (§3.1 header, §3.2 fragmentation), RFC 1122 §3.2.1 (what a host
// must check on input), RFC 1812 §5.3.1 (TTL) and RFC 4293 (the counters).
using System.Diagnostics;
using System.Net.Sockets;
using Wirestack.Buffers;
using Wirestack.Diagnostics;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.IP;

/// <summary>
/// The IPv4 layer of one stack: validates and delivers input to the registered transports, routes and fragments
/// output. Single-threaded; every drop is counted under its IP-MIB name.
/// </summary>
public sealed class IPv4Layer
{
    private readonly IIPDispatcher?[] _protocols = new IIPDispatcher?[256];
    private readonly List<NetInterface> _interfaces = [];
    private readonly Reassembler _reassembler;
    private readonly List<PacketBuffer> _fragments = [];
    private readonly PendingRoutes _pending;
    private ushort _nextId;

    public IPv4Layer(PacketBufferPool pool, IPCounters counters, IPv4Options options, ushort firstId)
    {
        Pool = pool;
        Counters = counters;
        Options = options;
        _nextId = firstId;
        _reassembler = new Reassembler(pool, options.ReassemblyTimeout, options.ReassemblyMaxBytes, options.ReassemblyMaxDatagrams);
        _pending = new PendingRoutes(this);
    }

    public PacketBufferPool Pool { get; }

    public IPCounters Counters { get; }

    public IPv4Options Options { get; }

    public RouteTable Routes { get; } = new();

    public IReadOnlyList<NetInterface> Interfaces => _interfaces;

    /// <summary>Where IP and the transports send ICMP errors (set by the ICMP layer).</summary>
    public IIcmpErrorSender? IcmpErrors { get; set; }

    /// <summary>Routes whose resolution is pending (larval), keyed by route (seed 003).</summary>
    public PendingRoutes PendingRoutes => _pending;

    public Reassembler Reassembler => _reassembler;

    public NetInterface AddInterface(Links.ILinkDevice device, IPv4Cidr address)
    {
        var iface = new NetInterface(_interfaces.Count, device, address);
        _interfaces.Add(iface);
        Routes.Add(new Route(new IPv4Cidr(address.Network, address.PrefixLength), null, iface.Index));
        return iface;
    }

    public void RegisterProtocol(byte protocol, IIPDispatcher dispatcher) => _protocols[protocol] = dispatcher;

    public IIPDispatcher? DispatcherFor(byte protocol) => _protocols[protocol];

    /// <summary>True when <paramref name="address"/> is one of this host's addresses.</summary>
    public bool IsLocalAddress(IPv4Address address)
    {
        foreach (NetInterface iface in _interfaces)
        {
            if (iface.Address.Address == address)
            {
                return true;
            }
        }

        return false;
    }

    private bool IsBroadcastFor(IPv4Address address)
    {
        if (address.IsBroadcast)
        {
            return true;
        }

        foreach (NetInterface iface in _interfaces)
        {
            if (iface.Address.PrefixLength < 31 && iface.Address.BroadcastAddress == address)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The source address for datagrams to <paramref name="destination"/>: the address of the interface
    /// its route leaves by (RFC 1122 §3.3.4.3), or null when there is no route.</summary>
    public IPv4Address? SelectSource(IPv4Address destination)
    {
        if (IsLocalAddress(destination))
        {
            return destination;
        }

        return Routes.TryLookup(destination, out Route? route) ? _interfaces[route.InterfaceIndex].Address.Address : null;
    }

    /// <summary>The MTU of the path to <paramref name="destination"/> as far as this host knows (its first hop).</summary>
    /// <summary>The segmentation offload of the device towards <paramref name="destination"/>
    /// (<see cref="ILinkDevice.GsoMaxSize"/>; 0 for none).</summary>
    public int GsoMaxSizeFor(IPv4Address destination)
    {
        if (!AnyGso())
        {
            return 0; // the common case, without a route lookup
        }

        if (IsLocalAddress(destination))
        {
            return FindLoopbackFor(destination)?.Device.GsoMaxSize ?? 0;
        }

        return Routes.TryLookup(destination, out Route? route) ? _interfaces[route.InterfaceIndex].Device.GsoMaxSize : 0;
    }

    private bool AnyGso()
    {
        foreach (NetInterface iface in _interfaces)
        {
            if (iface.Device.GsoMaxSize > 0)
            {
                return true;
            }
        }

        return false;
    }

    public int MtuFor(IPv4Address destination)
    {
        if (IsLocalAddress(destination))
        {
            NetInterface? lo = FindLoopbackFor(destination);
            return lo?.Mtu ?? 65535;
        }

        return Routes.TryLookup(destination, out Route? route) ? _interfaces[route.InterfaceIndex].Mtu : 576;
    }

    private NetInterface? FindLoopbackFor(IPv4Address address)
    {
        foreach (NetInterface iface in _interfaces)
        {
            if (iface.Address.Address == address)
            {
                return iface;
            }
        }

        return null;
    }

    /// <summary>Takes one received datagram. Takes ownership of <paramref name="packet"/>.</summary>
    public void Input(NetInterface iface, PacketBuffer packet, Instant now)
    {
        Counters.InReceives++;
        // A payload still held by reference (a wire that hands the sender's buffers over) stays where it is: the
        // headers are in the buffer's head, and TCP input reads the payload from the reference.
        HeaderError error = packet.HasReferencedPayload
            ? IPv4Packet.TryCreateFromHead(packet.Head, packet.Length, out IPv4Packet view)
            : IPv4Packet.TryCreate(packet.Span, out view);
        if (error != HeaderError.None)
        {
            if (error == HeaderError.Truncated)
            {
                Counters.InTruncatedPkts++;
            }

            Counters.InHdrErrors++;
            packet.Dispose();
            return;
        }

        if (IPv4Header.TryParse(view, out IPv4Header header) != HeaderError.None)
        {
            // RFC 1122 §3.2.1.2: "A host MUST verify the IP header checksum on every received datagram and
            // silently discard every datagram that has a bad checksum."
            Counters.InHdrErrors++;
            Counters.InCsumErrors++;
            packet.Dispose();
            return;
        }

        // RFC 1122 §3.2.1.3: a host silently discards a datagram not addressed to it (this stack does not forward).
        bool broadcast = IsBroadcastFor(header.Destination);
        if (!broadcast && !IsLocalAddress(header.Destination) && !header.Destination.IsMulticast)
        {
            Counters.InAddrErrors++;
            packet.Dispose();
            return;
        }

        // RFC 1122 §3.2.1.3: a source address that is broadcast, multicast or "this network" is discarded.
        if (header.Source.IsBroadcast || header.Source.IsMulticast || IsBroadcastFor(header.Source))
        {
            Counters.InAddrErrors++;
            packet.Dispose();
            return;
        }

        if (view.IsFragment)
        {
            if (packet.HasReferencedPayload)
            {
                packet.Materialize(); // reassembly copies fragments from whole buffers
                IPv4Packet.TryCreate(packet.Span, out view);
            }

            InputFragment(iface, view, packet, now);
            return;
        }

        packet.TrimTo(view.TotalLength);
        Deliver(header, view.HeaderLength, packet, broadcast, now);
    }

    private void InputFragment(NetInterface iface, IPv4Packet view, PacketBuffer packet, Instant now)
    {
        Counters.ReasmReqds++;
        ReassemblyOutcome outcome = _reassembler.Add(view, now, out PacketBuffer? whole);
        packet.Dispose();
        switch (outcome)
        {
            case ReassemblyOutcome.Pending:
                return;
            case ReassemblyOutcome.Complete:
                Counters.ReasmOKs++;
                Counters.InReceives--; // the fragments were counted as received; the whole datagram is not a new one
                Input(iface, whole!, now);
                return;
            case ReassemblyOutcome.DroppedOverlap:
                Counters.ReasmOverlaps++;
                Counters.ReasmFails++;
                return;
            default:
                Counters.ReasmFails++;
                return;
        }
    }

    private void Deliver(in IPv4Header header, int headerLength, PacketBuffer packet, bool broadcast, Instant now)
    {
        IIPDispatcher? dispatcher = _protocols[header.Protocol];
        if (dispatcher is null)
        {
            Counters.InUnknownProtos++;
            if (!broadcast)
            {
                // RFC 1122 §3.2.2.1: a host SHOULD generate Destination Unreachable (protocol) for an unknown protocol.
                IcmpErrors?.SendDestinationUnreachable(IcmpV4UnreachableCode.Protocol, packet.Span, now);
            }

            packet.Dispose();
            return;
        }

        Counters.InDelivers++;
        packet.TrimFront(headerLength);
        try
        {
            dispatcher.Deliver(header, packet, now);
        }
        finally
        {
            packet.Dispose();
        }
    }

    /// <summary>Rents a buffer for a transport to build a datagram in, with headroom for every header below it.</summary>
    public bool TryRentPacket(int payloadCapacity, out PacketBuffer? packet) =>
        Pool.TryRent(payloadCapacity, BudgetCause.PacketTx, out packet);

    /// <summary>
    /// Sends the transport bytes in <paramref name="packet"/> to <paramref name="destination"/>. Takes ownership.
    /// Returns Success, NetworkUnreachable (no route), MessageSize (DF set and too big), NoBufferSpaceAvailable
    /// (no buffers to fragment into), or HostUnreachable (the route failed to resolve).
    /// </summary>
    public SocketError Output(PacketBuffer packet, IPv4Address source, IPv4Address destination, byte protocol, Instant now,
        byte ttl = 0, byte tos = 0, bool dontFragment = false)
    {
        Counters.OutRequests++;
        NetInterface? iface = FindLoopbackFor(destination);
        Route? route = null;
        if (iface is null)
        {
            if (!Routes.TryLookup(destination, out route))
            {
                Counters.OutNoRoutes++;
                packet.Dispose();
                return SocketError.NetworkUnreachable;
            }

            iface = _interfaces[route.InterfaceIndex];
        }

        var header = new IPv4Header(source, destination, protocol, packet.Length, ttl == 0 ? Options.DefaultTtl : ttl, tos,
            _nextId++, dontFragment);

        if (route is not null && _pending.IsPending(route, out SocketError failure))
        {
            if (failure != SocketError.Success)
            {
                Counters.OutDiscards++;
                packet.Dispose();
                return failure;
            }

            return _pending.Hold(route, iface, header, packet);
        }

        return Transmit(iface, header, packet, now);
    }

    internal SocketError Transmit(NetInterface iface, in IPv4Header header, PacketBuffer packet, Instant now)
    {
        int mtu = iface.Mtu;
        int limit = header.Protocol == IPProtocol.Tcp ? Math.Max(mtu, iface.Device.GsoMaxSize) : mtu; // TCP large segments (GSO)
        if (packet.HasReferencedPayload && !iface.Device.AcceptsReferencedPayload)
        {
            packet.Materialize(); // the device needs the packet in one piece (and off the send queue's chunks)
        }

        if (IPv4Header.Length + packet.Length <= limit)
        {
            header.WriteTo(packet.Prepend(IPv4Header.Length));
            iface.Device.Transmit(packet, now);
            return SocketError.Success;
        }

        if (header.DontFragment)
        {
            Counters.FragFails++;
            packet.Dispose();
            return SocketError.MessageSize;
        }

        _fragments.Clear();
        bool ok = Fragmenter.TryFragment(header, packet.Span, mtu, Pool, _fragments);
        packet.Dispose();
        if (!ok)
        {
            Counters.FragFails++;
            Counters.OutDiscards++;
            return SocketError.NoBufferSpaceAvailable;
        }

        Counters.FragOKs++;
        Counters.FragCreates += _fragments.Count;
        foreach (PacketBuffer fragment in _fragments)
        {
            iface.Device.Transmit(fragment, now);
        }

        _fragments.Clear();
        return SocketError.Success;
    }

    /// <summary>Housekeeping due at <paramref name="now"/>: reassembly timeouts.</summary>
    public void OnTimer(Instant now)
    {
        int expired = _reassembler.Expire(now);
        Counters.ReasmTimeout += expired;
        Counters.ReasmFails += expired;
    }

    public Instant? PollAt => _reassembler.NextExpiry;

    internal void AssertConsistent() => Debug.Assert(_fragments.Count == 0);
}
