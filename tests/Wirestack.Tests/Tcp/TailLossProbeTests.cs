using System.Net;
using System.Net.Sockets;
using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tests.Support;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

/// <summary>The tail loss probe of RFC 8985 §7 as Linux has it by default (tcp_early_retrans 3): after 2·SRTT without
/// an ACK (plus 200 ms when one segment is in flight, never later than the RTO) the sender sends one probe, so a
/// lost last segment is repaired without waiting for the retransmission timeout. The FreeBSD profile has no probe.
/// </summary>
public sealed class TailLossProbeTests
{
    private const int Mss = 1460; // no timestamps

    // ---- end to end, on the simulator ------------------------------------------------------------------------------

    /// <summary>Two hosts 1 ms apart. The client's quick-ACK allowance is spent and its RTT settled; then it writes
    /// three full segments, and a fourth that the wire drops: the tail of the burst is lost. The server ACKs the first
    /// two at once and holds the ACK of the third for its delayed-ACK timer; nothing can show the loss.</summary>
    private static (Simulator Sim, NetStack Client, NetSocket Server, Instant LossAt) TailDrop(string profile, int seed)
    {
        // Without timestamps: an RTT sample is the time from a segment to its ACK as the stack's calls see it (a TSval
        // sent by a call made after the simulator idled forward would carry the clock of the last poll).
        NetStackOptions clientOptions = NetStackOptions.ForProfile(profile, "client", seed), serverOptions = NetStackOptions.ForProfile(profile, "server", seed);
        clientOptions.Tcp.Timestamps = false;
        serverOptions.Tcp.Timestamps = false;
        var (sim, clientHost, serverHost) = Net.TwoHosts(seed, clientOptions: clientOptions, serverOptions: serverOptions);
        var listener = new NetSocket(serverHost, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(8);
        var client = new NetSocket(clientHost, SocketType.Stream);
        client.Connect(Net.ServerHttp);
        NetSocket server = listener.Accept();
        server.Blocking = false;

        // 32 full segments (a blocking send): the server's 16 quick ACKs are spent, and it ACKs every other segment.
        Assert.Equal(32 * Mss, client.Send(new byte[32 * Mss]));
        Assert.Equal(32 * Mss, Drain(sim, server, 32 * Mss, TimeSpan.FromSeconds(1)));
        client.Blocking = false;
        sim.RunFor(TimeSpan.FromMilliseconds(500));
        Assert.True(client.Connection!.Rtt.SmoothedRtt < TimeSpan.FromMilliseconds(10), $"SRTT {client.Connection.Rtt.SmoothedRtt}");

        Assert.Equal(3 * Mss, client.Send(new byte[3 * Mss]));
        LinkImpairments wire = sim.Wires[0].AToB;
        sim.Wires[0].AToB = wire with { Loss = 1.0 };
        Assert.Equal(Mss, client.Send(new byte[Mss]));
        sim.Wires[0].AToB = wire;
        return (sim, clientHost, server, sim.Now);
    }

    /// <summary>Reads until <paramref name="expected"/> bytes came or the time is up; returns the bytes read.</summary>
    private static int Drain(Simulator sim, NetSocket socket, int expected, TimeSpan limit)
    {
        byte[] buffer = new byte[64 * 1024];
        int total = 0;
        Instant end = sim.Now + limit;
        while (total < expected && sim.Now < end)
        {
            int n = socket.Receive(buffer, out SocketError error);
            if (n > 0 && error == SocketError.Success)
            {
                total += n;
                continue;
            }

            sim.RunFor(TimeSpan.FromMilliseconds(1));
        }

        return total;
    }

    [Fact]
    [Trait("Rfc", "8985 §7")]
    public void TailDrop_IsRepairedByAProbeAfterAboutTwoRoundTrips_NotByTheRto()
    {
        var (sim, client, server, lossAt) = TailDrop("linux", 801);
        long probes = client.Counters.Tcp.TCPLossProbes, timeouts = client.Counters.Tcp.TCPTimeouts;

        Assert.Equal(4 * Mss, Drain(sim, server, 4 * Mss, TimeSpan.FromSeconds(2)));

        // The ACK of the first two segments leaves two in flight: PTO = 2·SRTT + 2 ms, a few milliseconds here, where
        // the RTO is at least 200 ms. The probe resends the last segment, which completes the data.
        TimeSpan repairedAfter = sim.Now - lossAt;
        Assert.True(repairedAfter < TimeSpan.FromMilliseconds(30), $"the lost segment arrived {repairedAfter.TotalMilliseconds} ms after it was sent");
        Assert.Equal(1, client.Counters.Tcp.TCPLossProbes - probes);
        Assert.Equal(0, client.Counters.Tcp.TCPTimeouts - timeouts);
        Assert.Equal(1, client.Counters.Snapshot()["TcpExt"]["TCPLossProbes"] - probes);
    }

    [Fact]
    public void FreeBsdProfile_SendsNoProbe_TheRtoRepairsTheTailDrop()
    {
        var (sim, client, server, lossAt) = TailDrop("freebsd", 801);
        long probes = client.Counters.Tcp.TCPLossProbes, timeouts = client.Counters.Tcp.TCPTimeouts;

        Assert.Equal(4 * Mss, Drain(sim, server, 4 * Mss, TimeSpan.FromSeconds(2)));

        Assert.True(sim.Now - lossAt > TimeSpan.FromMilliseconds(200), $"repaired after {(sim.Now - lossAt).TotalMilliseconds} ms");
        Assert.Equal(0, client.Counters.Tcp.TCPLossProbes - probes);
        Assert.Equal(1, client.Counters.Tcp.TCPTimeouts - timeouts);
    }

    // ---- the probe's timing and contents, against a scripted peer -----------------------------------------------

    /// <summary>A passive open whose handshake takes <paramref name="rtt"/> (the stack's one RTT sample: SRTT = rtt,
    /// RTTVAR = rtt/2), SACK permitted, no timestamps: an ESTABLISHED server socket.</summary>
    private static NetSocket Establish(TcpPeer peer, TimeSpan rtt)
    {
        var listener = new NetSocket(peer.Stack, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, peer.LocalPort));
        listener.Listen(16);
        peer.Send(TcpFlags.Syn, default, options: new TcpOptions { Mss = 1460, SackPermitted = true });
        TcpHeader synAck = peer.ExpectOne();
        peer.Rcv = synAck.SequenceNumber + 1;
        peer.Nxt += 1;
        peer.Harness.Advance(rtt);
        peer.Send(TcpFlags.Ack, peer.Rcv);
        listener.Blocking = false;
        NetSocket socket = listener.Accept();
        socket.Blocking = false;
        return socket;
    }

