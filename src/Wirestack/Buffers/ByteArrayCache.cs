using System.Numerics;

namespace Wirestack.Buffers;

/// <summary>
/// The stack's own free lists of byte arrays, one per power-of-two size class from 256 B to 8 MiB. Renting pops an
/// array of the class that fits, returning pushes it back; nothing is shared with other stacks or threads, so the
/// steady path takes no lock and allocates nothing, and no process-wide trimming (as <c>ArrayPool.Shared</c> does
/// after a gen-2 collection) can make a warm stack allocate again. What stays cached is bounded per class by
/// <see cref="RetainedBytesPerClass"/>: arrays beyond it go to the GC. Not thread-safe: used under the stack's lock.
/// </summary>
public sealed class ByteArrayCache
{
    /// <summary>The smallest size class: 256 B.</summary>
    public const int MinimumSize = 1 << MinimumShift;

    /// <summary>The largest size class: 8 MiB (an out-of-order range as large as Linux's largest receive buffer,
    /// tcp_rmem's 6 MiB, fits). Larger requests get a fresh array that is never cached.</summary>
    public const int MaximumSize = 1 << MaximumShift;

    private const int MinimumShift = 8;
    private const int MaximumShift = 23;

    private readonly Stack<byte[]>?[] _free = new Stack<byte[]>?[MaximumShift - MinimumShift + 1];

    /// <param name="retainedBytesPerClass">How many bytes of free arrays each size class may keep (at least one
    /// array of the class is always kept).</param>
    public ByteArrayCache(int retainedBytesPerClass = 4 << 20)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(retainedBytesPerClass);
        RetainedBytesPerClass = retainedBytesPerClass;
    }

    public int RetainedBytesPerClass { get; }

    /// <summary>Arrays handed out by <see cref="Rent"/> that the cache had to allocate (a warm cache stops counting).</summary>
    public long Allocations { get; private set; }

    /// <summary>Bytes held in the free lists right now.</summary>
    public long CachedBytes
    {
        get
        {
            long total = 0;
            for (int i = 0; i < _free.Length; i++)
            {
                total += (long)(_free[i]?.Count ?? 0) * (MinimumSize << i);
            }

            return total;
        }
    }

    /// <summary>An array of at least <paramref name="minimumLength"/> bytes (its length is the size class, so callers
    /// must track how much of it they use). Contents are whatever the previous holder left.</summary>
    public byte[] Rent(int minimumLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumLength);
        if (minimumLength > MaximumSize)
        {
            Allocations++;
            return GC.AllocateUninitializedArray<byte>(minimumLength);
        }

        int index = ClassOf(minimumLength);
        if (_free[index] is { } free && free.TryPop(out byte[]? array))
        {
            return array;
        }

        Allocations++;
        return GC.AllocateUninitializedArray<byte>(MinimumSize << index);
    }

    /// <summary>Gives an array from <see cref="Rent"/> back. Arrays that are not exactly a size class (not from
    /// this cache) and arrays beyond the class's retention bound are left to the GC.</summary>
    public void Return(byte[] array)
    {
        int length = array.Length;
        if (length < MinimumSize || length > MaximumSize || !BitOperations.IsPow2(length))
        {
            return;
        }

        int index = BitOperations.Log2((uint)length) - MinimumShift;
        Stack<byte[]> free = _free[index] ??= new Stack<byte[]>();
        if (free.Count < Math.Max(1, RetainedBytesPerClass / length))
        {
            free.Push(array);
        }
    }

    private static int ClassOf(int length) =>
        length <= MinimumSize ? 0 : BitOperations.Log2((uint)(length - 1)) + 1 - MinimumShift;
}
