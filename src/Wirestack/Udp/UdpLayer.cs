// UDP. Read first: RFC 768, RFC 1122 §4.1 (checksums, ICMP port unreachable, errors to the application) and
// RFC 4113 (the counters). Seed 004 §3.2 explains RcvbufErrors versus InErrors.
using System.Net.Sockets;
using Wirestack.Buffers;
using Wirestack.Diagnostics;
using Wirestack.IP;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Udp;

/// <summary>UDP demultiplexing, port allocation and output for one stack.</summary>
public sealed class UdpLayer : IIPDispatcher
{
    /// <summary>Linux <c>ip_local_port_range</c>.</summary>
    public const int EphemeralLow = 32768;
    public const int EphemeralHigh = 60999;

    private readonly IPv4Layer _ip;
    private readonly Random _random;
    private readonly Dictionary<ushort, List<UdpEndpoint>> _ports = new();

    public UdpLayer(IPv4Layer ip, UdpCounters counters, Random random)
    {
        _ip = ip;
        Counters = counters;
        _random = random;
        ip.RegisterProtocol(IPProtocol.Udp, this);
    }

    public UdpCounters Counters { get; }

    /// <summary>Linux <c>net.core.rmem_default</c>, doubled as the kernel does (seed 004 §2.3).</summary>
    public int DefaultReceiveBufferSize { get; set; } = 2 * 212992;

    public UdpEndpoint CreateEndpoint() => new(this) { ReceiveBufferSize = DefaultReceiveBufferSize };

    public IEnumerable<UdpEndpoint> Endpoints => _ports.Values.SelectMany(list => list);

    /// <summary>Binds to <paramref name="address"/>:<paramref name="port"/> (port 0: an ephemeral port).</summary>
    public SocketError Bind(UdpEndpoint endpoint, IPv4Address address, ushort port)
    {
        if (endpoint.IsBound)
        {
            return SocketError.InvalidArgument;
        }

        if (!address.IsUnspecified && !_ip.IsLocalAddress(address))
        {
            return SocketError.AddressNotAvailable;
        }

        if (port == 0)
        {
            int span = EphemeralHigh - EphemeralLow + 1;
            int start = _random.Next(span);
            for (int i = 0; i < span && port == 0; i++)
            {
                ushort candidate = (ushort)(EphemeralLow + (start + i) % span);
                if (!Conflicts(address, candidate))
                {
                    port = candidate;
                }
            }

            if (port == 0)
            {
                return SocketError.AddressNotAvailable;
            }
        }
        else if (Conflicts(address, port))
        {
            return SocketError.AddressAlreadyInUse;
        }

        endpoint.LocalAddress = address;
        endpoint.LocalPort = port;
        if (!_ports.TryGetValue(port, out List<UdpEndpoint>? list))
        {
            list = [];
            _ports[port] = list;
        }

        list.Add(endpoint);
        return SocketError.Success;
    }

    private bool Conflicts(IPv4Address address, ushort port)
    {
        if (!_ports.TryGetValue(port, out List<UdpEndpoint>? list))
        {
            return false;
        }

        foreach (UdpEndpoint other in list)
        {
            if (other.LocalAddress.IsUnspecified || address.IsUnspecified || other.LocalAddress == address)
            {
                return true;
            }
        }

        return false;
    }

    public SocketError Connect(UdpEndpoint endpoint, IPv4Address address, ushort port)
    {
        if (port == 0)
        {
            return SocketError.AddressNotAvailable;
        }

        if (!endpoint.IsBound)
        {
            SocketError bind = Bind(endpoint, IPv4Address.Any, 0);
            if (bind != SocketError.Success)
            {
                return bind;
            }
        }

        endpoint.RemoteAddress = address;
        endpoint.RemotePort = port;
        endpoint.PendingError = SocketError.Success;
        return SocketError.Success;
    }

    public void Close(UdpEndpoint endpoint)
    {
        if (endpoint.IsBound && _ports.TryGetValue(endpoint.LocalPort, out List<UdpEndpoint>? list))
        {
            list.Remove(endpoint);
            if (list.Count == 0)
            {
                _ports.Remove(endpoint.LocalPort);
            }
        }

        endpoint.ReleaseAll();
        endpoint.LocalPort = 0;
    }