    [Fact]
    [Trait("Rfc", "8985 §7.2")]
    public void TwoSegmentsUnacknowledged_ProbeResendsTheLastAt2Srtt_ThenTheRtoRunsFromTheProbe()
    {
        var peer = new TcpPeer();
        // SRTT 50 ms; RTO 250 ms: Linux's SRTT + rttvar, rttvar = max(2·50 ms, the 200 ms minimum)
        NetSocket socket = Establish(peer, TimeSpan.FromMilliseconds(50));
        SeqNumber start = peer.Rcv;
        Assert.Equal(2 * 1460, socket.Send(new byte[2 * 1460]));
        Assert.Equal(2, peer.Sent().Count);

        // PTO = 2·SRTT + 2 ms (Linux's TCP_TIMEOUT_MIN with more than one segment in flight) = 102 ms.
        peer.Harness.Advance(TimeSpan.FromMilliseconds(101.9));
        peer.ExpectNothing();
        peer.Harness.Advance(TimeSpan.FromMilliseconds(0.1));
        TcpHeader probe = peer.ExpectOne();
        Assert.Equal(start + 1460, probe.SequenceNumber); // the highest-sequence segment, not SND.UNA's
        Assert.Equal(1, peer.Stack.Counters.Tcp.TCPLossProbes);
        Assert.Equal(1, peer.Stack.Counters.Tcp.RetransSegs);
        Assert.Equal(0, peer.Stack.Counters.Tcp.TCPTimeouts);
        Assert.Equal("on", socket.Connection!.TimerName);

        // RFC 8985 §7.3: the RTO restarts when the probe goes; it resends from SND.UNA 250 ms later. No second probe.
        peer.Harness.Advance(TimeSpan.FromMilliseconds(249.9));
        peer.ExpectNothing();
        peer.Harness.Advance(TimeSpan.FromMilliseconds(0.1));
        Assert.Equal(start, peer.ExpectOne().SequenceNumber);
        Assert.Equal(1, peer.Stack.Counters.Tcp.TCPTimeouts);
        Assert.Equal(1, peer.Stack.Counters.Tcp.TCPLossProbes);
    }

