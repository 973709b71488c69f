using Wirestack.Buffers;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.IP;

/// <summary>A transport protocol as IP sees it (gVisor's TransportDispatcher). IP declares it; TCP, UDP and ICMP
/// implement it, so IP never reaches up.</summary>
public interface IIPDispatcher
{
    /// <summary>Delivers a datagram addressed to this host. <paramref name="packet"/> starts at the transport header
    /// and is trimmed to the IP payload. It is lent for the call: the callee copies what it keeps.</summary>
    void Deliver(in IPv4Header ip, PacketBuffer packet, Instant now);

    /// <summary>Delivers an ICMP error about a datagram this host sent. <paramref name="quoted"/> is the quoted
    /// datagram: its IPv4 header and at least the first 8 bytes of its payload (RFC 792).</summary>
    void DeliverIcmpError(byte type, byte code, ushort nextHopMtu, IPv4Packet quoted, Instant now);
}

/// <summary>Sends ICMP errors on behalf of IP and the transports (implemented by the ICMP layer, declared here so
/// that UDP and IP can ask for a port or protocol unreachable without seeing ICMP).</summary>
public interface IIcmpErrorSender
{
    /// <summary>RFC 792 / RFC 1122 §3.2.2: sends a Destination Unreachable quoting <paramref name="offending"/>
    /// (the whole offending IP datagram as received), unless the rules forbid an error for it.</summary>
    void SendDestinationUnreachable(byte code, ReadOnlySpan<byte> offending, Instant now);
}

/// <summary>Something about an endpoint changed (data arrived, space freed, connected, failed). The socket layer
/// implements it to wake whoever waits; the transports call it and never block.</summary>
public interface IEndpointObserver
{
    void OnEndpointChanged();
}