    /// <summary>Sends one datagram. Binds an ephemeral port first if needed.</summary>
    public SocketError SendTo(UdpEndpoint endpoint, IPv4Address destination, ushort port, ReadOnlySpan<byte> payload, Instant now)
    {
        if (payload.Length > 65535 - IPv4Header.Length - UdpHeader.Length)
        {
            return SocketError.MessageSize;
        }

        if (port == 0)
        {
            return SocketError.AddressNotAvailable;
        }

        if (!endpoint.IsBound)
        {
            SocketError bind = Bind(endpoint, IPv4Address.Any, 0);
            if (bind != SocketError.Success)
            {
                return bind;
            }
        }

        IPv4Address? source = endpoint.LocalAddress.IsUnspecified ? _ip.SelectSource(destination) : endpoint.LocalAddress;
        if (source is null)
        {
            return SocketError.NetworkUnreachable;
        }

        if (!_ip.TryRentPacket(UdpHeader.Length + payload.Length, out PacketBuffer? packet))
        {
            Counters.SndbufErrors++;
            return SocketError.NoBufferSpaceAvailable;
        }

        Span<byte> datagram = packet!.Append(UdpHeader.Length + payload.Length);
        payload.CopyTo(datagram[UdpHeader.Length..]);
        new UdpHeader(endpoint.LocalPort, port).WriteTo(datagram, source.Value, destination);
        Counters.OutDatagrams++;
        return _ip.Output(packet, source.Value, destination, IPProtocol.Udp, now);
    }

    public void Deliver(in IPv4Header ip, PacketBuffer packet, Instant now)
    {
        if (UdpDatagram.TryCreate(packet.Span, out UdpDatagram datagram) != HeaderError.None)
        {
            Counters.InErrors++;
            return;
        }

        if (UdpHeader.TryParse(datagram, ip.Source, ip.Destination, out UdpHeader header) != HeaderError.None)
        {
            // seed 004 §3.2: corrupted datagrams are InErrors but not RcvbufErrors.
            Counters.InErrors++;
            Counters.InCsumErrors++;
            return;
        }

        UdpEndpoint? endpoint = Lookup(ip.Destination, header.DestinationPort, ip.Source, header.SourcePort);
        if (endpoint is null)
        {
            Counters.NoPorts++;
            // RFC 1122 §4.1.3.1: a datagram for a port with no listener SHOULD get an ICMP Port Unreachable.
            if (!ip.Destination.IsBroadcast && !ip.Destination.IsMulticast)
            {
                int headerLength = IPv4Header.Length;
                RebuildAndReport(ip, packet, headerLength, now);
            }

            return;
        }

        if (!endpoint.TryEnqueue(ip.Source, header.SourcePort, datagram.Payload, _ip.Pool))
        {
            Counters.RcvbufErrors++;
            Counters.InErrors++;
            endpoint.Drops++;
            return;
        }

        Counters.InDatagrams++;
    }

    private void RebuildAndReport(in IPv4Header ip, PacketBuffer packet, int headerLength, Instant now)
    {
        // The IP header was stepped over on delivery; it is still in the buffer's headroom, so step back.
        packet.Prepend(headerLength);
        _ip.IcmpErrors?.SendDestinationUnreachable(IcmpV4UnreachableCode.Port, packet.Span, now);
        packet.TrimFront(headerLength);
    }

    private UdpEndpoint? Lookup(IPv4Address localAddress, ushort localPort, IPv4Address remoteAddress, ushort remotePort)
    {
        if (!_ports.TryGetValue(localPort, out List<UdpEndpoint>? list))
        {
            return null;
        }

        UdpEndpoint? best = null;
        foreach (UdpEndpoint endpoint in list)
        {
            if (!endpoint.LocalAddress.IsUnspecified && endpoint.LocalAddress != localAddress)
            {
                continue;
            }

            if (endpoint.IsConnected)
            {
                if (endpoint.RemoteAddress == remoteAddress && endpoint.RemotePort == remotePort)
                {
                    return endpoint;
                }

                continue;
            }

            best ??= endpoint;
        }

        return best;
    }

    public void DeliverIcmpError(byte type, byte code, ushort nextHopMtu, IPv4Packet quoted, Instant now)
    {
        if (quoted.Payload.Length < 8)
        {
            return;
        }

        ushort localPort = (ushort)(quoted.Payload[0] << 8 | quoted.Payload[1]);
        ushort remotePort = (ushort)(quoted.Payload[2] << 8 | quoted.Payload[3]);
        UdpEndpoint? endpoint = Lookup(quoted.Source, localPort, quoted.Destination, remotePort);
        // RFC 1122 §4.1.3.3: UDP MUST pass ICMP errors to the application; like Linux, only a connected socket
        // reports them (an unconnected one could not tell which peer failed).
        if (endpoint is null || !endpoint.IsConnected || endpoint.RemoteAddress != quoted.Destination || endpoint.RemotePort != remotePort)
        {
            return;
        }

        endpoint.PendingError = type == IcmpV4Type.DestinationUnreachable && code == IcmpV4UnreachableCode.Port
            ? SocketError.ConnectionRefused
            : SocketError.HostUnreachable;
        endpoint.Observer?.OnEndpointChanged();
    }
}