    [Fact]
    [Trait("Rfc", "8985 §7.2")]
    public void OneSegmentInFlight_PtoAddsTheWorstCaseDelayedAck()
    {
        var peer = new TcpPeer();
        NetSocket socket = Establish(peer, TimeSpan.FromMilliseconds(300)); // SRTT 300 ms, RTTVAR 150: RTO 900 ms
        Assert.Equal(100, socket.Send(new byte[100]));
        Assert.Single(peer.Sent());

        // PTO = 2·SRTT + WCDelAckT (200 ms) = 800 ms, before the RTO (900 ms).
        peer.Harness.Advance(TimeSpan.FromMilliseconds(799.9));
        peer.ExpectNothing();
        peer.Harness.Advance(TimeSpan.FromMilliseconds(0.1));
        Assert.Equal(100, peer.Sent().Single().PayloadLength);
        Assert.Equal(1, peer.Stack.Counters.Tcp.TCPLossProbes);
    }

    [Fact]
    [Trait("Rfc", "8985 §7.2")]
    public void ProbeTimeout_IsCappedAtTheRto_AndTheProbeTakesTheRtosPlace()
    {
        var peer = new TcpPeer();
        NetSocket socket = Establish(peer, TimeSpan.FromMilliseconds(50)); // RTO 250 ms; one segment: PTO 300 ms
        Assert.Equal(100, socket.Send(new byte[100]));
        Assert.Single(peer.Sent());

        peer.Harness.Advance(TimeSpan.FromMilliseconds(249.9));
        peer.ExpectNothing();
        peer.Harness.Advance(TimeSpan.FromMilliseconds(0.1));
        Assert.Single(peer.Sent());
        Assert.Equal(1, peer.Stack.Counters.Tcp.TCPLossProbes);
        Assert.Equal(0, peer.Stack.Counters.Tcp.TCPTimeouts); // no backoff, no loss window

        peer.Harness.Advance(TimeSpan.FromMilliseconds(250));
        Assert.Single(peer.Sent());
        Assert.Equal(1, peer.Stack.Counters.Tcp.TCPTimeouts);
    }

    [Fact]
    [Trait("Rfc", "8985 §7.3")]
    public void NewDataTheWindowAllows_IsSentAsTheProbe_PastNagle()
    {
        var peer = new TcpPeer();
        NetSocket socket = Establish(peer, TimeSpan.FromMilliseconds(50));
        SeqNumber start = peer.Rcv;
        Assert.Equal(100, socket.Send(new byte[100]));
        Assert.Equal(100, socket.Send(new byte[100])); // held by Nagle: a small segment is unacknowledged
        Assert.Single(peer.Sent());

        peer.Harness.Advance(TimeSpan.FromMilliseconds(250)); // PTO 300 ms capped at the 250 ms RTO
        TcpHeader probe = peer.ExpectOne();
        Assert.Equal(start + 100, probe.SequenceNumber);
        Assert.Equal(1, peer.Stack.Counters.Tcp.TCPLossProbes);
        Assert.Equal(0, peer.Stack.Counters.Tcp.RetransSegs);
    }

