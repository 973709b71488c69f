// A link decorator that makes a device that is not thread-safe (a SimulatedWire's port) usable by a stack whose user
// calls run on many threads. A SimulatedWire is shared by two stacks, each with its own lock, and its pool, random
// source and queues serve both directions; so every touch of the wire (transmit, receive, PollAt, and the driver's
// DeliverDue) takes one gate per wire. The gate is a leaf lock: it is taken with or without a stack lock held, and
// nothing is locked while it is held, so lock order is always stack lock → gate.
//
// Received packets are copied out of the wire's pool into the receiving stack's own pool while the gate is held.
// The stack may keep a received buffer (fragment reassembly) and dispose it later from any thread that holds its
// lock; were it the wire's buffer, that disposal would race with the other stack's transmits in the wire's pool.
// That is one more copy per received packet, on the in-memory link only.
using System.Diagnostics.CodeAnalysis;
using Wirestack.Buffers;
using Wirestack.Links;
using Wirestack.Time;

namespace Wirestack.Stack;

/// <summary>A thread-safe view of a link device shared through a gate (see the file comment).</summary>
public sealed class SynchronizedLink : ILinkDevice
{
    private readonly ILinkDevice _inner;
    private readonly object _gate;
    private readonly PacketBufferPool _localPool;
    private readonly Action? _onTransmit;

    /// <param name="inner">The device (a <see cref="SimulatedPort"/>).</param>
    /// <param name="gate">The lock shared by everything that touches the same wire.</param>
    /// <param name="localPool">The receiving stack's pool: received packets are copied into it (used only from
    /// <see cref="TryReceive"/>, which the stack calls under its lock).</param>
    /// <param name="onTransmit">Called after each transmit, outside the gate (a driver's wake-up: a packet is in
    /// flight that it must deliver).</param>
    public SynchronizedLink(ILinkDevice inner, object gate, PacketBufferPool localPool, Action? onTransmit = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(gate);
        ArgumentNullException.ThrowIfNull(localPool);
        _inner = inner;
        _gate = gate;
        _localPool = localPool;
        _onTransmit = onTransmit;
    }

    public ILinkDevice Inner => _inner;

    public string Name => _inner.Name;

    public LinkMedium Medium => _inner.Medium;

    public int Mtu
    {
        get { lock (_gate) { return _inner.Mtu; } }
    }

    public int GsoMaxSize
    {
        get { lock (_gate) { return _inner.GsoMaxSize; } }
    }

    public LinkCounters Counters => _inner.Counters;

    public Instant? PollAt
    {
        get { lock (_gate) { return _inner.PollAt; } }
    }

    public void Transmit(PacketBuffer packet, Instant now)
    {
        lock (_gate)
        {
            _inner.Transmit(packet, now);
        }

        _onTransmit?.Invoke();
    }

    public bool TryReceive(Instant now, [NotNullWhen(true)] out PacketBuffer? packet)
    {
        lock (_gate)
        {
            while (_inner.TryReceive(now, out PacketBuffer? received))
            {
                using (received)
                {
                    if (_localPool.TryRent(received.Length, BudgetCause.PacketRx, out packet))
                    {
                        received.Span.CopyTo(packet.Append(received.Length));
                        packet.Timestamp = received.Timestamp;
                        packet.ChecksumTrusted = received.ChecksumTrusted;
                        packet.GsoSize = received.GsoSize;
                        return true;
                    }

                    _inner.Counters.RxMissed++; // the receiving stack's budget is spent: dropped as a NIC would
                }
            }
        }

        packet = null;
        return false;
    }

    public override string ToString() => _inner.ToString() ?? Name;
}
