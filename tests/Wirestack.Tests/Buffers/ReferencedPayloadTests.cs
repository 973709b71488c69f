using Wirestack.Buffers;
using Wirestack.Wire;

namespace Wirestack.Tests.Buffers;

/// <summary>A packet whose payload stays in the send queue (<see cref="PacketBuffer.AttachPayload"/>, lent by
/// <see cref="ByteQueue.TryLend"/>): it reads as the segment built by copying, checksum included, and the chunk it
/// points into is not reused while any packet holds it.</summary>
public sealed class ReferencedPayloadTests
{
    private static readonly IPv4Address Source = IPv4Address.Parse("10.0.0.1");
    private static readonly IPv4Address Destination = IPv4Address.Parse("10.0.0.2");

    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static TcpHeader Header() => new()
    {
        SourcePort = 40000,
        DestinationPort = 5001,
        SequenceNumber = new SeqNumber(123456),
        AcknowledgmentNumber = new SeqNumber(777),
        Flags = TcpFlags.Ack | TcpFlags.Psh,
        Window = 512,
        Options = new TcpOptions { HasTimestamp = true, TsVal = 99, TsEcr = 42 },
    };

    [Theory]
    [InlineData(1448, 0)]
    [InlineData(999, 1)] // an odd payload length
    [InlineData(1, 16_383)] // the last byte of a chunk
    public void A_referenced_payload_reads_as_the_segment_built_by_copying(int length, int offsetInQueue)
    {
        var budget = new MemoryBudget(1 << 20);
        var pool = new PacketBufferPool(budget);
        var queue = new ByteQueue(budget, BudgetCause.SendBuffer, arrays: pool.Arrays);
        byte[] data = Pattern(offsetInQueue + length, length);
        queue.Write(data);
        TcpHeader header = Header();

        // Built by copying, as TCP output builds a segment without the reference.
        Assert.True(pool.TryRent(header.Length + length, BudgetCause.PacketTx, out PacketBuffer? copied));
        ulong sum = 0;
        queue.PeekAndAccumulate(offsetInQueue, copied.Append(length), ref sum);
        copied.Prepend(header.Length);
        header.WriteTo(copied.Span, Source, Destination, sum);

        // Built by reference.
        Assert.True(pool.TryRent(header.Length + length, BudgetCause.PacketTx, out PacketBuffer? referenced));
        Assert.True(queue.TryLend(offsetInQueue, length, out byte[] chunk, out int chunkOffset, out ChunkLease lease));
        header.WriteWithoutPayloadTo(referenced.Prepend(header.Length), Source, Destination, length);
        referenced.AttachPayload(chunk, chunkOffset, length, lease, header.Length);

        Assert.True(referenced.HasReferencedPayload);
        Assert.Equal(copied.Length, referenced.Length);
        Assert.Equal(header.Length, referenced.Head.Length);
        Assert.Equal(data.AsSpan(offsetInQueue, length).ToArray(), referenced.ReferencedPayload.ToArray());
        Assert.Equal(1, lease.Count);
        var raw = new byte[referenced.Length];
        referenced.CopyTo(0, raw); // the bytes as they are, across both parts, not joined
        Assert.Equal(copied.Span[header.Length..].ToArray(), raw.AsSpan(header.Length).ToArray());
        Assert.True(referenced.HasReferencedPayload);

        Assert.Equal(Convert.ToHexString(copied.Span), Convert.ToHexString(referenced.Span)); // joined: checksum completed
        Assert.False(referenced.HasReferencedPayload);
        Assert.Equal(0, lease.Count);
        ulong check = InternetChecksum.PseudoHeader(Source, Destination, IPProtocol.Tcp, referenced.Length);
        Assert.Equal(0, InternetChecksum.Finish(InternetChecksum.Accumulate(referenced.Span, check)));
        copied.Dispose();
        referenced.Dispose();
        Assert.Equal(0, pool.LeasedCount);
    }

