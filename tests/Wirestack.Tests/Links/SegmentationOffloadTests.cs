using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Wirestack.Simulation;
using Wirestack.Links;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Tests.Support;

namespace Wirestack.Tests.Links;

/// <summary>
/// Segmentation offload on the simulated wire (<see cref="SimulatedWire.GsoMaxSize"/>, as the kernel's loopback has
/// GSO/TSO): TCP sends several MSS of data as one large packet, the receiver takes it whole, and the bytes arrive
/// intact; without it (the default) no packet is larger than the MTU.
/// </summary>
public sealed class SegmentationOffloadTests
{
    [Fact]
    public void A_segment_of_several_mss_is_acknowledged_at_once()
    {
        // Linux __tcp_ack_snd_check: more than one full-sized segment received since the last ACK → ACK now. A large
        // segment used to count as one full segment, so past the 16 quick ACKs of the start every second one waited.
        // The receiver does not read meanwhile (its buffer holds it all), so no window update hides a missing ACK.
        var (sim, clientHost, serverHost) = Net.TwoHosts(4242);
        sim.Wires[0].GsoMaxSize = 65535;
        byte[] data = new byte[4 << 20];
        using ConnectedPair pair = Net.Connected(clientHost, serverHost, 16 << 20);
        NetSocket client = pair.Client, server = pair.Server;
        long largeBefore = sim.Wires[0].A.Counters.TxGsoPackets;
        long acksBefore = serverHost.Counters.Tcp.OutSegs;
        Assert.Equal(data.Length, client.Send(data));
        sim.RunUntil(() => server.Connection!.ReceiveQueued == data.Length, TimeSpan.FromSeconds(60));

        long large = sim.Wires[0].A.Counters.TxGsoPackets - largeBefore;
        long acks = serverHost.Counters.Tcp.OutSegs - acksBefore;
        Assert.True(large > 40, $"{large} large segments");
        Assert.True(acks >= large - 2, $"{acks} ACKs for {large} large segments");
        Assert.Equal(0, serverHost.Counters.Tcp.DelayedACKs);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(65535, false)]
    [InlineData(65535, true)]
    public void Bulk_data_arrives_intact_and_large_segments_are_sent_only_with_offload(int gsoMaxSize, bool copyPackets)
    {
        var (sim, clientHost, serverHost) = Net.TwoHosts(gsoMaxSize + (copyPackets ? 1 : 0));
        SimulatedWire wire = sim.Wires[0];
        wire.GsoMaxSize = gsoMaxSize;
        wire.CopyPackets = copyPackets;
        long largest = 0, overMtu = 0;
        wire.Tap = (packet, _) =>
        {
            largest = Math.Max(largest, packet.Length);
            overMtu += packet.Length > LinkImpairments.None.Mtu ? 1 : 0;
        };
        byte[] data = new byte[3 << 20];
        new Random(gsoMaxSize).NextBytes(data);
        using ConnectedPair pair = Net.Connected(clientHost, serverHost, 1 << 20);
        NetSocket client = pair.Client, server = pair.Server;
        var reader = new SocketDrain(sim, server);
        Assert.Equal(data.Length, client.Send(data));
        client.Close();
        sim.RunUntil(() => reader.Finished, TimeSpan.FromSeconds(600));

        Assert.Equal(SocketError.Success, reader.Error);
        Assert.Equal(SHA256.HashData(data), reader.Digest);
        int mtu = LinkImpairments.None.Mtu;
        if (gsoMaxSize == 0)
        {
            Assert.True(largest <= mtu, $"largest packet {largest} B");
        }
        else
        {
            Assert.True(largest > mtu && largest <= gsoMaxSize, $"largest packet {largest} B");
            long dataSegments = clientHost.Counters.Tcp.OutSegs;
            Assert.True(dataSegments < data.Length / 1448 / 4, $"{dataSegments} segments for {data.Length} B");
        }

        // TCP marks each large segment (PacketBuffer.GsoSize, what a TUN device with offloads puts in gso_size), and
        // only those: the wire's tx_gso_packets / rx_gso_packets count exactly the packets over the MTU.
        Assert.Equal(overMtu, wire.A.Counters.TxGsoPackets);
        Assert.Equal(overMtu, wire.B.Counters.RxGsoPackets);
        Assert.Equal(0, wire.B.Counters.TxGsoPackets); // ACKs are never large
        Assert.Equal(gsoMaxSize == 0, overMtu == 0);
    }

