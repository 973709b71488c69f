using System.Diagnostics.CodeAnalysis;

namespace Wirestack.Buffers;

/// <summary>
/// The stack's pool of packet buffers. Every buffer rented is charged to the stack's <see cref="MemoryBudget"/> for
/// its full capacity; a spent budget makes <see cref="TryRent"/> fail (the caller drops and counts, or reports
/// ENOBUFS). Buffer objects and their arrays are reused (<see cref="ByteArrayCache"/>), so renting allocates
/// nothing on the steady path.
/// Not thread-safe: used under the stack's lock, like all protocol state.
/// </summary>
public sealed class PacketBufferPool
{
    /// <summary>Headroom reserved in every buffer: enough for Ethernet (14) + IPv4 with options (60) + TCP with
    /// options (60), rounded up.</summary>
    public const int DefaultHeadroom = 160;

    private readonly Stack<PacketBuffer> _free = new();

    public PacketBufferPool(MemoryBudget budget, int headroom = DefaultHeadroom, ByteArrayCache? arrays = null)
    {
        Budget = budget;
        Headroom = headroom;
        // Retention up to the budget: the free lists never hold more than was leased at once, which the budget
        // caps, so a stack that once had a window of buffers in flight keeps them instead of allocating again.
        Arrays = arrays ?? new ByteArrayCache((int)Math.Min(int.MaxValue, Math.Max(0, budget.Limit)));
    }

    /// <summary>Where the buffers' arrays come from and go back to (the stack's own free lists).</summary>
    public ByteArrayCache Arrays { get; }

    public MemoryBudget Budget { get; }

    public int Headroom { get; }

    /// <summary>Buffers rented and not yet returned.</summary>
    public int LeasedCount { get; private set; }

    /// <summary>Rents a buffer with room for <paramref name="payloadCapacity"/> bytes behind the headroom.</summary>
    public bool TryRent(int payloadCapacity, BudgetCause cause, [NotNullWhen(true)] out PacketBuffer? buffer)
    {
        int size = Headroom + payloadCapacity;
        if (!Budget.TryCharge(size, cause))
        {
            buffer = null;
            return false;
        }

        buffer = _free.Count > 0 ? _free.Pop() : new PacketBuffer(this);
        buffer.Attach(Arrays.Rent(size), Headroom, cause, size);
        LeasedCount++;
        return true;
    }

    internal void Return(PacketBuffer buffer)
    {
        byte[] array = buffer.Detach(out BudgetCause cause, out int charged);
        Arrays.Return(array);
        Budget.Release(charged, cause);
        LeasedCount--;
        _free.Push(buffer); // bounded by the most buffers leased at once (the budget caps that)
    }
}
