using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Wirestack.Buffers;
using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tests.Support;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tests.Links;

/// <summary>
/// The receive side of simulated NICs: interrupt moderation (<see cref="SimulatedWire.RxCoalesce"/>, rx-usecs) and
/// generic receive offload (<see cref="ReceiveOffload"/>): packets on the wire unchanged, the receiving host sees
/// them in batches, and GRO merges a batch's consecutive segments of a flow into one.
/// </summary>
public sealed class ReceiveOffloadTests
{
    private static readonly IPv4Address Source = IPv4Address.Parse("10.0.0.1");
    private static readonly IPv4Address Destination = IPv4Address.Parse("10.0.0.2");

    [Fact]
    public void Moderated_port_is_ready_only_after_the_coalescing_time_then_hands_over_everything_that_arrived()
    {
        var wire = new SimulatedWire(new Random(1), new LinkImpairments { Delay = TimeSpan.FromMilliseconds(1) }, LinkImpairments.None)
        {
            RxCoalesce = TimeSpan.FromMicroseconds(50),
        };
        for (int i = 0; i < 3; i++)
        {
            wire.A.Transmit(Rent(wire.Pool, Segment(1000u + (uint)(i * 100), 100)), new Instant(i * 20)); // arrive 1000, 1020, 1040 µs
        }

        Assert.Equal(new Instant(1050), wire.B.PollAt); // the first arrival plus 50 µs
        Assert.False(wire.B.TryReceive(new Instant(1049), out _));
        int received = 0;
        while (wire.B.TryReceive(new Instant(1050), out PacketBuffer? packet))
        {
            packet.Dispose();
            received++;
        }

        Assert.Equal(3, received); // one interrupt, the whole batch
        Assert.Null(wire.B.PollAt);
    }

    [Fact]
    public void Consecutive_segments_of_a_flow_merge_into_one_valid_datagram()
    {
        var pool = new PacketBufferPool(new MemoryBudget(1 << 20));
        var counters = new LinkCounters();
        PacketBuffer head = Rent(pool, Segment(5000, 1000));
        Assert.True(ReceiveOffload.TryMerge(ref head, Rent(pool, Segment(6000, 1000)), pool, counters));
        Assert.True(ReceiveOffload.TryMerge(ref head, Rent(pool, Segment(7000, 400, push: true)), pool, counters));

        Assert.Equal(2, counters.RxGroMerged);
        Assert.Equal(20 + 32 + 2400, head.Length);
        Assert.Equal(HeaderError.None, IPv4Packet.TryCreate(head.Span, out IPv4Packet ip));
        Assert.Equal(HeaderError.None, IPv4Header.TryParse(ip, out _)); // header checksum rewritten
        Assert.Equal(HeaderError.None, TcpSegment.TryCreate(ip.Payload, out TcpSegment tcp));
        Assert.Equal(2400, tcp.Payload.Length);
        Assert.Equal(5000u, tcp.SequenceNumber.Value);
        Assert.True(tcp.Flags.HasFlag(TcpFlags.Psh)); // the last segment's PSH ends the batch
        Assert.True(head.ChecksumTrusted);
        Assert.Equal(1000, head.GsoSize);
        Assert.False(ReceiveOffload.TryMerge(ref head, Rent(pool, Segment(7400, 1000)), pool, counters)); // after a short one: no
        head.Dispose();
    }