    [Fact]
    public void Stepping_over_the_head_keeps_the_reference_and_dispose_releases_it()
    {
        var budget = new MemoryBudget(1 << 20);
        var pool = new PacketBufferPool(budget);
        var queue = new ByteQueue(budget, BudgetCause.SendBuffer, arrays: pool.Arrays);
        queue.Write(Pattern(3000, 3));
        Assert.True(queue.TryLend(1000, 1000, out byte[] chunk, out int offset, out ChunkLease lease));
        Assert.True(pool.TryRent(60 + 1000, BudgetCause.PacketTx, out PacketBuffer? packet));
        Header().WriteWithoutPayloadTo(packet.Prepend(Header().Length), Source, Destination, 1000);
        packet.AttachPayload(chunk, offset, 1000, lease, Header().Length);
        packet.Prepend(20); // an IP header in front
        Assert.Equal(20 + Header().Length + 1000, packet.Length);

        packet.TrimFront(20);
        packet.TrimTo(packet.Length);

        Assert.True(packet.HasReferencedPayload);
        Assert.Equal(1, lease.Count);
        packet.Dispose();
        Assert.Equal(0, lease.Count);
    }

    [Fact]
    public void Bytes_that_span_two_chunks_are_not_lent()
    {
        var budget = new MemoryBudget(1 << 20);
        var queue = new ByteQueue(budget, BudgetCause.SendBuffer, chunkSize: 1024);
        queue.Write(Pattern(4096, 5));

        Assert.True(queue.TryLend(1024, 1024, out _, out int offset, out ChunkLease whole));
        Assert.Equal(0, offset);
        Assert.False(queue.TryLend(1000, 100, out _, out _, out _));
        Assert.False(queue.TryLend(4000, 200, out _, out _, out _)); // beyond the queue
        whole.Release();
    }

    [Fact]
    public void A_chunk_consumed_while_lent_goes_back_to_the_cache_only_when_the_last_packet_releases_it()
    {
        var budget = new MemoryBudget(1 << 20);
        var cache = new ByteArrayCache();
        var queue = new ByteQueue(budget, BudgetCause.SendBuffer, chunkSize: 1024, arrays: cache);
        queue.Write(Pattern(2048, 7));
        Assert.True(queue.TryLend(0, 500, out byte[] lent, out _, out ChunkLease first));
        Assert.True(queue.TryLend(500, 500, out _, out _, out ChunkLease second));
        Assert.Same(first, second); // one lease per chunk, counting its packets
        Assert.Equal(2, first.Count);

        queue.Discard(2048); // acknowledged while a retransmitted copy is still in flight

        Assert.True(first.IsOrphaned);
        Assert.Equal(1024, cache.CachedBytes); // only the chunk nobody holds went back
        Assert.Equal(0, budget.InUse); // the queue's charge is released with the chunk
        byte[] reused = cache.Rent(1024);
        Assert.NotSame(lent, reused); // so new data cannot overwrite what a packet still points at
        first.Release();
        Assert.Equal(0, cache.CachedBytes);
        second.Release();
        Assert.False(first.IsOrphaned);
        Assert.Equal(1024, cache.CachedBytes);
        Assert.Same(lent, cache.Rent(1024));
        Assert.Throws<InvalidOperationException>(() => first.Release());
    }

