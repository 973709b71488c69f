using System.Buffers;
using BenchmarkDotNet.Attributes;
using Wirestack.Buffers;

namespace Wirestack.Benchmarks;

/// <summary>
/// What a packet buffer costs to take and give back, the way the stack does it now (PacketBufferPool over
/// ArrayPool&lt;byte&gt;.Shared) against a plain single-threaded free list, for one buffer at a time (the pool's
/// best case) and for a working set of 2,048 buffers held at once (a window of segments in flight: more than
/// ArrayPool.Shared keeps per size, 32 per core, so it allocates).
/// </summary>
[MemoryDiagnoser]
public class PoolBenchmarks
{
    private const int Size = 1500 + PacketBufferPool.DefaultHeadroom;
    private readonly Stack<byte[]> _free = new();
    private readonly byte[][] _held = new byte[2048][];
    private readonly PacketBuffer?[] _heldBuffers = new PacketBuffer?[2048];
    private PacketBufferPool _pool = null!;

    [GlobalSetup]
    public void Setup()
    {
        _pool = new PacketBufferPool(new MemoryBudget(1L << 30));
        for (int i = 0; i < _held.Length; i++)
        {
            _free.Push(new byte[2048]);
        }
    }

    [Benchmark]
    public int PacketBufferPoolOne()
    {
        _pool.TryRent(1500, BudgetCause.PacketTx, out PacketBuffer? buffer);
        int length = buffer!.Tailroom;
        buffer.Dispose();
        return length;
    }

    [Benchmark]
    public int ArrayPoolSharedOne()
    {
        byte[] array = ArrayPool<byte>.Shared.Rent(Size);
        ArrayPool<byte>.Shared.Return(array);
        return array.Length;
    }

    [Benchmark(Baseline = true)]
    public int FreeListOne()
    {
        byte[] array = _free.Pop();
        _free.Push(array);
        return array.Length;
    }

    /// <summary>2,048 buffers rented, then all returned: per buffer, divide by 2,048.</summary>
    [Benchmark(OperationsPerInvoke = 2048)]
    public int PacketBufferPoolWindow()
    {
        for (int i = 0; i < _heldBuffers.Length; i++)
        {
            _pool.TryRent(1500, BudgetCause.PacketTx, out _heldBuffers[i]);
        }

        for (int i = 0; i < _heldBuffers.Length; i++)
        {
            _heldBuffers[i]!.Dispose();
        }

        return _heldBuffers.Length;
    }

    [Benchmark(OperationsPerInvoke = 2048)]
    public int FreeListWindow()
    {
        for (int i = 0; i < _held.Length; i++)
        {
            _held[i] = _free.Pop();
        }

        for (int i = 0; i < _held.Length; i++)
        {
            _free.Push(_held[i]);
        }

        return _held.Length;
    }
}