    [Theory]
    [InlineData("gap")]
    [InlineData("other-ack")]
    [InlineData("bad-checksum")]
    [InlineData("syn")]
    [InlineData("empty")]
    public void Segments_that_do_not_continue_the_flow_are_not_merged(string kind)
    {
        var pool = new PacketBufferPool(new MemoryBudget(1 << 20));
        var counters = new LinkCounters();
        PacketBuffer head = Rent(pool, Segment(5000, 1000));
        byte[] next = kind switch
        {
            "gap" => Segment(6100, 1000),
            "other-ack" => Segment(6000, 1000, ack: 2),
            "syn" => Segment(6000, 1000, flags: TcpFlags.Syn | TcpFlags.Ack),
            "empty" => Segment(6000, 0),
            _ => Segment(6000, 1000),
        };
        if (kind == "bad-checksum")
        {
            next[^1] ^= 0x55;
        }

        PacketBuffer other = Rent(pool, next);
        Assert.False(ReceiveOffload.TryMerge(ref head, other, pool, counters));
        Assert.Equal(0, counters.RxGroMerged);
        Assert.Equal(20 + 32 + 1000, head.Length);
        other.Dispose();
        head.Dispose();
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(50, false)]
    [InlineData(50, true)]
    public void Transfer_with_moderation_and_gro_arrives_intact_in_fewer_polls_and_tcp_inputs(int rxUsecs, bool gro)
    {
        LinkImpairments impairments = Net.GigabitPath with { Delay = TimeSpan.FromMilliseconds(1) };
        var (sim, clientHost, serverHost) = Net.TwoHosts(900 + rxUsecs + (gro ? 1 : 0), impairments);
        SimulatedWire wire = sim.Wires[0];
        wire.RxCoalesce = TimeSpan.FromMicroseconds(rxUsecs);
        wire.GenericReceiveOffload = gro;
        byte[] data = new byte[4 << 20];
        new Random(rxUsecs).NextBytes(data);
        using ConnectedPair pair = Net.Connected(clientHost, serverHost);
        NetSocket client = pair.Client, server = pair.Server;
        var reader = new SocketDrain(sim, server);
        long stepsBefore = sim.Steps;
        client.Blocking = false;
        int sent = 0;
        sim.RunUntil(() =>
        {
            while (sent < data.Length)
            {
                int n = client.Send(data.AsSpan(sent), out SocketError error);
                if (error != SocketError.Success || n == 0)
                {
                    break;
                }

                sent += n;
            }

            if (sent == data.Length && client.Connection!.SendQueued == 0)
            {
                client.Shutdown(SocketShutdown.Send);
                return true;
            }

            return false;
        }, TimeSpan.FromSeconds(60));
        sim.RunUntil(() => reader.Finished, TimeSpan.FromSeconds(60));

        Assert.Equal(SHA256.HashData(data), reader.Digest);
        long delivered = wire.CountersAToB.Delivered;
        long tcpInputs = serverHost.Counters.Tcp.InSegs;
        long merged = serverHost.Interfaces[0].Device.Counters.RxGroMerged;
        Assert.Equal(delivered, tcpInputs + merged); // every packet reached TCP, alone or merged
        if (gro)
        {
            Assert.True(merged > delivered / 2, $"{merged} of {delivered} packets merged");
        }
        else
        {
            Assert.Equal(0, merged);
        }

        if (rxUsecs > 0)
        {
            Assert.True(sim.Steps - stepsBefore < delivered, $"{sim.Steps - stepsBefore} steps for {delivered} packets");
        }
    }

    /// <summary>A stack's pool and a send queue holding one chunk (16 KiB) of random bytes, to lend from.</summary>
    private static (PacketBufferPool Pool, ByteQueue Queue, byte[] Data) SendQueue(int seed)
    {
        var budget = new MemoryBudget(1 << 22);
        var pool = new PacketBufferPool(budget);
        var queue = new ByteQueue(budget, BudgetCause.SendBuffer, arrays: pool.Arrays);
        byte[] data = new byte[16384];
        new Random(seed).NextBytes(data);
        queue.Write(data);
        return (pool, queue, data);
    }

    /// <summary>A segment as TCP output builds it on a wire that hands buffers over: IP and TCP headers in the
    /// buffer, the payload lent from <paramref name="queue"/> at <paramref name="queueOffset"/>, the TCP checksum left
    /// for the join.</summary>
    private static PacketBuffer Referenced(PacketBufferPool pool, ByteQueue queue, int queueOffset, uint seq, int payload, bool push = false)
    {
        var header = new TcpHeader
        {
            SourcePort = 40000,
            DestinationPort = 80,
            SequenceNumber = new SeqNumber(seq),
            AcknowledgmentNumber = new SeqNumber(1),
            Flags = TcpFlags.Ack | (push ? TcpFlags.Psh : 0),
            Window = 1000,
            Options = new TcpOptions { HasTimestamp = true, TsVal = 7, TsEcr = 3 },
        };
        Assert.True(pool.TryRent(header.Length + payload, BudgetCause.PacketTx, out PacketBuffer? packet));
        Assert.True(queue.TryLend(queueOffset, payload, out byte[] chunk, out int offset, out ChunkLease lease));
        header.WriteWithoutPayloadTo(packet.Prepend(header.Length), Source, Destination, payload);
        packet.AttachPayload(chunk, offset, payload, lease, header.Length);
        new IPv4Header(Source, Destination, IPProtocol.Tcp, header.Length + payload).WriteTo(packet.Prepend(IPv4Header.Length));
        packet.ChecksumTrusted = true;
        return packet;
    }

    [Fact]
    public void Consecutive_segments_lent_from_one_chunk_merge_without_a_copy_and_join_into_a_valid_datagram()
    {
        (PacketBufferPool pool, ByteQueue queue, byte[] data) = SendQueue(seed: 2);
        var counters = new LinkCounters();
        PacketBuffer head = Referenced(pool, queue, 0, 5000, 1000);
        Assert.True(ReceiveOffload.TryMerge(ref head, Referenced(pool, queue, 1000, 6000, 1000), pool, counters));
        Assert.True(ReceiveOffload.TryMerge(ref head, Referenced(pool, queue, 2000, 7000, 400, push: true), pool, counters));

        Assert.True(head.HasReferencedPayload); // one reference spanning all three payloads, nothing copied
        Assert.Equal(data.AsSpan(0, 2400).ToArray(), head.ReferencedPayload.ToArray());
        Assert.Equal(2, counters.RxGroMerged);
        Assert.Equal(1000, head.GsoSize);

        byte[] joined = head.Span.ToArray();
        Assert.Equal(HeaderError.None, IPv4Packet.TryCreate(joined, out IPv4Packet ip));
        Assert.Equal(joined.Length, ip.TotalLength);
        Assert.Equal(HeaderError.None, IPv4Header.TryParse(ip, out _));
        Assert.Equal(HeaderError.None, TcpHeader.TryParse(TcpSegmentOf(ip), Source, Destination, out TcpHeader tcp)); // checksum completes
        Assert.True(tcp.Has(TcpFlags.Psh));
        Assert.Equal(data.AsSpan(0, 2400).ToArray(), ip.Payload[tcp.Length..].ToArray());
        head.Dispose();
        Assert.Equal(0, pool.LeasedCount);
    }

