using System.Buffers;
using Wirestack.Wire;

namespace Wirestack.Buffers;

/// <summary>
/// A first-in first-out queue of bytes (a socket's send or receive buffer). The bytes live in fixed-size chunks
/// rented from the stack's <see cref="ByteArrayCache"/> (or <see cref="ArrayPool{T}.Shared"/> without one) only
/// when data arrives; each chunk is charged to the stack's
/// <see cref="MemoryBudget"/> when it is rented and released as soon as it is drained, so an empty queue holds no
/// memory and no charge (DESIGN.md: "idle connections hold no buffer memory").
/// </summary>
/// <remarks>
/// Not thread-safe: like all protocol state it is touched only by its stack's single protocol loop. The chunk table grows by doubling when
/// it must and is kept afterwards, so steady-state reads and writes allocate nothing.
/// </remarks>
public sealed class ByteQueue
{
    /// <summary>The default chunk size (16 KiB).</summary>
    public const int DefaultChunkSize = 16384;

    private readonly MemoryBudget _budget;
    private readonly BudgetCause _cause;
    private readonly int _chunkSize;
    private readonly ByteArrayCache? _arrays;

    // A ring of chunks: _chunks[(_firstChunk + i) % _chunks.Length] for i in [0, _chunkCount).
    private byte[]?[] _chunks = Array.Empty<byte[]?>();
    private int _firstChunk;
    private int _chunkCount;

    // The loans of each chunk slot (TryLend), sized as _chunks once anything is lent; pooled lease objects.
    private ChunkLease?[] _leases = Array.Empty<ChunkLease?>();
    private Stack<ChunkLease>? _leasePool;

    // Read position inside the first chunk, and write position inside the last chunk.
    private int _readOffset;
    private int _writeOffset;

