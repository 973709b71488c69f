using Wirestack.Buffers;
using Wirestack.Tcp;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

public class ReassemblyQueueTests
{
    private static readonly SeqNumber Base = new(0xFFFF_FF00); // close to the wrap, so ranges cross 2^32

    private static SeqNumber At(int offset) => Base + offset;

    /// <summary>Bytes whose value depends on the copy: copy k of position p.</summary>
    private static byte[] Copy(int offset, int length, int copy)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = Value(offset + i, copy);
        }

        return bytes;
    }

    private static byte Value(int offset, int copy) => (byte)(offset * 31 + copy * 101 + 7);

    private static (ReassemblyQueue Queue, MemoryBudget Budget) NewQueue(int maxRanges = 256, long limit = 1 << 24)
    {
        var budget = new MemoryBudget(limit) { TransitReserve = 0 };
        return (new ReassemblyQueue(budget, maxRanges), budget);
    }

    private static byte[] DrainAll(ReassemblyQueue queue, SeqNumber rcvNxt, out int moved)
    {
        var destination = new ByteQueue(new MemoryBudget(1 << 24), BudgetCause.ReceiveBuffer, 64);
        moved = queue.Drain(rcvNxt, destination);
        var bytes = new byte[destination.Length];
        destination.Read(bytes);
        return bytes;
    }

    [Fact]
    public void An_empty_queue_holds_nothing()
    {
        (ReassemblyQueue queue, MemoryBudget budget) = NewQueue();
        Assert.True(queue.IsEmpty);
        Assert.Equal(0, queue.BytesHeld);
        Assert.Equal(0, queue.RangeCount);
        Assert.Equal(0, queue.ChargedBytes);
        Assert.Equal(0, budget.InUse);
        Assert.Equal(0, queue.GetSackBlocks(new SackBlock[4]));
        Assert.Empty(DrainAll(queue, At(0), out _));
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.4")]
    public void Held_data_drains_once_the_hole_before_it_fills()
    {
        (ReassemblyQueue queue, MemoryBudget budget) = NewQueue();
        Assert.Equal(100, queue.Insert(At(0), At(100), Copy(100, 100, 0)));
        Assert.Equal(100, queue.BytesHeld);
        Assert.Equal(budget.InUse, queue.ChargedBytes);
        Assert.True(queue.ChargedBytes >= 100 + ReassemblyQueue.RangeOverhead);

        // Still a hole at RCV.NXT: nothing moves.
        Assert.Empty(DrainAll(queue, At(0), out int none));
        Assert.Equal(0, none);

        // The connection delivered [0, 100) itself and advanced RCV.NXT.
        byte[] drained = DrainAll(queue, At(100), out int moved);
        Assert.Equal(100, moved);
        Assert.Equal(Copy(100, 100, 0), drained);
        Assert.True(queue.IsEmpty);
        Assert.Equal(0, budget.InUse);
    }

    [Fact]
    public void In_order_data_written_directly_makes_the_held_overlap_stale()
    {
        (ReassemblyQueue queue, _) = NewQueue();
        queue.Insert(At(0), At(50), Copy(50, 100, 0)); // [50, 150)

        // A segment [0, 120) arrived in order; the connection delivered it and RCV.NXT is now 120.
        byte[] drained = DrainAll(queue, At(120), out int moved);
        Assert.Equal(30, moved);
        Assert.Equal(Copy(120, 30, 0), drained);
        Assert.True(queue.IsEmpty);
    }

    [Fact]
    public void Overlaps_of_every_kind_store_only_the_holes_and_first_copy_wins()
    {
        (ReassemblyQueue queue, MemoryBudget budget) = NewQueue();
        SeqNumber rcvNxt = At(0);

        Assert.Equal(100, queue.Insert(rcvNxt, At(100), Copy(100, 100, 1))); // [100, 200)
        Assert.Equal(0, queue.Insert(rcvNxt, At(100), Copy(100, 100, 2)));  // exact duplicate
        Assert.Equal(0, queue.Insert(rcvNxt, At(120), Copy(120, 30, 3)));   // inside
        Assert.Equal(50, queue.Insert(rcvNxt, At(50), Copy(50, 100, 4)));   // overlaps the left end
        Assert.Equal(50, queue.Insert(rcvNxt, At(150), Copy(150, 100, 5))); // overlaps the right end
        Assert.Equal(60, queue.Insert(rcvNxt, At(20), Copy(20, 260, 6)));   // covers both ends
        Assert.Equal(1, queue.RangeCount);
        Assert.Equal(260, queue.BytesHeld);

        // Several ranges with holes, then one segment spanning them all.
        Assert.Equal(10, queue.Insert(rcvNxt, At(300), Copy(300, 10, 7)));
        Assert.Equal(10, queue.Insert(rcvNxt, At(320), Copy(320, 10, 7)));
        Assert.Equal(10, queue.Insert(rcvNxt, At(340), Copy(340, 10, 7)));
        Assert.Equal(4, queue.RangeCount);
        Assert.Equal(40, queue.Insert(rcvNxt, At(275), Copy(275, 70, 8))); // fills [280,300), [310,320), [330,340)
        Assert.Equal(1, queue.RangeCount);
        Assert.Equal(330, queue.BytesHeld);

        // Fill the start and drain everything; each byte must come from the first copy that covered it.
        Assert.Equal(20, queue.Insert(rcvNxt, At(0), Copy(0, 30, 9)));
        byte[] drained = DrainAll(queue, rcvNxt, out int moved);
        Assert.Equal(350, moved);
        var expected = new byte[350];
        for (int p = 0; p < 350; p++)
        {
            int copy = p switch
            {
                < 20 => 9,
                < 50 => 6,
                < 100 => 4,
                < 200 => 1,
                < 250 => 5,
                < 280 => 6,
                >= 300 and < 310 or >= 320 and < 330 or >= 340 => 7,
                _ => 8,
            };
            expected[p] = Value(p, copy);
        }

        Assert.Equal(expected, drained);
        Assert.Equal(0, budget.InUse);
    }

    [Fact]
    public void Adjacent_segments_merge_in_both_directions()
    {
        (ReassemblyQueue queue, _) = NewQueue();
        SeqNumber rcvNxt = At(0);
        queue.Insert(rcvNxt, At(1000), Copy(1000, 100, 0));
        for (int i = 1; i <= 20; i++)
        {
            Assert.Equal(100, queue.Insert(rcvNxt, At(1000 + i * 100), Copy(1000 + i * 100, 100, 0))); // append
            Assert.Equal(1, queue.RangeCount);
            Assert.Equal(40, queue.Insert(rcvNxt, At(1000 - i * 40), Copy(1000 - i * 40, 40, 0)));    // prepend
            Assert.Equal(1, queue.RangeCount);
        }

        Assert.Equal(2100 + 800, queue.BytesHeld);
        // Growth in both directions keeps the buffer within a small factor of the data.
        Assert.True(queue.ChargedBytes <= 3 * queue.BytesHeld + ReassemblyQueue.RangeOverhead, $"charged {queue.ChargedBytes}");
        queue.Insert(rcvNxt, At(0), Copy(0, 200, 0));
        Assert.Equal(1, queue.RangeCount); // [0,200) touches [200, 3100)
        byte[] drained = DrainAll(queue, rcvNxt, out int moved);
        Assert.Equal(3100, moved);
        Assert.Equal(Copy(0, 3100, 0), drained);
    }

    [Fact]
    public void Growth_alternating_between_both_ends_stays_compact()
    {
        (ReassemblyQueue queue, MemoryBudget budget) = NewQueue(limit: 1 << 20);
        SeqNumber rcvNxt = At(0);
        int low = 50_000;
        int high = 50_001;
        queue.Insert(rcvNxt, At(low), Copy(low, 1, 0));
        for (int i = 0; i < 20_000; i++)
        {
            // One byte at the back, one at the front: the pattern that defeats one-sided spare room.
            Assert.Equal(1, queue.Insert(rcvNxt, At(high), Copy(high, 1, 0)));
            high++;
            low--;
            Assert.Equal(1, queue.Insert(rcvNxt, At(low), Copy(low, 1, 0)));
        }

        Assert.Equal(1, queue.RangeCount);
        Assert.Equal(high - low, queue.BytesHeld);
        Assert.True(queue.ChargedBytes <= 3 * queue.BytesHeld + ReassemblyQueue.RangeOverhead, $"charged {queue.ChargedBytes}");
        Assert.Equal(budget.InUse, queue.ChargedBytes);

        queue.Insert(rcvNxt, At(0), Copy(0, low, 1));
        byte[] drained = DrainAll(queue, rcvNxt, out int moved);
        Assert.Equal(high, moved);
        Assert.Equal(Copy(0, low, 1), drained.AsSpan(0, low).ToArray());
        Assert.Equal(Copy(low, high - low, 0), drained.AsSpan(low).ToArray());
        Assert.Equal(0, budget.InUse);
    }

    [Fact]
    public void Data_below_rcv_nxt_is_trimmed()
    {
        (ReassemblyQueue queue, _) = NewQueue();
        Assert.Equal(0, queue.Insert(At(100), At(0), Copy(0, 100, 0)));
        Assert.Equal(50, queue.Insert(At(100), At(50), Copy(50, 100, 0)));
        Assert.Equal(50, queue.BytesHeld);
        Assert.True(queue.Contains(At(100)));
        Assert.False(queue.Contains(At(99)));
    }

    [Fact]
    [Trait("Rfc", "2018 §4")]
    public void Sack_blocks_put_the_latest_segment_first_then_the_most_recently_changed()
    {
        (ReassemblyQueue queue, _) = NewQueue();
        SeqNumber rcvNxt = At(0);
        queue.Insert(rcvNxt, At(1000), Copy(1000, 100, 0)); // A
        queue.Insert(rcvNxt, At(2000), Copy(2000, 100, 0)); // B
        queue.Insert(rcvNxt, At(3000), Copy(3000, 100, 0)); // C

        var blocks = new SackBlock[4];
        Assert.Equal(3, queue.GetSackBlocks(blocks));
        Assert.Equal(new SackBlock(At(3000), At(3100)), blocks[0]);
        Assert.Equal(new SackBlock(At(2000), At(2100)), blocks[1]);
        Assert.Equal(new SackBlock(At(1000), At(1100)), blocks[2]);

        // A grows: it is reported first, as one maximal block.
        queue.Insert(rcvNxt, At(1100), Copy(1100, 100, 0));
        Assert.Equal(3, queue.GetSackBlocks(blocks));
        Assert.Equal(new SackBlock(At(1000), At(1200)), blocks[0]);
        Assert.Equal(new SackBlock(At(3000), At(3100)), blocks[1]);
        Assert.Equal(new SackBlock(At(2000), At(2100)), blocks[2]);

        // A duplicate inside B triggers the next ACK: B's block comes first.
        Assert.Equal(0, queue.Insert(rcvNxt, At(2010), Copy(2010, 10, 1)));
        Assert.Equal(3, queue.GetSackBlocks(blocks));
        Assert.Equal(new SackBlock(At(2000), At(2100)), blocks[0]);
        Assert.Equal(new SackBlock(At(1000), At(1200)), blocks[1]);

        // Room for fewer blocks than ranges: the most recent ones.
        queue.Insert(rcvNxt, At(4000), Copy(4000, 100, 0));
        queue.Insert(rcvNxt, At(5000), Copy(5000, 100, 0));
        Span<SackBlock> three = stackalloc SackBlock[3];
        Assert.Equal(3, queue.GetSackBlocks(three));
        Assert.Equal(new SackBlock(At(5000), At(5100)), three[0]);
        Assert.Equal(new SackBlock(At(4000), At(4100)), three[1]);
        Assert.Equal(new SackBlock(At(2000), At(2100)), three[2]);
    }

    [Fact]
    public void A_flood_of_one_byte_segments_is_bounded_by_max_ranges()
    {
        (ReassemblyQueue queue, MemoryBudget budget) = NewQueue(maxRanges: 8);
        SeqNumber rcvNxt = At(0);
        int stored = 0;
        for (int i = 1; i <= 1000; i++)
        {
            stored += queue.Insert(rcvNxt, At(i * 2), Copy(i * 2, 1, 0)); // every other byte
        }

        Assert.Equal(8, stored);
        Assert.Equal(8, queue.RangeCount);
        Assert.Equal(8, queue.BytesHeld);
        Assert.Equal(budget.InUse, queue.ChargedBytes);
        Assert.True(queue.ChargedBytes <= 8 * (16 + ReassemblyQueue.RangeOverhead));

        // Data touching a held range still gets in (it needs no new range), and filling a hole merges.
        Assert.Equal(1, queue.Insert(rcvNxt, At(3), Copy(3, 1, 0)));
        Assert.Equal(7, queue.RangeCount);
        Assert.Equal(1, queue.Insert(rcvNxt, At(1000), Copy(1000, 1, 0)));
        Assert.Equal(8, queue.RangeCount);

        queue.Clear();
        Assert.Equal(0, queue.ChargedBytes);
        Assert.Equal(0, budget.InUse);
    }

    [Fact]
    public void The_budget_refuses_and_clear_returns_every_byte()
    {
        (ReassemblyQueue queue, MemoryBudget budget) = NewQueue(limit: 300);
        SeqNumber rcvNxt = At(0);
        Assert.Equal(100, queue.Insert(rcvNxt, At(100), Copy(100, 100, 0))); // 128 + 64 charged
        Assert.Equal(0, queue.Insert(rcvNxt, At(300), Copy(300, 100, 0)));   // another 192 does not fit
        Assert.Equal(1, budget.FailuresFor(BudgetCause.ReceiveBuffer));
        Assert.Equal(1, queue.RangeCount);
        Assert.Equal(budget.InUse, queue.ChargedBytes);

        queue.Clear();
        Assert.True(queue.IsEmpty);
        Assert.Equal(0, queue.ChargedBytes);
        Assert.Equal(0, budget.InUse);
    }

    [Fact]
    public void Bytes_the_destination_refuses_stay_queued()
    {
        (ReassemblyQueue queue, _) = NewQueue();
        SeqNumber rcvNxt = At(0);
        queue.Insert(rcvNxt, At(0), Copy(0, 100, 0));
        queue.Insert(rcvNxt, At(200), Copy(200, 50, 0));

        var small = new MemoryBudget(32) { TransitReserve = 0 };
        var destination = new ByteQueue(small, BudgetCause.ReceiveBuffer, chunkSize: 32);
        Assert.Equal(32, queue.Drain(rcvNxt, destination));
        rcvNxt += 32;
        Assert.Equal(68 + 50, queue.BytesHeld);

        var buffer = new byte[32];
        destination.Read(buffer);
        Assert.Equal(Copy(0, 32, 0), buffer);

        Assert.Equal(32, queue.Drain(rcvNxt, destination));
        rcvNxt += 32;
        destination.Read(buffer);
        Assert.Equal(Copy(32, 32, 0), buffer);
        Assert.Equal(36 + 50, queue.BytesHeld);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void Random_overlaps_match_a_byte_map_reference(int seed)
    {
        var random = new Random(seed);
        const int Total = 30_000;
        (ReassemblyQueue queue, MemoryBudget budget) = NewQueue(maxRanges: 100_000, limit: 1L << 30);
        var destination = new ByteQueue(new MemoryBudget(1 << 26), BudgetCause.ReceiveBuffer, 512);
        var reference = new int?[Total + 1000];
        int rcvNxt = 0;
        int copy = 0;
        var blocks = new SackBlock[4];

        while (rcvNxt < Total)
        {
            copy++;
            int start = rcvNxt + random.Next(-40, 700);
            int length = random.Next(1, random.Next(2) == 0 ? 20 : 300);
            if (start + length <= rcvNxt)
            {
                start = rcvNxt + random.Next(0, 5);
            }

            int stored = queue.Insert(At(rcvNxt), At(start), Copy(start, length, copy));
            int expectedStored = 0;
            for (int p = Math.Max(start, rcvNxt); p < start + length; p++)
            {
                if (reference[p] is null)
                {
                    reference[p] = copy;
                    expectedStored++;
                }
            }

            Assert.Equal(expectedStored, stored);

            int moved = queue.Drain(At(rcvNxt), destination);
            int run = 0;
            while (reference[rcvNxt + run] is not null)
            {
                run++;
            }

            Assert.Equal(run, moved);
            rcvNxt += moved;

            // Bookkeeping: bytes held, maximal ranges, budget.
            int held = 0;
            int ranges = 0;
            for (int p = rcvNxt; p < reference.Length; p++)
            {
                if (reference[p] is not null)
                {
                    held++;
                    if (reference[p - 1] is null)
                    {
                        ranges++;
                    }
                }
            }

            Assert.Equal(held, queue.BytesHeld);
            Assert.Equal(ranges, queue.RangeCount);
            Assert.Equal(budget.InUse, queue.ChargedBytes);

            // SACK blocks are maximal runs of held data, the first containing the latest new data.
            int count = queue.GetSackBlocks(blocks);
            Assert.Equal(Math.Min(4, ranges), count);
            for (int b = 0; b < count; b++)
            {
                int left = blocks[b].Left - Base;
                int right = blocks[b].Right - Base;
                Assert.True(left > rcvNxt && reference[left - 1] is null && reference[right] is null);
                for (int p = left; p < right; p++)
                {
                    Assert.NotNull(reference[p]);
                }
            }

            if (stored > 0 && start + length > rcvNxt)
            {
                int latest = Math.Max(start, rcvNxt);
                // Some newly stored byte lies in block 0 unless it was all drained.
                Assert.True(count == 0 || Enumerable.Range(latest, start + length - latest)
                    .Any(p => p >= rcvNxt && blocks[0].Left - Base <= p && p < blocks[0].Right - Base && reference[p] == copy));
            }
        }

        var delivered = new byte[destination.Length];
        destination.Read(delivered);
        Assert.Equal(rcvNxt, delivered.Length);
        for (int p = 0; p < rcvNxt; p++)
        {
            Assert.Equal(Value(p, reference[p]!.Value), delivered[p]);
        }

        queue.Clear();
        Assert.Equal(0, budget.InUse);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public void Under_budget_and_range_pressure_data_is_never_corrupted(int seed)
    {
        var random = new Random(seed);
        const int Total = 20_000;
        (ReassemblyQueue queue, MemoryBudget budget) = NewQueue(maxRanges: 6, limit: 3000);
        var destination = new ByteQueue(new MemoryBudget(1 << 26), BudgetCause.ReceiveBuffer, 512);
        int rcvNxt = 0;
        int refused = 0;
        int steps = 0;

        while (rcvNxt < Total && steps++ < 200_000)
        {
            // Every copy of a byte is the same here (a retransmission), so whatever survives must match.
            int start = rcvNxt + (random.Next(4) == 0 ? 0 : random.Next(-20, 800));
            int length = random.Next(1, 200);
            if (start + length <= rcvNxt)
            {
                continue;
            }

            int stored = queue.Insert(At(rcvNxt), At(start), Copy(start, length, 0));
            Assert.InRange(stored, 0, length);
            if (stored == 0)
            {
                refused++;
            }

            rcvNxt += queue.Drain(At(rcvNxt), destination);
            Assert.InRange(queue.RangeCount, 0, 6);
            Assert.Equal(budget.InUse, queue.ChargedBytes);
            Assert.True(budget.InUse <= budget.Limit);

            int contained = 0;
            for (int p = rcvNxt; p < rcvNxt + 1100; p++)
            {
                if (queue.Contains(At(p)))
                {
                    contained++;
                }
            }

            Assert.Equal(contained, queue.BytesHeld);
        }

        Assert.True(refused > 0, "the bounds were exercised");
        var delivered = new byte[destination.Length];
        destination.Read(delivered);
        Assert.Equal(Copy(0, rcvNxt, 0), delivered);

        queue.Clear();
        Assert.Equal(0, budget.InUse);
    }

    [Fact]
    public void Steady_state_does_not_allocate_per_call()
    {
        (ReassemblyQueue queue, _) = NewQueue();
        var destination = new ByteQueue(new MemoryBudget(1 << 26), BudgetCause.ReceiveBuffer, 4096);
        byte[] segment = Copy(0, 1460, 0);
        var sink = new byte[4 * 1460];
        var blocks = new SackBlock[4];
        int rcvNxt = 0;

        void Round()
        {
            // Segments 2 and 3 arrive before 1; then 1 arrives and everything drains.
            queue.Insert(At(rcvNxt), At(rcvNxt + 1460), segment);
            queue.Insert(At(rcvNxt), At(rcvNxt + 2920), segment);
            queue.GetSackBlocks(blocks);
            queue.Insert(At(rcvNxt), At(rcvNxt), segment);
            rcvNxt += queue.Drain(At(rcvNxt), destination);
            destination.Read(sink);
        }

        for (int i = 0; i < 100; i++)
        {
            Round();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5_000; i++)
        {
            Round();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 64 * 1024, $"allocated {allocated} B");
    }

    [Fact]
    public void A_range_of_megabytes_behind_one_hole_grows_by_doubling_and_keeps_every_byte()
    {
        // A window's worth behind one lost segment, one MSS at a time: beyond the cache's largest class (1 MiB) the
        // range's buffer doubles, so getting from 1 MiB to 6 MiB takes 3 new arrays (2, 4, 8 MiB), not the 8 that
        // growing by a quarter (each copying megabytes) took.
        var cache = new ByteArrayCache();
        var budget = new MemoryBudget(1L << 30) { TransitReserve = 0 };
        var queue = new ReassemblyQueue(budget, arrays: cache);
        const int Mss = 1448, Total = 6 << 20;
        long allocationsAtOneMiB = -1;
        for (int offset = Mss; offset < Total; offset += Mss)
        {
            int length = Math.Min(Mss, Total - offset);
            Assert.Equal(length, queue.Insert(At(0), At(offset), Copy(offset, length, 0)));
            if (allocationsAtOneMiB < 0 && queue.BytesHeld > 1 << 20)
            {
                allocationsAtOneMiB = cache.Allocations;
            }
        }

        Assert.Equal(1, queue.RangeCount);
        Assert.InRange(cache.Allocations - allocationsAtOneMiB, 1, 3);
        Assert.True(queue.ChargedBytes <= 2L * (queue.BytesHeld + Mss) + ReassemblyQueue.RangeOverhead,
            $"{queue.ChargedBytes} B charged for {queue.BytesHeld} B held");

        Assert.Equal(Mss, queue.Insert(At(0), At(0), Copy(0, Mss, 0))); // the hole fills
        byte[] drained = DrainAll(queue, At(0), out int moved);
        Assert.Equal(Total, moved);
        Assert.Equal(Copy(0, Total, 0), drained);
        Assert.Equal(0, budget.InUse);
    }
}