    [Theory]
    [InlineData(0, 3000, 3)] // from a chunk's start
    [InlineData(1001, 2047, 3)] // odd piece lengths: 1023, 1024, 0 past the odd boundary
    [InlineData(7, 1017, 1)] // inside one chunk
    [InlineData(1023, 2, 2)] // one byte each side of a boundary
    [InlineData(513, 3583, 4)]
    public void A_payload_lent_across_chunks_is_held_in_pieces_and_joins_with_its_checksum_complete(int offsetInQueue, int length, int pieces)
    {
        var budget = new MemoryBudget(1 << 20);
        var pool = new PacketBufferPool(budget);
        var queue = new ByteQueue(budget, BudgetCause.SendBuffer, chunkSize: 1024, arrays: pool.Arrays);
        byte[] data = Pattern(4096, length);
        queue.Write(data);
        TcpHeader header = Header();
        ReadOnlySpan<byte> expected = data.AsSpan(offsetInQueue, length);

        Assert.True(pool.TryRent(header.Length + length, BudgetCause.PacketTx, out PacketBuffer? packet));
        header.WriteWithoutPayloadTo(packet.Prepend(header.Length), Source, Destination, length);
        Assert.True(queue.TryLendInto(offsetInQueue, length, packet, header.Length));

        Assert.Equal(pieces, packet.ReferencedFragmentCount);
        Assert.Equal(header.Length + length, packet.Length);
        var joinedPieces = new List<byte>();
        for (int i = 0; i < pieces; i++)
        {
            joinedPieces.AddRange(packet.ReferencedFragment(i).ToArray());
        }

        Assert.Equal(expected.ToArray(), joinedPieces.ToArray());
        int skip = Math.Min(5, length - 1);
        var across = new byte[length - skip];
        packet.CopyTo(header.Length + skip, across); // across pieces, not joined
        Assert.Equal(expected[skip..].ToArray(), across);
        if (pieces > 1)
        {
            Assert.Throws<InvalidOperationException>(() => packet.ReferencedPayload.Length);
        }

        // RFC 1071 §2(B): a piece starting at an odd offset of the segment adds its sum byte-swapped.
        ulong check = InternetChecksum.PseudoHeader(Source, Destination, IPProtocol.Tcp, packet.Length);
        Assert.Equal(0, InternetChecksum.Finish(InternetChecksum.Accumulate(packet.Span, check)));
        Assert.Equal(expected.ToArray(), packet.Span[header.Length..].ToArray());
        Assert.False(packet.HasReferencedPayload);
        packet.Dispose();
        queue.Discard(queue.Length);
        Assert.Equal(0, budget.InUse); // every piece's hold released: every chunk went back
    }

    [Fact]
    public void A_range_of_a_payload_in_pieces_is_lent_on_in_its_own_pieces_with_holds_of_its_own()
    {
        var budget = new MemoryBudget(1 << 20);
        var pool = new PacketBufferPool(budget);
        var queue = new ByteQueue(budget, BudgetCause.SendBuffer, chunkSize: 1024, arrays: pool.Arrays);
        byte[] data = Pattern(4096, 11);
        queue.Write(data);
        Assert.True(pool.TryRent(40 + 3000, BudgetCause.PacketTx, out PacketBuffer? large));
        Header().WriteWithoutPayloadTo(large.Prepend(Header().Length), Source, Destination, 3000);
        Assert.True(queue.TryLendInto(100, 3000, large, Header().Length)); // pieces of 924, 1024, 1024, 28 B

        Assert.True(pool.TryRent(40 + 1000, BudgetCause.PacketTx, out PacketBuffer? inside));
        inside.Append(Header().Length);
        Assert.True(large.TryLendPayloadRange(924, 1000, inside, Header().Length)); // inside the second piece
        Assert.Equal(1, inside.ReferencedFragmentCount);
        Assert.Equal(data.AsSpan(1024, 1000).ToArray(), inside.ReferencedPayload.ToArray());

        Assert.True(pool.TryRent(40 + 1200, BudgetCause.PacketTx, out PacketBuffer? straddling));
        straddling.Append(Header().Length);
        Assert.False(large.TryLendPayloadRange(2990, 20, straddling, Header().Length)); // beyond the payload
        Assert.True(large.TryLendPayloadRange(1800, 1200, straddling, Header().Length)); // the last three pieces
        Assert.Equal(3, straddling.ReferencedFragmentCount);
        Assert.False(large.TryLendPayloadRange(0, 10, straddling, Header().Length)); // it holds a payload already

        large.Dispose(); // the frames still hold their chunks
        queue.Discard(queue.Length);
        Assert.Equal(data.AsSpan(1024, 1000).ToArray(), inside.ReferencedPayload.ToArray());
        var bytes = new byte[1200];
        straddling.CopyTo(Header().Length, bytes);
        Assert.Equal(data.AsSpan(1900, 1200).ToArray(), bytes);
        inside.Dispose();
        straddling.Dispose();
        Assert.Equal(0, pool.LeasedCount);
        Assert.Equal(0, budget.InUse); // every hold released, every chunk back
    }

