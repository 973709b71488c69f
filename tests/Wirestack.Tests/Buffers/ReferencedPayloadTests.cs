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
}
