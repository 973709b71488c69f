using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Wirestack.Simulation;
using Wirestack.Links;
using Wirestack.Sockets;
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
}
