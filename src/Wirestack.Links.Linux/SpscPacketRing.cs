// The TUN device's receive ring: a fixed number of slots between one producer (the reader thread, the device's
// "interrupt") and one consumer (the stack, under its lock, on whichever thread polls it). Lock-free: the producer
// owns the tail, the consumer the head, and each publishes its index with a release write that the other reads with
// an acquire read, so a slot's bytes are complete before the consumer can see it.
//
// Buffers are not tied to slots: the consumer hands a released slot's buffer back through a second single-producer,
// single-consumer queue (the spares, in the other direction), and the producer takes its next buffer from there,
// allocating one only when there is no spare. So the buffers held are the most the ring has ever held at once, plus
// one, not one per slot: what matters with 64 KiB buffers (a device with segmentation offload or a 64 KiB MTU), where
// a ring of 1024 slots that merely cycled through its slots would hold 64 MiB.
namespace Wirestack.Links.Linux;

/// <summary>A single-producer, single-consumer ring of packet slots (see the file comment).</summary>
internal sealed class SpscPacketRing
{
    private readonly byte[]?[] _slots;
    private readonly int[] _lengths;
    private readonly byte[]?[] _spares;
    private readonly int _slotSize;
    private long _head; // next slot the consumer reads; written by the consumer only
    private long _tail; // next slot the producer fills; written by the producer only
    private long _spareHead; // next spare the producer takes; written by the producer only
    private long _spareTail; // next place the consumer puts a spare; written by the consumer only
    private byte[]? _pending; // the buffer handed out by ProducerSlot and not yet published
    private int _allocated;

    public SpscPacketRing(int capacity, int slotSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(slotSize);
        _slots = new byte[]?[capacity];
        _lengths = new int[capacity];
        _spares = new byte[]?[capacity + 1]; // every buffer there is: capacity in slots, one pending
        _slotSize = slotSize;
    }

    public int Capacity => _slots.Length;

    /// <summary>The size of every buffer.</summary>
    public int SlotSize => _slotSize;

    /// <summary>Buffers allocated so far (at most the ring's high-water mark plus one).</summary>
    public int AllocatedBuffers => Volatile.Read(ref _allocated);

    /// <summary>Packets waiting (a snapshot: either side may move it at once).</summary>
    public int Count => (int)(Volatile.Read(ref _tail) - Volatile.Read(ref _head));

    public bool IsEmpty => Volatile.Read(ref _tail) == Volatile.Read(ref _head);

    // ---- producer side (the reader thread only) ---------------------------------------------------------------------

    /// <summary>The buffer of the next free slot, or null when the ring is full. Until <see cref="Publish"/>, the
    /// same buffer is handed out again.</summary>
    public byte[]? ProducerSlot()
    {
        if (_tail - Volatile.Read(ref _head) >= _slots.Length)
        {
            return null;
        }

        if (_pending is null)
        {
            long spareHead = _spareHead;
            if (spareHead != Volatile.Read(ref _spareTail))
            {
                int index = (int)(spareHead % _spares.Length);
                _pending = _spares[index]; // left in place: only the consumer writes the spares (no race on the entry)
                Volatile.Write(ref _spareHead, spareHead + 1);
            }
            else
            {
                _pending = GC.AllocateUninitializedArray<byte>(_slotSize, pinned: true);
                Interlocked.Increment(ref _allocated);
            }
        }

        return _pending;
    }

    /// <summary>Makes the buffer handed out by <see cref="ProducerSlot"/> visible to the consumer with
    /// <paramref name="length"/> bytes in it.</summary>
    public void Publish(int length)
    {
        long tail = _tail;
        int index = (int)(tail % _slots.Length);
        _slots[index] = _pending ?? throw new InvalidOperationException("Publish without ProducerSlot");
        _pending = null;
        _lengths[index] = length;
        Volatile.Write(ref _tail, tail + 1);
    }

    // ---- consumer side (the stack, under its lock) ------------------------------------------------------------------

    /// <summary>The oldest packet's bytes, valid until <see cref="Release"/>; false when the ring is empty.</summary>
    public bool TryPeek(out Span<byte> packet)
    {
        long head = _head;
        if (head == Volatile.Read(ref _tail))
        {
            packet = default;
            return false;
        }

        int index = (int)(head % _slots.Length);
        packet = _slots[index].AsSpan(0, _lengths[index]);
        return true;
    }

    /// <summary>Gives the oldest slot back to the producer, and its buffer to the spares.</summary>
    public void Release()
    {
        long head = _head;
        int index = (int)(head % _slots.Length);
        byte[]? buffer = _slots[index];
        _slots[index] = null;
        if (buffer is not null)
        {
            long spareTail = _spareTail;
            _spares[(int)(spareTail % _spares.Length)] = buffer;
            Volatile.Write(ref _spareTail, spareTail + 1);
        }

        Volatile.Write(ref _head, head + 1);
    }
}