    [Fact]
    public void A_payload_in_pieces_appended_extends_the_last_piece_it_continues_and_holds_the_others()
    {
        var budget = new MemoryBudget(1 << 20);
        var pool = new PacketBufferPool(budget);
        var queue = new ByteQueue(budget, BudgetCause.SendBuffer, chunkSize: 1024, arrays: pool.Arrays);
        byte[] data = Pattern(4096, 17);
        queue.Write(data);
        PacketBuffer Lent(int offset, int length)
        {
            Assert.True(pool.TryRent(40 + 3000, BudgetCause.PacketRx, out PacketBuffer? p));
            p.Prepend(Header().Length);
            Assert.True(queue.TryLendInto(offset, length, p, Header().Length));
            return p;
        }

        PacketBuffer head = Lent(0, 900); // one piece in chunk 0
        PacketBuffer next = Lent(900, 500); // 124 B continuing it, 376 B in chunk 1
        Assert.True(head.TryAppendReferencedPayload(next));
        Assert.Equal(2, head.ReferencedFragmentCount); // extended, then one piece added
        next.Dispose();
        PacketBuffer far = Lent(2100, 100); // not contiguous: a piece of its own
        Assert.True(head.TryAppendReferencedPayload(far));
        far.Dispose();

        queue.Discard(queue.Length);
        var bytes = new byte[1500];
        head.CopyTo(Header().Length, bytes);
        Assert.Equal([.. data.AsSpan(0, 1400), .. data.AsSpan(2100, 100)], bytes);
        Assert.Equal(3, head.ReferencedFragmentCount);
        head.Dispose();
        Assert.Equal(0, budget.InUse);
    }

    [Fact]
    public void Bytes_spanning_more_chunks_than_a_packet_holds_pieces_are_not_lent()
    {
        var budget = new MemoryBudget(1 << 20);
        var pool = new PacketBufferPool(budget);
        var queue = new ByteQueue(budget, BudgetCause.SendBuffer, chunkSize: 64, arrays: pool.Arrays);
        queue.Write(Pattern(4096, 13));
        Assert.True(pool.TryRent(40 + 4096, BudgetCause.PacketTx, out PacketBuffer? packet));
        packet.Prepend(Header().Length);

        Assert.False(queue.TryLendInto(0, 64 * PacketBuffer.MaxReferencedFragments + 1, packet, Header().Length));
        Assert.False(packet.HasReferencedPayload);
        Assert.True(queue.TryLendInto(0, 64 * PacketBuffer.MaxReferencedFragments, packet, Header().Length));
        Assert.Equal(PacketBuffer.MaxReferencedFragments, packet.ReferencedFragmentCount);
        packet.Dispose();
    }

