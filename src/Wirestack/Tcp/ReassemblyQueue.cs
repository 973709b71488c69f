using System.Buffers;
using System.Numerics;
using Wirestack.Buffers;
using Wirestack.Wire;

namespace Wirestack.Tcp;

/// <summary>
/// Out-of-order receive data (RFC 9293 §3.10.7.4: segments beyond RCV.NXT are held until the hole before them
/// fills). Data is kept as a sorted list of disjoint, maximal sequence ranges; each range's bytes sit in one buffer
/// rented from the stack's <see cref="ByteArrayCache"/> (buffers below its smallest class, and all buffers without
/// one, from <see cref="ArrayPool{T}.Shared"/>) and charged to the stack's budget (its rented length plus
/// <see cref="RangeOverhead"/>) under <see cref="BudgetCause.ReceiveBuffer"/>.
/// </summary>
/// <remarks>
/// <para>Bounded two ways: by the budget, and by <c>maxRanges</c>, so a flood of 1-byte segments with holes
/// between them holds at most <c>maxRanges</c> small buffers. Data that touches a range already held is merged into
/// it and never needs a new range.</para>
/// <para>Overlaps are resolved "first copy wins": bytes already held are never overwritten, only the holes of a
/// new segment are stored. A range's data sits inside its buffer with free room on both sides, so segments that
/// extend it at either end are copied in place; when a side runs out the range moves to a larger buffer (see
/// <see cref="Regrow"/>), so filling a range one segment at a time, in any order, costs amortised O(1) copies per
/// byte.</para>
/// <para>Sequence comparisons assume everything held lies within 2^31 of RCV.NXT, which the receive window
/// guarantees. Not thread-safe; nothing is allocated on the steady path (the range table itself is rented while
/// data is held and returned when the queue empties).</para>
/// </remarks>
public sealed class ReassemblyQueue
{
    /// <summary>Bytes charged per range on top of its buffer, for the bookkeeping.</summary>
    public const int RangeOverhead = 64;

    private const BudgetCause Cause = BudgetCause.ReceiveBuffer;

    private readonly MemoryBudget _budget;
    private readonly int _maxRanges;
    private readonly ByteArrayCache? _arrays;

    // Sorted by Start, disjoint, never adjacent. Rented while non-empty.
    private Range[]? _ranges;
    private int _count;

    // Monotonic stamp of the last change, for RFC 2018 §4 block ordering.
    private long _clock;

