using System.Diagnostics.CodeAnalysis;
using Wirestack.Buffers;

namespace Wirestack.Links;

/// <summary>
/// A NIC receive ring (seed 004 §2.1): a fixed number of slots between the wire and the stack. When the stack does
/// not drain it fast enough the ring fills, and the next frame is dropped and counted as <c>rx_missed_errors</c> and
/// <c>rx_fifo_errors</c>, as a real NIC does. The slot array is allocated once; enqueue and dequeue allocate nothing.
/// Not safe for concurrent use: it lives on the stack's loop like all link state.
/// </summary>
public sealed class RxRing
{
    private readonly PacketBuffer?[] _slots;
    private readonly LinkCounters _counters;
    private int _head;
    private int _count;

    /// <param name="capacity">Number of slots; must be positive.</param>
    /// <param name="counters">The owning device's counters: the ring counts rx packets, bytes and overflows there.</param>
    public RxRing(int capacity, LinkCounters counters)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentNullException.ThrowIfNull(counters);
        _slots = new PacketBuffer?[capacity];
        _counters = counters;
    }

    public int Capacity => _slots.Length;

    /// <summary>Packets waiting in the ring.</summary>
    public int Count => _count;

    /// <summary>Puts a received packet into the ring and takes ownership of it. When the ring is full the packet is
    /// disposed, <see cref="LinkCounters.RxMissed"/> and <see cref="LinkCounters.RxFifoErrors"/> are counted, and the
    /// result is <see langword="false"/>; otherwise <see cref="LinkCounters.RxPackets"/> and
    /// <see cref="LinkCounters.RxBytes"/> are counted.</summary>
    public bool TryEnqueue(PacketBuffer packet)
    {
        ArgumentNullException.ThrowIfNull(packet);
        if (_count == _slots.Length)
        {
            packet.Dispose();
            _counters.RxMissed++;
            _counters.RxFifoErrors++;
            return false;
        }

        int tail = _head + _count;
        if (tail >= _slots.Length)
        {
            tail -= _slots.Length;
        }

        _slots[tail] = packet;
        _count++;
        _counters.RxPackets++;
        _counters.RxBytes += packet.Length;
        if (packet.GsoSize > 0)
        {
            _counters.RxGsoPackets++; // a large segment received whole
        }

        return true;
    }

    /// <summary>Takes the oldest packet out of the ring; the caller owns it.</summary>
    public bool TryDequeue([NotNullWhen(true)] out PacketBuffer? packet)
    {
        if (_count == 0)
        {
            packet = null;
            return false;
        }

        packet = _slots[_head]!;
        _slots[_head] = null;
        _head = _head + 1 == _slots.Length ? 0 : _head + 1;
        _count--;
        return true;
    }

    /// <summary>Looks at the oldest packet without taking it; the ring keeps ownership.</summary>
    public bool TryPeek([NotNullWhen(true)] out PacketBuffer? packet)
    {
        packet = _count == 0 ? null : _slots[_head];
        return packet is not null;
    }
}