    [Fact]
    public void Random_lends_ranges_and_merges_of_pieces_read_as_the_queued_bytes_and_release_every_chunk()
    {
        // 300 seeded rounds (deterministic): a chunk size, a queue of random bytes, segments lent across chunks, frames
        // lent out of them, and merges of segments. Every packet reads as the bytes it stands for (across pieces, and
        // joined with a valid checksum); at the end every hold is released and every chunk is back.
        for (int seed = 0; seed < 300; seed++)
        {
            var rng = new Random(seed);
            var budget = new MemoryBudget(64 << 20);
            var pool = new PacketBufferPool(budget);
            int chunkSize = rng.Next(16, 2048);
            var queue = new ByteQueue(budget, BudgetCause.SendBuffer, chunkSize: chunkSize, arrays: pool.Arrays);
            byte[] data = Pattern(rng.Next(2 * chunkSize, 12 * chunkSize), seed);
            queue.Write(data);
            TcpHeader header = Header();
            var held = new List<(PacketBuffer Packet, byte[] Expected)>();
            for (int i = 0; i < 4; i++)
            {
                int offset = rng.Next(data.Length);
                int length = rng.Next(1, Math.Min(data.Length - offset, 8 * chunkSize) + 1);
                Assert.True(pool.TryRent(header.Length + length + 64, BudgetCause.PacketTx, out PacketBuffer? packet), $"seed {seed}");
                Span<byte> head = packet.Prepend(header.Length);
                int chunks = ((offset % chunkSize) + length + chunkSize - 1) / chunkSize;
                bool lent = queue.TryLendInto(offset, length, packet, header.Length);
                Assert.Equal(chunks <= PacketBuffer.MaxReferencedFragments, lent);
                if (!lent)
                {
                    packet.Dispose();
                    continue;
                }

                header.WriteWithoutPayloadTo(head, Source, Destination, length);
                byte[] expected = data.AsSpan(offset, length).ToArray();
                Assert.Equal(chunks, packet.ReferencedFragmentCount);

                // A frame out of it, in its own pieces and holds.
                int from = rng.Next(length), size = rng.Next(1, length - from + 1);
                Assert.True(pool.TryRent(header.Length + size, BudgetCause.PacketTx, out PacketBuffer? frame));
                frame.Append(header.Length);
                Assert.True(packet.TryLendPayloadRange(from, size, frame, header.Length), $"seed {seed}");
                held.Add((frame, expected.AsSpan(from, size).ToArray()));
                held.Add((packet, expected));
            }

            foreach ((PacketBuffer packet, byte[] expected) in held)
            {
                var bytes = new byte[expected.Length];
                packet.CopyTo(packet.Head.Length, bytes);
                Assert.Equal(expected, bytes);
            }

            // Merge the segments into the first, then join one unmerged segment and check its checksum.
            var segments = held.Where((_, i) => i % 2 == 1).ToList();
            if (segments.Count >= 2)
            {
                (PacketBuffer first, byte[] firstBytes) = segments[0];
                var merged = new List<byte>(firstBytes);
                PacketBuffer target = first;
                if (!pool.TryRent(65535, BudgetCause.PacketRx, out PacketBuffer? large))
                {
                    throw new InvalidOperationException("no 64 KiB buffer");
                }

                first.Head.CopyTo(large.Append(first.Head.Length));
                first.MovePayloadTo(large);
                held[1] = (large, firstBytes);
                first.Dispose();
                target = large;
                foreach ((PacketBuffer next, byte[] nextBytes) in segments.Skip(1).Take(1))
                {
                    if (target.TryAppendReferencedPayload(next))
                    {
                        merged.AddRange(nextBytes);
                    }
                }

                var all = new byte[merged.Count];
                target.CopyTo(target.Head.Length, all);
                Assert.Equal(merged.ToArray(), all);
                held[1] = (target, merged.ToArray());
            }

            (PacketBuffer last, byte[] lastBytes) = held[^1];
            if (held.Count >= 4 && last.HasReferencedPayload)
            {
                ulong check = InternetChecksum.PseudoHeader(Source, Destination, IPProtocol.Tcp, last.Length);
                Assert.Equal(0, InternetChecksum.Finish(InternetChecksum.Accumulate(last.Span, check)));
                Assert.Equal(lastBytes, last.Span[header.Length..].ToArray());
            }

            foreach ((PacketBuffer packet, _) in held)
            {
                packet.Dispose();
            }

            queue.Discard(queue.Length);
            Assert.Equal(0, pool.LeasedCount);
            Assert.Equal(0, budget.InUse);
        }
    }
}