    [Fact]
    public void Hardware_segmentation_cuts_a_large_segment_into_mtu_frames_each_treated_alone_on_the_line()
    {
        // A 10-frame segment into a queue with room for 4 frames: the NIC took one large segment (tx_gso_packets),
        // the line queued, dropped and delivered frames, as it would have without the offload.
        var impairments = new LinkImpairments { RateBitsPerSecond = 1_000_000, QueueLimitBytes = 4 * 1500 };
        var wire = new SimulatedWire(new Random(3), impairments, LinkImpairments.None) { GsoMaxSize = 65535, HardwareSegmentation = true };
        byte[] large = LargeSegment(10 * 1448);
        Assert.True(wire.Pool.TryRent(large.Length, Wirestack.Buffers.BudgetCause.PacketTx, out Wirestack.Buffers.PacketBuffer? packet));
        large.CopyTo(packet.Append(large.Length));
        packet.GsoSize = 1448;
        var frames = new List<(int Length, uint Seq)>();
        wire.Tap = (bytes, _) => frames.Add((bytes.Length, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes[24..])));

        wire.A.Transmit(packet, new Wirestack.Time.Instant(0));
        wire.DeliverDue(new Wirestack.Time.Instant(1_000_000));

        Assert.Equal(1, wire.A.Counters.TxGsoPackets);
        Assert.Equal(4, wire.A.Counters.TxPackets);
        Assert.Equal(6, wire.A.Counters.TxQueueDrops);
        Assert.Equal([(1488, 1000u), (1488, 2448u), (1488, 3896u), (1488, 5344u)], frames); // 20 + 20 + 1448 B each
        Assert.Equal(0, wire.B.Counters.RxGsoPackets); // frames, not a large segment, arrive
        Assert.Equal(4, wire.B.RxRing.Count);
    }

    [Theory]
    [InlineData(77, 0.002, 0.0)]
    [InlineData(78, 0.01, 0.0)]
    [InlineData(79, 0.002, 0.01)]
    [InlineData(80, 0.0, 0.0)]
    [InlineData(81, 0.02, 0.02)]
    public void With_hardware_segmentation_the_line_carries_exactly_what_it_carries_without_offload(int seed, double loss, double reorder)
    {
        // The same seed over a lossy, rate-limited path: the sending stack hands over large segments, yet every
        // frame on the line (its time, sequence, length, flags) and every loss is what a sender without the
        // offload puts there, and so are the retransmissions that follow. TSO deferral (Linux's decision to wait
        // for the next ACK on a route that takes large segments) is off: it changes when data leaves, which is
        // the point of it, not what the cut makes of a segment (TSO_deferral_* below).
        (List<string> plain, long plainRetransmits) = LineTrace(seed, loss, reorder, tso: false);
        (List<string> cut, long cutRetransmits) = LineTrace(seed, loss, reorder, tso: true);

        Assert.True(plain.Count > 2000, $"{plain.Count} frames");
        Assert.True(plainRetransmits > 0, "the path lost nothing: the test would not see a loss episode");
        int firstDiff = Enumerable.Range(0, Math.Min(plain.Count, cut.Count)).FirstOrDefault(i => plain[i] != cut[i], -1);
        Assert.True(firstDiff < 0, firstDiff < 0 ? "" : string.Join("\n", plain.Skip(firstDiff - 8).Take(16)) + "\n----\n" + string.Join("\n", cut.Skip(firstDiff - 8).Take(16)));
        Assert.Equal(plainRetransmits, cutRetransmits);
        Assert.Equal(plain, cut);
    }

    [Fact]
    public void TSO_deferral_sends_fewer_larger_segments_that_carry_the_same_bytes_and_never_holds_data_back_for_good()
    {
        // Linux's tcp_tso_should_defer on the bench's path with TSO cut on the line and GRO: an ACK that frees only
        // a few segments' worth no longer sends them at once; the sender waits for the ACKs right behind it and
        // sends a larger segment. The same bytes arrive, in fewer and larger segments, and the transfer ends (a
        // deferral never outlives the data in flight).
        (long segments, long frames, double seconds) on = Deferral(true);
        (long segments, long frames, double seconds) off = Deferral(false);

        Assert.True(on.segments * 2 < off.segments, $"{on.segments} large segments with deferral, {off.segments} without");
        Assert.True(on.frames * 10 > off.frames * 9 && on.frames * 10 < off.frames * 11, $"{on.frames} frames against {off.frames}");
        Assert.InRange(on.seconds, off.seconds * 0.9, off.seconds * 1.1);
    }

    [Fact]
    public void A_route_without_segmentation_offload_never_defers()
    {
        // Linux asks tcp_tso_should_defer only of a socket that can use GSO: a route without it sends as before.
        (List<string> linux, _) = LineTrace(82, 0.002, 0, tso: false, deferral: true);
        (List<string> never, _) = LineTrace(82, 0.002, 0, tso: false, deferral: false);

        Assert.Equal(never, linux);
    }

    private static (long Segments, long Frames, double Seconds) Deferral(bool deferral)
    {
        var (sim, clientHost, serverHost) = Net.TwoHosts(5, Net.GigabitPath, new NetStackOptions { Tcp = new TcpSettings { TsoDeferral = deferral } });
        SimulatedWire wire = sim.Wires[0];
        wire.GsoMaxSize = 65535;
        wire.HardwareSegmentation = true;
        wire.GenericReceiveOffload = true;
        wire.RxCoalesce = TimeSpan.FromMicroseconds(50);
        byte[] data = new byte[16 << 20];
        new Random(6).NextBytes(data);
        using ConnectedPair pair = Net.Connected(clientHost, serverHost, 8 << 20);
        var reader = new SocketDrain(sim, pair.Server);
        Wirestack.Time.Instant start = sim.Now;
        Assert.Equal(data.Length, pair.Client.Send(data));
        pair.Client.Close();
        sim.RunUntil(() => reader.Finished, TimeSpan.FromSeconds(120));

        Assert.Equal(SHA256.HashData(data), reader.Digest);
        Assert.Equal(0, clientHost.Counters.Tcp.TCPTimeouts);
        return (wire.A.Counters.TxGsoPackets, wire.A.Counters.TxPackets, (sim.Now - start).TotalSeconds);
    }

    private static (List<string> Frames, long Retransmits) LineTrace(int seed, double loss, double reorder, bool tso, bool deferral = false)
    {
        LinkImpairments path = Net.GigabitPath with
        {
            Delay = TimeSpan.FromMilliseconds(2), Loss = loss, Reorder = reorder, ReorderDelay = TimeSpan.FromMicroseconds(300),
            QueueLimitBytes = 256 << 10,
        };
        var (sim, clientHost, serverHost) = Net.TwoHosts(seed, path, new NetStackOptions { Tcp = new TcpSettings { TsoDeferral = deferral } });
        SimulatedWire wire = sim.Wires[0];
        wire.GsoMaxSize = tso ? 65535 : 0;
        wire.HardwareSegmentation = tso;
        var frames = new List<string>();
        long largest = 0, clientDataFrames = 0;
        wire.Tap = (packet, at) =>
        {
            largest = Math.Max(largest, packet.Length);
            if (Wirestack.Wire.IPv4Packet.TryCreate(packet, out var ip) == Wirestack.Wire.HeaderError.None &&
                Wirestack.Wire.TcpSegment.TryCreate(ip.Payload, out var tcp) == Wirestack.Wire.HeaderError.None)
            {
                clientDataFrames += tcp.Payload.Length > 0 && ip.Source == clientHost.Interfaces[0].Address.Address ? 1 : 0;
                frames.Add($"{at.Microseconds} {ip.Source} {tcp.SequenceNumber.Value} {tcp.AcknowledgmentNumber.Value} {tcp.Payload.Length} {tcp.Flags}");
            }
        };
        byte[] data = new byte[4 << 20];
        new Random(5).NextBytes(data);
        using ConnectedPair pair = Net.Connected(clientHost, serverHost, 4 << 20);
        var reader = new SocketDrain(sim, pair.Server);
        long sentBefore = clientHost.Counters.Tcp.OutSegs;
        Assert.Equal(data.Length, pair.Client.Send(data));
        pair.Client.Close();
        sim.RunUntil(() => reader.Finished, TimeSpan.FromSeconds(120));

        Assert.Equal(SHA256.HashData(data), reader.Digest);
        Assert.True(largest <= LinkImpairments.None.Mtu, $"a {largest} B packet on the line");
        if (tso)
        {
            Assert.True(wire.A.Counters.TxGsoPackets > 0, "the sender never handed over a large segment");
            long segments = clientHost.Counters.Tcp.OutSegs - sentBefore;
            Assert.True(segments < clientDataFrames * 3 / 4, $"the sending stack sent {segments} segments for {clientDataFrames} data frames");
        }

        return (frames, clientHost.Counters.Tcp.RetransSegs);
    }

    /// <summary>A large IPv4 TCP segment 10.0.0.1:40000 → 10.0.0.2:80 (20-byte TCP header), sequence 1000.</summary>
    private static byte[] LargeSegment(int payload)
    {
        var source = Wirestack.Wire.IPv4Address.Parse("10.0.0.1");
        var destination = Wirestack.Wire.IPv4Address.Parse("10.0.0.2");
        var header = new Wirestack.Wire.TcpHeader
        {
            SourcePort = 40000,
            DestinationPort = 80,
            SequenceNumber = new Wirestack.Wire.SeqNumber(1000),
            AcknowledgmentNumber = new Wirestack.Wire.SeqNumber(1),
            Flags = Wirestack.Wire.TcpFlags.Ack,
            Window = 1000,
        };
        byte[] tcp = new byte[header.Length + payload];
        header.WriteTo(tcp, source, destination);
        byte[] datagram = new byte[20 + tcp.Length];
        new Wirestack.Wire.IPv4Header(source, destination, Wirestack.Wire.IPProtocol.Tcp, tcp.Length).WriteTo(datagram);
        tcp.CopyTo(datagram, 20);
        return datagram;
    }
}