    /// <param name="budget">The budget every chunk is charged to.</param>
    /// <param name="cause">The cause chunks are charged under (SendBuffer or ReceiveBuffer, usually).</param>
    /// <param name="chunkSize">Bytes per chunk. Defaults to 16 KiB.</param>
    /// <param name="arrays">The stack's free lists the chunks come from; <see cref="ArrayPool{T}.Shared"/> if null.</param>
    public ByteQueue(MemoryBudget budget, BudgetCause cause, int chunkSize = DefaultChunkSize, ByteArrayCache? arrays = null)
    {
        ArgumentNullException.ThrowIfNull(budget);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkSize);
        _budget = budget;
        _cause = cause;
        _chunkSize = chunkSize;
        _arrays = arrays;
    }

    /// <summary>Bytes queued.</summary>
    public int Length { get; private set; }

    /// <summary>Bytes charged to the budget now: one <see cref="ChunkSize"/> per chunk held.</summary>
    public int ChargedBytes => _chunkCount * _chunkSize;

    /// <summary>Bytes per chunk.</summary>
    public int ChunkSize => _chunkSize;

    /// <summary>Bytes that can be written without charging another chunk.</summary>
    public int FreeInLastChunk => _chunkCount == 0 ? 0 : _chunkSize - _writeOffset;

    public bool IsEmpty => Length == 0;

    /// <summary>
    /// Appends as much of <paramref name="data"/> as the budget allows: it stops at the first chunk that cannot be
    /// charged (the budget counts that failure). Returns the bytes accepted.
    /// </summary>
    public int Write(ReadOnlySpan<byte> data)
    {
        int written = 0;
        while (written < data.Length)
        {
            if (_chunkCount == 0 || _writeOffset == _chunkSize)
            {
                if (!TryAddChunk())
                {
                    break;
                }
            }

            byte[] last = ChunkAt(_chunkCount - 1);
            int n = Math.Min(data.Length - written, _chunkSize - _writeOffset);
            data.Slice(written, n).CopyTo(last.AsSpan(_writeOffset, n));
            _writeOffset += n;
            written += n;
            Length += n;
        }

        return written;
    }

    /// <summary>
    /// Copies bytes from logical position <paramref name="offset"/> (0 = the oldest byte) into
    /// <paramref name="destination"/> without consuming them. Returns the bytes copied: fewer than asked when
    /// the queue ends first, 0 when <paramref name="offset"/> is at or past <see cref="Length"/>.
    /// </summary>
    public int Peek(int offset, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset >= Length)
        {
            return 0;
        }

        int total = Math.Min(destination.Length, Length - offset);
        int absolute = _readOffset + offset;
        int chunk = absolute / _chunkSize;
        int inChunk = absolute % _chunkSize;
        int copied = 0;
        while (copied < total)
        {
            int n = Math.Min(total - copied, _chunkSize - inChunk);
            ChunkAt(chunk).AsSpan(inChunk, n).CopyTo(destination.Slice(copied, n));
            copied += n;
            chunk++;
            inChunk = 0;
        }

        return copied;
    }

    /// <summary>As <see cref="Peek"/>, adding the bytes copied to the Internet-checksum running sum
    /// <paramref name="sum"/> in the same pass (checksum on copy); the sum is that of the copied bytes from their
    /// first, as <see cref="InternetChecksum.Accumulate"/> would give it.</summary>
    public int PeekAndAccumulate(int offset, Span<byte> destination, ref ulong sum)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset >= Length)
        {
            return 0;
        }

        int total = Math.Min(destination.Length, Length - offset);
        int absolute = _readOffset + offset;
        int chunk = absolute / _chunkSize;
        int inChunk = absolute % _chunkSize;
        int copied = 0;
        while (copied < total)
        {
            int n = Math.Min(total - copied, _chunkSize - inChunk);
            ulong piece = InternetChecksum.CopyAndAccumulate(ChunkAt(chunk).AsSpan(inChunk, n), destination.Slice(copied, n));
            sum += (copied & 1) == 0 ? piece : InternetChecksum.ShiftByOneByte(piece);
            copied += n;
            chunk++;
            inChunk = 0;
        }

        return copied;
    }

    /// <summary>
    /// Lends the <paramref name="length"/> bytes at logical position <paramref name="offset"/> in place, when they
    /// lie in one chunk: <paramref name="array"/> from <paramref name="arrayOffset"/> holds them, and
    /// <paramref name="lease"/> (acquired once for the caller, who releases it) keeps the chunk from reuse until
    /// released, even if the bytes are consumed first (<see cref="ChunkLease"/>). False when they span chunks or lie
    /// beyond the queue; nothing is lent then.
    /// </summary>
    public bool TryLend(int offset, int length, out byte[] array, out int arrayOffset, out ChunkLease lease)
    {
        array = null!;
        arrayOffset = 0;
        lease = null!;
        if (offset < 0 || length <= 0 || offset + length > Length)
        {
            return false;
        }

        int absolute = _readOffset + offset;
        int chunk = absolute / _chunkSize;
        int inChunk = absolute % _chunkSize;
        if (inChunk + length > _chunkSize)
        {
            return false;
        }

        lease = AcquireLease(chunk, out array);
        arrayOffset = inChunk;
        return true;
    }

    /// <summary>
    /// Makes the <paramref name="length"/> bytes at logical position <paramref name="offset"/> the payload of
    /// <paramref name="packet"/> by reference, one piece per chunk they span (<see cref="PacketBuffer.AttachPayload"/>
    /// for the first, with <paramref name="transportHeaderLength"/>, <see cref="PacketBuffer.AppendPayloadFragment"/>
    /// for the rest), each piece holding its chunk as <see cref="TryLend"/> does: a large segment lent across chunks
    /// as Linux's skb holds a frag per page. False, and nothing lent, when the bytes lie beyond the queue or span
    /// more chunks than a packet holds pieces.
    /// </summary>
    public bool TryLendInto(int offset, int length, PacketBuffer packet, int transportHeaderLength)
    {
        ArgumentNullException.ThrowIfNull(packet);
        if (offset < 0 || length <= 0 || offset + length > Length)
        {
            return false;
        }

        int absolute = _readOffset + offset;
        int chunk = absolute / _chunkSize;
        int inChunk = absolute % _chunkSize;
        if ((inChunk + length + _chunkSize - 1) / _chunkSize > PacketBuffer.MaxReferencedFragments)
        {
            return false;
        }

        for (int lent = 0; lent < length; chunk++, inChunk = 0)
        {
            int n = Math.Min(length - lent, _chunkSize - inChunk);
            ChunkLease lease = AcquireLease(chunk, out byte[] array);
            if (lent == 0)
            {
                packet.AttachPayload(array, inChunk, n, lease, transportHeaderLength);
            }
            else
            {
                packet.AppendPayloadFragment(array, inChunk, n, lease);
            }

            lent += n;
        }

        return true;
    }

    /// <summary>One more hold on the chunk at <paramref name="chunk"/> (counted from the first), whose array
    /// <paramref name="array"/> is.</summary>
    private ChunkLease AcquireLease(int chunk, out byte[] array)
    {
        int slot = (_firstChunk + chunk) % _chunks.Length;
        if (_leases.Length != _chunks.Length)
        {
            GrowLeases();
        }

        ChunkLease lease = _leases[slot] ??= _leasePool is { Count: > 0 } pool ? pool.Pop() : new ChunkLease();
        lease.Acquire();
        array = _chunks[slot]!;
        return lease;
    }

    /// <summary>Copies the oldest bytes into <paramref name="destination"/> and consumes them. Returns the bytes
    /// read.</summary>
    public int Read(Span<byte> destination)
    {
        int n = Peek(0, destination);
        Discard(n);
        return n;
    }

    /// <summary>Consumes the oldest <paramref name="count"/> bytes without copying them (e.g. send data the peer
    /// has acknowledged). Chunks that become empty go back to the pool and their charge to the budget.</summary>
    public void Discard(int count)
    {
        if (count < 0 || count > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"cannot discard {count} of {Length} queued bytes");
        }

        Length -= count;
        if (Length == 0)
        {
            // Everything consumed: release every chunk, including a partly written last one.
            ReleaseAll();
            return;
        }

        _readOffset += count;
        while (_readOffset >= _chunkSize)
        {
            _readOffset -= _chunkSize;
            ReleaseFirstChunk();
        }
    }

    /// <summary>Drops every byte and releases every chunk and its charge.</summary>
    public void Clear()
    {
        Length = 0;
        ReleaseAll();
    }

    private byte[] ChunkAt(int index) => _chunks[(_firstChunk + index) % _chunks.Length]!;

    /// <summary>When set, an empty queue may always take its first chunk even past the budget: the per-connection
    /// reserve that keeps every established connection moving when others have spent the budget (seed 000).</summary>
    public bool GuaranteeFirstChunk { get; set; }

    private bool TryAddChunk()
    {
        if (!_budget.TryCharge(_chunkSize, _cause))
        {
            if (!GuaranteeFirstChunk || _chunkCount != 0)
            {
                return false;
            }

            _budget.ChargeReserve(_chunkSize, _cause);
            _headIsReserve = true;
        }

        if (_chunkCount == _chunks.Length)
        {
            GrowTable();
        }

        _chunks[(_firstChunk + _chunkCount) % _chunks.Length] = _arrays is null ? ArrayPool<byte>.Shared.Rent(_chunkSize) : _arrays.Rent(_chunkSize);
        _chunkCount++;
        _writeOffset = 0;
        return true;
    }

    private void GrowTable()
    {
        var table = new byte[]?[Math.Max(4, _chunks.Length * 2)];
        var leases = _leases.Length == 0 ? _leases : new ChunkLease?[table.Length];
        for (int i = 0; i < _chunkCount; i++)
        {
            table[i] = _chunks[(_firstChunk + i) % _chunks.Length];
            if (leases.Length != 0)
            {
                leases[i] = _leases[(_firstChunk + i) % _chunks.Length];
            }
        }

        _chunks = table;
        _leases = leases;
        _firstChunk = 0;
    }

    /// <summary>The lease table follows the chunk table's size and ring positions (made at the first loan).</summary>
    private void GrowLeases()
    {
        var leases = new ChunkLease?[_chunks.Length];
        for (int i = 0; i < _leases.Length && i < leases.Length; i++)
        {
            leases[i] = _leases[i];
        }

        _leases = leases;
    }

    private void ReleaseFirstChunk()
    {
        byte[] chunk = _chunks[_firstChunk]!;
        ChunkLease? lease = _leases.Length == 0 ? null : _leases[_firstChunk];
        if (lease is not null)
        {
            _leases[_firstChunk] = null;
        }

        if (lease is { Count: > 0 })
        {
            lease.Orphan(chunk, _arrays); // packets still hold its bytes: the last of them gives the chunk back
        }
        else
        {
            if (lease is not null)
            {
                (_leasePool ??= new Stack<ChunkLease>()).Push(lease);
            }

            if (_arrays is null)
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }
            else
            {
                _arrays.Return(chunk);
            }
        }

        _chunks[_firstChunk] = null;
        _firstChunk = (_firstChunk + 1) % _chunks.Length;
        _chunkCount--;
        _budget.Release(_chunkSize, _cause, _headIsReserve);
        _headIsReserve = false;
    }

    private bool _headIsReserve;

    private void ReleaseAll()
    {
        while (_chunkCount > 0)
        {
            ReleaseFirstChunk();
        }

        _firstChunk = 0;
        _readOffset = 0;
        _writeOffset = 0;
    }
}