    [Fact]
    [Trait("Rfc", "8985 §7.4")]
    public void ProbeThatRepairedALoss_IsCountedAndReducesTheWindow_OnceAnAckGoesBeyondIt()
    {
        var peer = new TcpPeer();
        NetSocket socket = Establish(peer, TimeSpan.FromMilliseconds(50));
        SeqNumber start = peer.Rcv;
        Assert.Equal(2 * 1460, socket.Send(new byte[2 * 1460]));
        peer.Sent();
        peer.Harness.Advance(TimeSpan.FromMilliseconds(102));
        Assert.Single(peer.Sent()); // the probe

        // The probe's ACK (no D-SACK: the original was lost) ends at TLP.end_seq; the next one goes beyond it.
        peer.Send(TcpFlags.Ack, start + 2 * 1460);
        Assert.Equal(0, peer.Stack.Counters.Tcp.TCPLossProbeRecovery);
        Assert.Equal(int.MaxValue, socket.Connection!.Congestion!.Ssthresh);
        Assert.Equal(1460, socket.Send(new byte[1460]));
        peer.Sent();
        peer.Send(TcpFlags.Ack, start + 3 * 1460);

        Assert.Equal(1, peer.Stack.Counters.Tcp.TCPLossProbeRecovery);
        Assert.True(socket.Connection.Congestion.Ssthresh < int.MaxValue);
        Assert.Equal(socket.Connection.Congestion.Ssthresh, socket.Connection.Congestion.Cwnd);
    }

    [Fact]
    [Trait("Rfc", "8985 §7.4")]
    public void ProbeReportedAsADuplicate_RepairedNothing()
    {
        var peer = new TcpPeer();
        NetSocket socket = Establish(peer, TimeSpan.FromMilliseconds(50));
        SeqNumber start = peer.Rcv;
        Assert.Equal(2 * 1460, socket.Send(new byte[2 * 1460]));
        peer.Sent();
        peer.Harness.Advance(TimeSpan.FromMilliseconds(102));
        Assert.Single(peer.Sent());

        // Only the ACKs were late: the peer had both segments and reports the probe with a D-SACK (RFC 2883).
        var options = new TcpOptions { SackCount = 1 };
        options.Sacks[0] = new SackBlock(start + 1460, start + 2 * 1460);
        peer.Send(TcpFlags.Ack, start + 2 * 1460, options: options);
        Assert.Equal(1460, socket.Send(new byte[1460]));
        peer.Sent();
        peer.Send(TcpFlags.Ack, start + 3 * 1460);

        Assert.Equal(1, peer.Stack.Counters.Tcp.TCPLossProbes);
        Assert.Equal(0, peer.Stack.Counters.Tcp.TCPLossProbeRecovery);
        Assert.Equal(int.MaxValue, socket.Connection!.Congestion!.Ssthresh);
    }

    [Fact]
    public void WithoutSack_NoProbe_AsInLinux()
    {
        var peer = new TcpPeer();
        var listener = new NetSocket(peer.Stack, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, peer.LocalPort));
        listener.Listen(16);
        peer.Send(TcpFlags.Syn, default, options: new TcpOptions { Mss = 1460 });
        peer.Rcv = peer.ExpectOne().SequenceNumber + 1;
        peer.Nxt += 1;
        peer.Harness.Advance(TimeSpan.FromMilliseconds(50));
        peer.Send(TcpFlags.Ack, peer.Rcv);
        listener.Blocking = false;
        NetSocket socket = listener.Accept();
        socket.Blocking = false;
        Assert.Equal(2 * 1460, socket.Send(new byte[2 * 1460]));
        peer.Sent();

        peer.Harness.Advance(TimeSpan.FromMilliseconds(199.9));
        peer.ExpectNothing();
        Assert.Equal(0, peer.Stack.Counters.Tcp.TCPLossProbes);
    }
}