    [Fact]
    public void Lent_segments_that_do_not_continue_each_other_in_the_chunk_merge_as_pieces_without_a_copy()
    {
        (PacketBufferPool pool, ByteQueue queue, byte[] data) = SendQueue(seed: 3);
        var counters = new LinkCounters();
        PacketBuffer head = Referenced(pool, queue, 0, 5000, 1000);
        // The next segment in sequence, but lent from elsewhere in the queue (a retransmission's bytes, say).
        Assert.True(ReceiveOffload.TryMerge(ref head, Referenced(pool, queue, 4000, 6000, 1000), pool, counters));

        Assert.Equal(2, head.ReferencedFragmentCount); // a piece each, nothing copied
        Assert.Equal(data.AsSpan(0, 1000).ToArray(), head.ReferencedFragment(0).ToArray());
        Assert.Equal(data.AsSpan(4000, 1000).ToArray(), head.ReferencedFragment(1).ToArray());
        Assert.Equal(1, counters.RxGroMerged);
        Assert.Equal(HeaderError.None, IPv4Packet.TryCreate(head.Span, out IPv4Packet ip)); // joined
        Assert.Equal(HeaderError.None, TcpHeader.TryParse(TcpSegmentOf(ip), Source, Destination, out _)); // checksum completes
        Assert.Equal(data.AsSpan(0, 1000).ToArray(), ip.Payload.Slice(32, 1000).ToArray());
        Assert.Equal(data.AsSpan(4000, 1000).ToArray(), ip.Payload.Slice(1032, 1000).ToArray());
        head.Dispose();
        Assert.Equal(0, pool.LeasedCount);
    }

    [Fact]
    public void A_whole_segment_after_a_lent_one_merges_by_copying()
    {
        (PacketBufferPool pool, ByteQueue queue, byte[] data) = SendQueue(seed: 4);
        var counters = new LinkCounters();
        PacketBuffer head = Referenced(pool, queue, 0, 5000, 1000);
        PacketBuffer whole = Referenced(pool, queue, 1000, 6000, 1000);
        whole.Materialize(); // as a copying wire or a tap leaves it

        Assert.True(ReceiveOffload.TryMerge(ref head, whole, pool, counters));

        Assert.False(head.HasReferencedPayload);
        IPv4Packet.TryCreate(head.Span, out IPv4Packet ip);
        Assert.Equal(data.AsSpan(0, 2000).ToArray(), ip.Payload.Slice(32, 2000).ToArray());
        head.Dispose();
        Assert.Equal(0, pool.LeasedCount);
    }

    private static TcpSegment TcpSegmentOf(IPv4Packet ip)
    {
        Assert.Equal(HeaderError.None, TcpSegment.TryCreate(ip.Payload, out TcpSegment segment));
        return segment;
    }

    private static PacketBuffer Rent(PacketBufferPool pool, byte[] bytes)
    {
        Assert.True(pool.TryRent(bytes.Length, BudgetCause.PacketRx, out PacketBuffer? packet));
        bytes.CopyTo(packet.Append(bytes.Length));
        return packet;
    }

    /// <summary>An IPv4/TCP segment 10.0.0.1:40000 → 10.0.0.2:80 with a timestamp option, valid checksums.</summary>
    private static byte[] Segment(uint seq, int payload, uint ack = 1, TcpFlags flags = TcpFlags.Ack, bool push = false)
    {
        if (push)
        {
            flags |= TcpFlags.Psh;
        }

        var header = new TcpHeader
        {
            SourcePort = 40000,
            DestinationPort = 80,
            SequenceNumber = new SeqNumber(seq),
            AcknowledgmentNumber = new SeqNumber(ack),
            Flags = flags,
            Window = 1000,
            Options = new TcpOptions { HasTimestamp = true, TsVal = 7, TsEcr = 3 },
        };
        byte[] tcp = new byte[header.Length + payload];
        for (int i = 0; i < payload; i++)
        {
            tcp[header.Length + i] = (byte)(seq + i);
        }

        header.WriteTo(tcp, Source, Destination);
        var ip = new IPv4Header(Source, Destination, IPProtocol.Tcp, tcp.Length, 64, 0, 1, true);
        byte[] datagram = new byte[IPv4Header.Length + tcp.Length];
        ip.WriteTo(datagram);
        tcp.CopyTo(datagram, IPv4Header.Length);
        return datagram;
    }
}
