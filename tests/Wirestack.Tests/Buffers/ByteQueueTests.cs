using Wirestack.Buffers;

namespace Wirestack.Tests.Buffers;

public class ByteQueueTests
{
    private static byte[] Pattern(int length, int seed = 0)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)(i * 7 + seed);
        }

        return bytes;
    }

    [Fact]
    public void An_empty_queue_holds_no_memory()
    {
        var budget = new MemoryBudget(1 << 20);
        var queue = new ByteQueue(budget, BudgetCause.SendBuffer);
        Assert.Equal(0, queue.Length);
        Assert.Equal(0, queue.ChargedBytes);
        Assert.Equal(0, budget.InUse);
        Assert.Equal(0, queue.Read(new byte[10]));
        Assert.Equal(0, queue.Peek(0, new byte[10]));
    }

    [Fact]
    public void Chunks_are_charged_lazily_and_released_when_drained()
    {
        var budget = new MemoryBudget(1 << 20);
        var queue = new ByteQueue(budget, BudgetCause.ReceiveBuffer, chunkSize: 16);

        Assert.Equal(10, queue.Write(Pattern(10)));
        Assert.Equal(16, queue.ChargedBytes);
        Assert.Equal(16, budget.InUseFor(BudgetCause.ReceiveBuffer));

        Assert.Equal(30, queue.Write(Pattern(30, 10)));
        Assert.Equal(40, queue.Length);
        Assert.Equal(48, queue.ChargedBytes); // 3 chunks

        queue.Discard(16); // the first chunk is now empty
        Assert.Equal(32, queue.ChargedBytes);
        Assert.Equal(32, budget.InUse);

        queue.Discard(20); // 4 bytes left in the third chunk
        Assert.Equal(16, queue.ChargedBytes);

        queue.Discard(4);
        Assert.Equal(0, queue.Length);
        Assert.Equal(0, queue.ChargedBytes);
        Assert.Equal(0, budget.InUse);
    }

    [Fact]
    public void Peek_and_read_cross_chunk_boundaries()
    {
        var budget = new MemoryBudget(1 << 20);
        var queue = new ByteQueue(budget, BudgetCause.SendBuffer, chunkSize: 16);
        byte[] data = Pattern(100);
        Assert.Equal(100, queue.Write(data));

        var peek = new byte[40];
        Assert.Equal(40, queue.Peek(5, peek));
        Assert.Equal(data.AsSpan(5, 40).ToArray(), peek);

        // Peek near the end returns what there is.
        Assert.Equal(10, queue.Peek(90, peek));
        Assert.Equal(data.AsSpan(90, 10).ToArray(), peek.AsSpan(0, 10).ToArray());
        Assert.Equal(0, queue.Peek(100, peek));

        var read = new byte[33];
        Assert.Equal(33, queue.Read(read));
        Assert.Equal(data.AsSpan(0, 33).ToArray(), read);
        Assert.Equal(67, queue.Length);

        // Peek offsets are relative to what is left.
        Assert.Equal(20, queue.Peek(10, peek.AsSpan(0, 20)));
        Assert.Equal(data.AsSpan(43, 20).ToArray(), peek.AsSpan(0, 20).ToArray());

        queue.Discard(17);
        var rest = new byte[100];
        Assert.Equal(50, queue.Read(rest));
        Assert.Equal(data.AsSpan(50, 50).ToArray(), rest.AsSpan(0, 50).ToArray());
        Assert.Equal(0, budget.InUse);
    }

    [Fact]
    public void Writes_stop_where_the_budget_refuses_a_chunk()
    {
        var budget = new MemoryBudget(40);
        var queue = new ByteQueue(budget, BudgetCause.SendBuffer, chunkSize: 16);

        Assert.Equal(32, queue.Write(Pattern(100)));
        Assert.Equal(32, queue.Length);
        Assert.Equal(32, queue.ChargedBytes);
        Assert.Equal(1, budget.FailuresFor(BudgetCause.SendBuffer));

        // Full chunks: nothing more fits until something is drained.
        Assert.Equal(0, queue.Write(Pattern(1)));

        queue.Discard(16);
        Assert.Equal(16, queue.Write(Pattern(20)));
        Assert.Equal(32, queue.Length);
    }

    [Fact]
    public void Clear_releases_everything()
    {
        var budget = new MemoryBudget(1 << 20);
        var queue = new ByteQueue(budget, BudgetCause.SendBuffer, chunkSize: 64);
        queue.Write(Pattern(1000));
        queue.Discard(10);
        Assert.True(budget.InUse > 0);

        queue.Clear();
        Assert.Equal(0, queue.Length);
        Assert.Equal(0, queue.ChargedBytes);
        Assert.Equal(0, budget.InUse);

        // Usable again afterwards.
        Assert.Equal(5, queue.Write(Pattern(5)));
        var read = new byte[5];
        Assert.Equal(5, queue.Read(read));
        Assert.Equal(Pattern(5), read);
    }

    [Fact]
    public void Discard_of_more_than_is_queued_throws()
    {
        var queue = new ByteQueue(new MemoryBudget(1 << 20), BudgetCause.SendBuffer);
        queue.Write(Pattern(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => queue.Discard(4));
        Assert.Throws<ArgumentOutOfRangeException>(() => queue.Peek(-1, new byte[1]));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 2)]
    [InlineData(16, 3)]
    [InlineData(4096, 4)]
    public void Random_operations_match_a_reference_queue(int chunkSize, int seed)
    {
        var random = new Random(seed);
        var budget = new MemoryBudget(1 << 24);
        var queue = new ByteQueue(budget, BudgetCause.SendBuffer, chunkSize);
        var reference = new List<byte>();
        byte next = 0;

        for (int op = 0; op < 2000; op++)
        {
            switch (random.Next(4))
            {
                case 0:
                {
                    var data = new byte[random.Next(0, 3 * chunkSize + 5)];
                    for (int i = 0; i < data.Length; i++)
                    {
                        data[i] = next++;
                    }

                    Assert.Equal(data.Length, queue.Write(data));
                    reference.AddRange(data);
                    break;
                }

                case 1:
                {
                    var buffer = new byte[random.Next(0, 2 * chunkSize + 5)];
                    int n = queue.Read(buffer);
                    Assert.Equal(Math.Min(buffer.Length, reference.Count), n);
                    Assert.Equal(reference.GetRange(0, n), buffer.AsSpan(0, n).ToArray());
                    reference.RemoveRange(0, n);
                    break;
                }

                case 2:
                {
                    int n = random.Next(0, reference.Count + 1);
                    queue.Discard(n);
                    reference.RemoveRange(0, n);
                    break;
                }

                default:
                {
                    int offset = random.Next(0, reference.Count + 2);
                    var buffer = new byte[random.Next(0, 2 * chunkSize + 5)];
                    int n = queue.Peek(offset, buffer);
                    int expected = Math.Max(0, Math.Min(buffer.Length, reference.Count - offset));
                    Assert.Equal(expected, n);
                    Assert.Equal(reference.Skip(offset).Take(n).ToArray(), buffer.AsSpan(0, n).ToArray());
                    break;
                }
            }

            Assert.Equal(reference.Count, queue.Length);
            // Charge is exactly the chunks needed to span [read offset, write offset): never more than one
            // partial chunk at each end.
            Assert.True(queue.ChargedBytes <= (reference.Count + 2 * chunkSize - 2) / chunkSize * chunkSize);
            Assert.Equal(queue.ChargedBytes, budget.InUse);
            if (reference.Count == 0)
            {
                Assert.Equal(0, queue.ChargedBytes);
            }
        }

        queue.Clear();
        Assert.Equal(0, budget.InUse);
    }

    [Fact]
    public void Steady_state_does_not_allocate_per_call()
    {
        var budget = new MemoryBudget(1 << 24);
        var queue = new ByteQueue(budget, BudgetCause.SendBuffer, chunkSize: 4096);
        byte[] data = Pattern(1460);
        var buffer = new byte[1460];
        for (int i = 0; i < 100; i++)
        {
            queue.Write(data);
            queue.Read(buffer);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            queue.Write(data);
            queue.Write(data);
            queue.Peek(100, buffer);
            queue.Read(buffer);
            queue.Discard(1460);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // 10,000 iterations rent and return thousands of chunks; only a pool refill (after a GC trim) may
        // allocate, which is far below one allocation per call.
        Assert.True(allocated < 64 * 1024, $"allocated {allocated} B");
    }

    [Theory]
    [InlineData(0, 100)]
    [InlineData(1, 100)]
    [InlineData(13, 47)]
    [InlineData(5, 64)]
    public void PeekAndAccumulate_copies_like_Peek_and_sums_across_chunks(int offset, int length)
    {
        var budget = new MemoryBudget(1 << 20);
        var queue = new ByteQueue(budget, BudgetCause.SendBuffer, chunkSize: 16); // odd pieces at every chunk edge
        byte[] data = new byte[200];
        new Random(offset + length).NextBytes(data);
        queue.Discard(queue.Write(data.AsSpan(0, 3))); // the read position is odd inside the first chunk
        queue.Write(data);
        byte[] copy = new byte[length];
        ulong sum = 0;
        Assert.Equal(length, queue.PeekAndAccumulate(offset, copy, ref sum));
        Assert.Equal(data.AsSpan(offset, length).ToArray(), copy);
        Assert.Equal(Wirestack.Wire.InternetChecksum.Compute(copy), Wirestack.Wire.InternetChecksum.Finish(sum));
        queue.Clear();
    }
}