    /// <param name="budget">The budget every buffer is charged to.</param>
    /// <param name="maxRanges">The most disjoint ranges held at once.</param>
    /// <param name="arrays">The stack's free lists the buffers come from; <see cref="ArrayPool{T}.Shared"/> if null.</param>
    public ReassemblyQueue(MemoryBudget budget, int maxRanges = 256, ByteArrayCache? arrays = null)
    {
        ArgumentNullException.ThrowIfNull(budget);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRanges);
        _budget = budget;
        _maxRanges = maxRanges;
        _arrays = arrays;
    }

    public bool IsEmpty => _count == 0;

    /// <summary>Bytes of data held.</summary>
    public int BytesHeld { get; private set; }

    /// <summary>Disjoint ranges held.</summary>
    public int RangeCount => _count;

    /// <summary>The most ranges held at once.</summary>
    public int MaxRanges => _maxRanges;

    /// <summary>Bytes charged to the budget now.</summary>
    public int ChargedBytes { get; private set; }

    /// <summary>The end (exclusive) of the highest range held, or null when empty.</summary>
    public SeqNumber? HighestEnd => _count == 0 ? null : _ranges![_count - 1].End;

    /// <summary>
    /// Stores data that starts at <paramref name="seq"/>, beyond <paramref name="rcvNxt"/> (the caller has
    /// trimmed it to the receive window). Bytes below <paramref name="rcvNxt"/> and bytes already held are left
    /// out (first copy wins). Returns the bytes newly stored: 0 when the data was all duplicate or when the budget
    /// or the range bound refused it (the caller counts TCPOFODrop). A segment that spans several holes may be
    /// stored in part.
    /// </summary>
    public int Insert(SeqNumber rcvNxt, SeqNumber seq, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return 0;
        }

        // Bytes below RCV.NXT were delivered already (RFC 9293 §3.10.7.4 trims a segment to the window).
        int below = rcvNxt - seq;
        if (below > 0)
        {
            if (below >= data.Length)
            {
                return 0;
            }

            data = data[below..];
            seq = rcvNxt;
        }

        DropBelow(rcvNxt);

        long stamp = ++_clock;
        SeqNumber end = seq + data.Length;
        SeqNumber cursor = seq;
        int stored = 0;
        while (cursor < end)
        {
            int index = FirstEndingAfter(cursor);
            if (index < _count && _ranges![index].Start <= cursor)
            {
                // cursor lies inside a range held: those bytes are a duplicate; skip past the range.
                _ranges[index].Stamp = stamp;
                cursor = _ranges[index].End;
                continue;
            }

            // A hole of ours: [cursor, holeEnd), bounded by the next range held or by the end of the data.
            SeqNumber holeEnd = index < _count && _ranges![index].Start < end ? _ranges[index].Start : end;
            ReadOnlySpan<byte> piece = data.Slice(cursor - seq, holeEnd - cursor);
            if (StoreHole(index, cursor, piece, stamp))
            {
                stored += piece.Length;
            }

            cursor = holeEnd;
        }

        return stored;
    }

    /// <summary>
    /// Moves the data contiguous from <paramref name="rcvNxt"/> into <paramref name="destination"/> and discards
    /// anything below <paramref name="rcvNxt"/>. Returns the bytes moved (the caller advances RCV.NXT by them).
    /// Bytes the destination refuses (its budget) stay queued.
    /// </summary>
    public int Drain(SeqNumber rcvNxt, ByteQueue destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        int moved = 0;
        while (_count > 0)
        {
            ref Range first = ref _ranges![0];
            if (first.End <= rcvNxt)
            {
                // Entirely below RCV.NXT: delivered by other means (a retransmission covering it).
                RemoveAt(0);
                continue;
            }

            if (first.Start > rcvNxt)
            {
                break;
            }

            int skip = rcvNxt - first.Start;
            int available = first.Length - skip;
            int written = destination.Write(first.Buffer.AsSpan(first.Offset + skip, available));
            moved += written;
            rcvNxt += written;
            if (written < available)
            {
                // The destination is full: keep the rest, starting at the new RCV.NXT.
                TrimFront(ref first, skip + written);
                break;
            }

            RemoveAt(0);
        }

        if (_count == 0)
        {
            ReturnTable();
        }

        return moved;
    }

    /// <summary>
    /// RFC 2018 §4: writes SACK blocks, each a maximal contiguous range held: first the one holding the most
    /// recently received segment, then the others, most recently changed first. Returns the number written
    /// (at most <paramref name="destination"/>'s length).
    /// </summary>
    public int GetSackBlocks(Span<SackBlock> destination)
    {
        int written = 0;
        long previous = long.MaxValue;
        int previousIndex = -1;
        while (written < destination.Length)
        {
            // Selection by repeated scan: destination holds at most 4 blocks, so this is O(4n) and allocates
            // nothing. Ties (one segment touching two ranges) are broken by sequence, lowest first.
            int best = -1;
            for (int i = 0; i < _count; i++)
            {
                long s = _ranges![i].Stamp;
                bool afterPrevious = s < previous || (s == previous && i > previousIndex);
                if (afterPrevious && (best < 0 || s > _ranges[best].Stamp))
                {
                    best = i;
                }
            }

            if (best < 0)
            {
                break;
            }

            destination[written++] = new SackBlock(_ranges![best].Start, _ranges[best].End);
            previous = _ranges[best].Stamp;
            previousIndex = best;
        }

        return written;
    }

    /// <summary>Whether the byte at <paramref name="seq"/> is held.</summary>
    public bool Contains(SeqNumber seq)
    {
        int index = FirstEndingAfter(seq);
        return index < _count && _ranges![index].Start <= seq;
    }

    /// <summary>Drops everything held and releases every charge.</summary>
    public void Clear()
    {
        while (_count > 0)
        {
            RemoveAt(_count - 1);
        }

        ReturnTable();
    }

    private bool StoreHole(int index, SeqNumber start, ReadOnlySpan<byte> piece, long stamp)
    {
        bool joinsPrevious = index > 0 && _ranges![index - 1].End == start;
        bool joinsNext = index < _count && _ranges![index].Start == start + piece.Length;

        if (joinsPrevious && joinsNext)
        {
            return Bridge(index - 1, piece, stamp);
        }

        if (joinsPrevious)
        {
            return Append(index - 1, piece, stamp);
        }

        if (joinsNext)
        {
            return Prepend(index, piece, stamp);
        }

        return InsertNew(index, start, piece, stamp);
    }

    private bool InsertNew(int index, SeqNumber start, ReadOnlySpan<byte> piece, long stamp)
    {
        if (_count >= _maxRanges)
        {
            return false;
        }

        if (!TryRentCharged(piece.Length, out byte[]? buffer, out int charge))
        {
            return false;
        }

        EnsureTable();
        Array.Copy(_ranges!, index, _ranges!, index + 1, _count - index);
        piece.CopyTo(buffer);
        _ranges![index] = new Range { Start = start, Length = piece.Length, Buffer = buffer, Offset = 0, Charge = charge, Stamp = stamp };
        _count++;
        BytesHeld += piece.Length;
        return true;
    }

    private bool Append(int index, ReadOnlySpan<byte> piece, long stamp)
    {
        ref Range r = ref _ranges![index];
        if (r.Buffer.Length - r.Offset - r.Length < piece.Length)
        {
            if (!Regrow(ref r, growFront: 0, growBack: piece.Length))
            {
                return false;
            }
        }

        piece.CopyTo(r.Buffer.AsSpan(r.Offset + r.Length));
        r.Length += piece.Length;
        r.Stamp = stamp;
        BytesHeld += piece.Length;
        return true;
    }

    private bool Prepend(int index, ReadOnlySpan<byte> piece, long stamp)
    {
        ref Range r = ref _ranges![index];
        if (r.Offset < piece.Length)
        {
            if (!Regrow(ref r, growFront: piece.Length, growBack: 0))
            {
                return false;
            }
        }

        r.Offset -= piece.Length;
        piece.CopyTo(r.Buffer.AsSpan(r.Offset));
        r.Length += piece.Length;
        r.Start -= piece.Length;
        r.Stamp = stamp;
        BytesHeld += piece.Length;
        return true;
    }

    /// <summary>The hole between ranges <paramref name="left"/> and left + 1 is filled: join the three.</summary>
    private bool Bridge(int left, ReadOnlySpan<byte> piece, long stamp)
    {
        ref Range a = ref _ranges![left];
        ref Range b = ref _ranges![left + 1];
        int total = a.Length + piece.Length + b.Length;
        bool roomBehindA = a.Buffer.Length - a.Offset - a.Length >= piece.Length + b.Length;
        bool roomBeforeB = b.Offset >= a.Length + piece.Length;

        // Copy the smaller side into the larger one when it fits (fewer bytes moved); when neither has room,
        // grow the larger one.
        bool intoB = roomBeforeB || roomBehindA
            ? roomBeforeB && (!roomBehindA || b.Length > a.Length)
            : b.Length > a.Length;
        if (intoB)
        {
            if (!roomBeforeB && !Regrow(ref b, growFront: a.Length + piece.Length, growBack: 0))
            {
                return false;
            }

            int offset = b.Offset - piece.Length - a.Length;
            a.Buffer.AsSpan(a.Offset, a.Length).CopyTo(b.Buffer.AsSpan(offset));
            piece.CopyTo(b.Buffer.AsSpan(offset + a.Length));
            b.Offset = offset;
            b.Start = a.Start;
            b.Length = total;
            b.Stamp = stamp;
            BytesHeld += piece.Length;
            RemoveAt(left, dataMoved: true);
            return true;
        }

        if (!roomBehindA && !Regrow(ref a, growFront: 0, growBack: piece.Length + b.Length))
        {
            return false;
        }

        piece.CopyTo(a.Buffer.AsSpan(a.Offset + a.Length));
        b.Buffer.AsSpan(b.Offset, b.Length).CopyTo(a.Buffer.AsSpan(a.Offset + a.Length + piece.Length));
        a.Length = total;
        a.Stamp = stamp;
        BytesHeld += piece.Length;
        RemoveAt(left + 1, dataMoved: true);
        return true;
    }

    /// <summary>
    /// Moves a range into a new buffer with room for <paramref name="growFront"/> more bytes in front and
    /// <paramref name="growBack"/> behind. The buffer is a quarter larger than needed, rounded up to a power of two
    /// (the pool's size classes do that up to <see cref="ByteArrayCache.MaximumSize"/>, and beyond it this does the
    /// same, so a range of megabytes, a window's worth behind one hole, grows by doubling, not by a quarter with a
    /// copy of megabytes every quarter: 4 copies per byte against 1, a measured 6% of a lossy 1 Gbit/s transfer);
    /// three quarters of the spare room go to the side that is growing and one quarter to the other, so that after
    /// any regrow both sides have room in proportion to the data. Each regrow copies the range once, and the next
    /// one needs a fixed fraction of that many new bytes first, so filling a range in any order of directions
    /// costs amortised O(1) copies per byte.
    /// </summary>
    private bool Regrow(ref Range r, int growFront, int growBack)
    {
        int needed = r.Length + growFront + growBack;
        long wanted = needed + needed / 4L;
        if (wanted > ByteArrayCache.MaximumSize)
        {
            wanted = (long)BitOperations.RoundUpToPowerOf2((ulong)wanted);
        }

        wanted = Math.Min(wanted, Array.MaxLength);
        if (!TryRentCharged((int)Math.Max(wanted, needed), out byte[]? buffer, out int charge))
        {
            return false;
        }

        int spare = buffer.Length - needed;
        int frontRoom = growFront > 0 ? spare - spare / 4 : spare / 4;
        int offset = frontRoom + growFront;
        r.Buffer.AsSpan(r.Offset, r.Length).CopyTo(buffer.AsSpan(offset));
        ReturnCharged(r.Buffer, r.Charge);
        r.Buffer = buffer;
        r.Offset = offset;
        r.Charge = charge;
        return true;
    }

    private bool TryRentCharged(int size, out byte[] buffer, out int charge)
    {
        buffer = _arrays is not null && size >= ByteArrayCache.MinimumSize ? _arrays.Rent(size) : ArrayPool<byte>.Shared.Rent(size);
        charge = buffer.Length + RangeOverhead;
        if (!_budget.TryCharge(charge, Cause))
        {
            ReturnArray(buffer);
            buffer = null!;
            charge = 0;
            return false;
        }

        ChargedBytes += charge;
        return true;
    }

    private void ReturnArray(byte[] buffer)
    {
        if (_arrays is not null && buffer.Length >= ByteArrayCache.MinimumSize)
        {
            _arrays.Return(buffer);
        }
        else
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void ReturnCharged(byte[] buffer, int charge)
    {
        ReturnArray(buffer);
        _budget.Release(charge, Cause);
        ChargedBytes -= charge;
    }

    private void TrimFront(ref Range r, int count)
    {
        r.Start += count;
        r.Offset += count;
        r.Length -= count;
        BytesHeld -= count;
    }

    /// <summary>Removes a range and frees its buffer. <paramref name="dataMoved"/>: its bytes were copied into a
    /// neighbour and are still held.</summary>
    private void RemoveAt(int index, bool dataMoved = false)
    {
        ref Range r = ref _ranges![index];
        if (!dataMoved)
        {
            BytesHeld -= r.Length;
        }

        ReturnCharged(r.Buffer, r.Charge);
        _count--;
        Array.Copy(_ranges, index + 1, _ranges, index, _count - index);
        _ranges[_count] = default;
    }

    /// <summary>Forgets ranges wholly at or below <paramref name="rcvNxt"/> and trims one that straddles it.</summary>
    private void DropBelow(SeqNumber rcvNxt)
    {
        while (_count > 0 && _ranges![0].Start < rcvNxt)
        {
            ref Range first = ref _ranges[0];
            if (first.End <= rcvNxt)
            {
                RemoveAt(0);
            }
            else
            {
                TrimFront(ref first, rcvNxt - first.Start);
            }
        }

        if (_count == 0)
        {
            ReturnTable();
        }
    }

    /// <summary>The index of the first range whose end is beyond <paramref name="seq"/> (ranges are disjoint and
    /// sorted, so their ends are sorted too); <see cref="_count"/> when there is none.</summary>
    private int FirstEndingAfter(SeqNumber seq)
    {
        int low = 0;
        int high = _count;
        while (low < high)
        {
            int mid = (low + high) >>> 1;
            if (_ranges![mid].End <= seq)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return low;
    }

    private void EnsureTable()
    {
        if (_ranges is null)
        {
            _ranges = ArrayPool<Range>.Shared.Rent(Math.Min(_maxRanges, 16));
        }
        else if (_count == _ranges.Length)
        {
            Range[] larger = ArrayPool<Range>.Shared.Rent(Math.Min(_maxRanges, _ranges.Length * 2));
            Array.Copy(_ranges, larger, _count);
            ArrayPool<Range>.Shared.Return(_ranges, clearArray: true);
            _ranges = larger;
        }
    }

    private void ReturnTable()
    {
        if (_ranges is not null)
        {
            ArrayPool<Range>.Shared.Return(_ranges, clearArray: true);
            _ranges = null;
        }
    }

    private struct Range
    {
        public SeqNumber Start;
        public int Length;
        public byte[] Buffer;
        public int Offset;
        public int Charge;
        public long Stamp;

        public readonly SeqNumber End => Start + Length;
    }
}
