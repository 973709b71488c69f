using System.Diagnostics.CodeAnalysis;
using Wirestack.Buffers;
using Wirestack.Time;

namespace Wirestack.Links;

/// <summary>
/// One end of a <see cref="SimulatedWire"/>, as a stack sees it: an IP-medium device with its own counters and
/// receive ring. <see cref="Transmit"/> copies the packet onto the wire (the caller's buffer is disposed at once);
/// the wire delivers into <see cref="RxRing"/>, from which <see cref="TryReceive"/> takes packets.
/// </summary>
public sealed class SimulatedPort : ILinkDevice
{
    private readonly SimulatedWire _wire;

    internal SimulatedPort(SimulatedWire wire, string name, bool isA, int rxRingCapacity)
    {
        _wire = wire;
        Name = name;
        IsA = isA;
        RxRing = new RxRing(rxRingCapacity, Counters);
    }

    public string Name { get; }

    public LinkMedium Medium => LinkMedium.Ip;

    /// <summary>The MTU of this port's sending direction (<see cref="LinkImpairments.Mtu"/>).</summary>
    public int Mtu => _wire.OutgoingImpairments(this).Mtu;

    /// <summary>The wire's <see cref="SimulatedWire.GsoMaxSize"/>.</summary>
    public int GsoMaxSize => _wire.GsoMaxSize;

    public LinkCounters Counters { get; } = new();

    /// <summary>The port's receive ring: packets delivered by the wire wait here until received.</summary>
    public RxRing RxRing { get; }

    public SimulatedWire Wire => _wire;

    /// <summary>The wire's <see cref="SimulatedWire.GenericReceiveOffload"/>.</summary>
    public bool GenericReceiveOffload => _wire.GenericReceiveOffload;

    /// <summary>When the wire hands the sender's buffers over (<see cref="SimulatedWire.CopyPackets"/> off), packets
    /// may keep their payload in the sender's send queue: the receiving stack, on the same simulator loop, reads it
    /// there and releases it. A copying wire joins them first (it copies the whole packet anyway).</summary>
    public bool AcceptsReferencedPayload => !_wire.CopyPackets;

    /// <summary>When a packet is ready: the arrival time of the oldest packet waiting in the ring (at or before
    /// now), else the arrival time of the next packet in flight towards this port, else null. With
    /// <see cref="SimulatedWire.RxCoalesce"/>, the moderated interrupt: that arrival plus the coalescing time
    /// (at once while a poll is draining the ring).</summary>
    public Instant? PollAt
    {
        get
        {
            long coalesceUs = _wire.RxCoalesceMicroseconds;
            if (RxRing.TryPeek(out PacketBuffer? waiting))
            {
                return new Instant(_draining ? waiting.Timestamp : waiting.Timestamp + coalesceUs);
            }

            Instant? next = _wire.NextArrivalAt(this);
            return coalesceUs == 0 || next is null ? next : new Instant(next.Value.Microseconds + coalesceUs);
        }
    }

    internal bool IsA { get; }

    /// <summary>Copies <paramref name="packet"/> onto the wire and disposes it. Over the MTU: dropped, counted as
    /// <c>tx_dropped</c>. Rate limiter queue full: dropped, counted as <c>tx_queue_drops</c>. Wire memory spent:
    /// dropped, counted as <c>tx_dropped</c> (and as a no-buffer drop on the wire).</summary>
    public void Transmit(PacketBuffer packet, Instant now)
    {
        ArgumentNullException.ThrowIfNull(packet);
        _wire.Transmit(this, packet, now);
    }

    /// <summary>Brings in the packets for this port that are due by <paramref name="now"/>, then takes the oldest
    /// from the ring. The packet's <see cref="PacketBuffer.Timestamp"/> is its arrival time in microseconds.</summary>
    public bool TryReceive(Instant now, [NotNullWhen(true)] out PacketBuffer? packet)
    {
        _wire.DeliverDueTo(this, now);
        long coalesceUs = _wire.RxCoalesceMicroseconds;
        if (coalesceUs > 0 && !_draining)
        {
            // Interrupt moderation: nothing until the oldest waiting packet has waited the coalescing time; then
            // the poll drains everything that has arrived (NAPI), and the next packet starts a new wait.
            if (!RxRing.TryPeek(out PacketBuffer? oldest) || oldest.Timestamp + coalesceUs > now.Microseconds)
            {
                packet = null;
                return false;
            }

            _draining = true;
        }

        if (RxRing.TryDequeue(out packet))
        {
            if (!RxRing.TryPeek(out _))
            {
                _draining = false; // the ring is empty: the interrupt is re-armed
            }

            return true;
        }

        _draining = false;
        return false;
    }

    // A moderated interrupt has fired and the ring is being drained.
    private bool _draining;

    public override string ToString() => Name;
}
