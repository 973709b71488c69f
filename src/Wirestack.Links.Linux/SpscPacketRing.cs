// The TUN device's receive ring: a fixed number of slots between one producer (the reader thread, the device's
// "interrupt") and one consumer (the stack, under its lock, on whichever thread polls it). Lock-free: the producer
// owns the tail, the consumer the head, and each publishes its index with a release write that the other reads with
// an acquire read, so a slot's bytes are complete before the consumer can see it. A slot's buffer is allocated the
// first time the slot is used (at the device's MTU) and kept, so the memory held is what the ring has actually needed.
namespace Wirestack.Links.Linux;

/// <summary>A single-producer, single-consumer ring of packet slots (see the file comment).</summary>
internal sealed class SpscPacketRing
{
    private readonly byte[]?[] _buffers;
    private readonly int[] _lengths;
    private readonly int _slotSize;
    private long _head; // next slot the consumer reads; written by the consumer only
    private long _tail; // next slot the producer fills; written by the producer only

    public SpscPacketRing(int capacity, int slotSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(slotSize);
        _buffers = new byte[]?[capacity];
        _lengths = new int[capacity];
        _slotSize = slotSize;
    }

    public int Capacity => _buffers.Length;

    /// <summary>Packets waiting (a snapshot: either side may move it at once).</summary>
    public int Count => (int)(Volatile.Read(ref _tail) - Volatile.Read(ref _head));

    public bool IsEmpty => Volatile.Read(ref _tail) == Volatile.Read(ref _head);

    // ---- producer side (the reader thread only) ---------------------------------------------------------------------

    /// <summary>The buffer of the next free slot, or null when the ring is full.</summary>
    public byte[]? ProducerSlot()
    {
        long tail = _tail;
        if (tail - Volatile.Read(ref _head) >= _buffers.Length)
        {
            return null;
        }

        int index = (int)(tail % _buffers.Length);
        return _buffers[index] ??= GC.AllocateUninitializedArray<byte>(_slotSize, pinned: true);
    }

    /// <summary>Makes the slot handed out by <see cref="ProducerSlot"/> visible to the consumer with
    /// <paramref name="length"/> bytes in it.</summary>
    public void Publish(int length)
    {
        long tail = _tail;
        _lengths[(int)(tail % _buffers.Length)] = length;
        Volatile.Write(ref _tail, tail + 1);
    }

    // ---- consumer side (the stack, under its lock) ------------------------------------------------------------------

    /// <summary>The oldest packet's bytes, valid until <see cref="Release"/>; false when the ring is empty.</summary>
    public bool TryPeek(out ReadOnlySpan<byte> packet)
    {
        long head = _head;
        if (head == Volatile.Read(ref _tail))
        {
            packet = default;
            return false;
        }

        int index = (int)(head % _buffers.Length);
        packet = _buffers[index].AsSpan(0, _lengths[index]);
        return true;
    }

    /// <summary>Gives the oldest slot back to the producer.</summary>
    public void Release() => Volatile.Write(ref _head, _head + 1);
}
