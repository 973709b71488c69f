using System.Diagnostics.CodeAnalysis;
using Wirestack.Buffers;
using Wirestack.Time;

namespace Wirestack.Links;

/// <summary>What a link carries: bare IP datagrams (TUN, loopback, the simulated wire) or Ethernet frames (TAP).</summary>
public enum LinkMedium
{
    Ip,
    Ethernet,
}

/// <summary>
/// A network device as the stack sees it. The stack pulls received packets with <see cref="TryReceive"/> (at most a
/// per-poll budget at a time) and pushes packets out with <see cref="Transmit"/>. Devices are decorators of each
/// other (<c>PcapLink(SimulatedPort)</c>). A device never reads a clock: it is told the time.
/// </summary>
public interface ILinkDevice
{
    string Name { get; }

    LinkMedium Medium { get; }

    /// <summary>The largest datagram (IP medium) or frame payload (Ethernet medium) the link carries.</summary>
    int Mtu { get; }

    /// <summary>Segmentation offload (Linux's TSO/GSO, <c>gso_max_size</c>): the largest IP datagram carrying TCP
    /// that the device takes beyond <see cref="Mtu"/> and delivers whole, so TCP may send several MSS of data as one
    /// large segment instead of one segment per MSS. 0 (the default) when the device has no such offload.</summary>
    int GsoMaxSize => 0;

    /// <summary>Generic receive offload (Linux's GRO, <c>ethtool -K dev gro on</c>): consecutive in-order TCP
    /// segments of one flow that the device hands over in one poll are merged into one large segment before IP
    /// input (<see cref="Stack.ReceiveOffload"/>). False (the default) when the device does not ask for it.</summary>
    bool GenericReceiveOffload => false;

    /// <summary>Whether the device takes packets whose payload is held by reference
    /// (<see cref="Buffers.PacketBuffer.HasReferencedPayload"/>, the send queue's bytes) and releases them on the
    /// stack's protocol loop, as a scatter-gather NIC takes Linux's paged skbs (NETIF_F_SG). For any other device
    /// IP output joins the payload first (Linux: skb_linearize in validate_xmit_skb). False unless a device says
    /// so.</summary>
    bool AcceptsReferencedPayload => false;

    /// <summary>Device counters (<c>ethtool -S</c> style).</summary>
    LinkCounters Counters { get; }

    /// <summary>Sends one packet. Takes ownership of <paramref name="packet"/>: the device disposes it, now or
    /// after it is on the wire. A packet larger than <see cref="Mtu"/> is dropped and counted (tx_dropped).</summary>
    void Transmit(PacketBuffer packet, Instant now);

    /// <summary>Takes the next received packet, if any. The caller owns it and must dispose it.</summary>
    bool TryReceive(Instant now, [NotNullWhen(true)] out PacketBuffer? packet);

    /// <summary>When the device will next have a packet ready without outside help (a packet in flight on a
    /// simulated wire), or null when it does not know.</summary>
    Instant? PollAt { get; }
}
