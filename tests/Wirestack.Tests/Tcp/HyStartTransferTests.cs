using System.Net;
using System.Net.Sockets;
using Wirestack.Diagnostics;
using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Tests.Support;
using Xunit.Abstractions;

namespace Wirestack.Tests.Tcp;

/// <summary>
/// Linux's HyStart (tcp_cubic hystart_update) in a whole transfer, in virtual time and deterministic by seed: over
/// 1 Gbit/s with 10 ms one-way delay and a 1 MiB bottleneck queue (the path of the simulated bench,
/// WirestackBenchmarks.SimulatedGigabit), slow start without HyStart overshoots the queue and loses thousands of
/// segments; with it, slow start ends near the path's capacity.
/// </summary>
public sealed class HyStartTransferTests(ITestOutputHelper output)
{
    private const int Bytes = 24 << 20;

    /// <summary>Sends <see cref="Bytes"/> from a to b and returns the sender's TCP counters.</summary>
    private TcpCounters Transfer(bool hyStart, int gsoMaxSize, bool timestamps = true)
    {
        LinkImpairments impairments = Net.GigabitPath;
        using var sim = new Simulator(1);
        NetStack a = sim.AddHost("a", new NetStackOptions { Tcp = new TcpSettings { HyStart = hyStart, Timestamps = timestamps } });
        NetStack b = sim.AddHost("b", new NetStackOptions { Tcp = new TcpSettings { Timestamps = timestamps } });
        SimulatedWire wire = sim.Connect(a, "10.0.0.1/24", b, "10.0.0.2/24", impairments, impairments, rxRing: 4096);
        wire.GsoMaxSize = gsoMaxSize;
        // BDP = 1 Gbit/s × 20 ms = 2.5 MB: 8 MiB buffers give a 4 MiB window, so only the congestion window limits.
        using ConnectedPair pair = Net.Connected(a, b, 8 << 20);
        NetSocket client = pair.Client, server = pair.Server;
        using var reader = new SocketDrain(sim, server);
        Assert.Equal(Bytes, client.Send(new byte[Bytes]));
        client.Close();
        sim.RunUntil(() => reader.Finished, TimeSpan.FromSeconds(600));
        Assert.Equal(Bytes, reader.BytesReceived);

        TcpCounters tcp = a.Counters.Tcp;
        output.WriteLine($"HyStart {hyStart}, GSO {gsoMaxSize}, timestamps {timestamps}: RetransSegs {tcp.RetransSegs}, TCPTimeouts {tcp.TCPTimeouts}, " +
            $"TCPHystartTrainDetect {tcp.TCPHystartTrainDetect} (cwnd {tcp.TCPHystartTrainCwnd}), " +
            $"TCPHystartDelayDetect {tcp.TCPHystartDelayDetect} (cwnd {tcp.TCPHystartDelayCwnd})");
        return tcp;
    }

    [Fact]
    public void Slow_start_ends_by_hystart_with_far_fewer_retransmissions_than_without()
    {
        TcpCounters on = Transfer(hyStart: true, gsoMaxSize: 0);
        TcpCounters off = Transfer(hyStart: false, gsoMaxSize: 0);

        // One slow start, ended once by HyStart (here by the delay detector: the queue grows the RTT by more than
        // 4 ms within a round), at a window between the BDP (~1,700 segments) and twice it.
        Assert.Equal(1, on.TCPHystartTrainDetect + on.TCPHystartDelayDetect);
        Assert.InRange(on.TCPHystartTrainCwnd + on.TCPHystartDelayCwnd, 1000, 3500);
        Assert.Equal(0, off.TCPHystartTrainDetect + off.TCPHystartDelayDetect);
        Assert.Equal(0, on.TCPTimeouts);
        // Without it slow start doubles past BDP + queue and loses thousands of segments.
        Assert.True(off.RetransSegs > 1000, $"without HyStart: {off.RetransSegs} retransmitted");
        Assert.True(on.RetransSegs * 10 < off.RetransSegs, $"{on.RetransSegs} retransmitted with HyStart, {off.RetransSegs} without");
    }

    [Fact]
    public void With_segmentation_offload_the_ack_train_ends_slow_start_and_fewer_segments_are_lost()
    {
        TcpCounters on = Transfer(hyStart: true, gsoMaxSize: 65535);
        TcpCounters off = Transfer(hyStart: false, gsoMaxSize: 65535);

        // 64 KB packets: the round's ACKs come as a train spanning more than delay_min / 2 before the RTT has grown
        // enough for the delay detector.
        Assert.Equal(1, on.TCPHystartTrainDetect);
        Assert.InRange(on.TCPHystartTrainCwnd, 1000, 3500);
        Assert.Equal(0, off.TCPHystartTrainDetect + off.TCPHystartDelayDetect);
        Assert.True(on.RetransSegs < off.RetransSegs, $"{on.RetransSegs} retransmitted with HyStart, {off.RetransSegs} without");
    }

    [Fact]
    public void Without_timestamps_every_ack_times_the_data_it_acknowledges_so_hystart_still_ends_slow_start()
    {
        // Regression: without the timestamp option one segment per round trip was timed (RFC 6298 §3), too few
        // samples for HyStart's delay detector (8 per round), so slow start overshot and lost ~1,500 segments. Linux
        // times every ACK from the acknowledged data's transmit time (tcp_clean_rtx_queue), with or without them.
        TcpCounters withTs = Transfer(hyStart: true, gsoMaxSize: 0);
        TcpCounters noTs = Transfer(hyStart: true, gsoMaxSize: 0, timestamps: false);

        Assert.Equal(1, noTs.TCPHystartTrainDetect + noTs.TCPHystartDelayDetect);
        Assert.InRange(noTs.TCPHystartTrainCwnd + noTs.TCPHystartDelayCwnd, 1000, 3500);
        Assert.Equal(0, noTs.TCPTimeouts);
        Assert.True(noTs.RetransSegs <= 2 * withTs.RetransSegs, $"{noTs.RetransSegs} retransmitted without timestamps, {withTs.RetransSegs} with");
    }

    [Fact]
    public void Every_connection_on_the_same_hosts_ends_slow_start_alike_whatever_the_phase_it_starts_at()
    {
        // Regression: with timestamps, HyStart saw RTT samples in whole milliseconds (now − TSecr), so whether its
        // delay test fired in time depended on the sub-millisecond phase a connection started at: on hosts kept up
        // across transfers, the second connection missed it and lost ~700 segments to the overshoot. Linux (and now
        // this stack) times ACKs in microseconds from the data's transmit time, preferring that to TSecr.
        LinkImpairments impairments = Net.GigabitPath;
        using var sim = new Simulator(1);
        NetStack a = sim.AddHost("a");
        NetStack b = sim.AddHost("b");
        sim.Connect(a, "10.0.0.1/24", b, "10.0.0.2/24", impairments, impairments, rxRing: 4096);
        var results = new List<(long Retransmits, long Detections, long Cwnd)>();
        foreach (double pauseMs in new[] { 0.0, 1_000.137, 1_000.611 })
        {
            sim.RunFor(TimeSpan.FromMilliseconds(pauseMs)); // a start at another sub-millisecond phase
            long retransmits = a.Counters.Tcp.RetransSegs;
            long detections = a.Counters.Tcp.TCPHystartTrainDetect + a.Counters.Tcp.TCPHystartDelayDetect;
            long cwnd = a.Counters.Tcp.TCPHystartTrainCwnd + a.Counters.Tcp.TCPHystartDelayCwnd;
            using (ConnectedPair pair = Net.Connected(a, b, 8 << 20))
            {
                using var reader = new SocketDrain(sim, pair.Server);
                Assert.Equal(Bytes, pair.Client.Send(new byte[Bytes]));
                pair.Client.Shutdown(System.Net.Sockets.SocketShutdown.Send);
                sim.RunUntil(() => reader.Finished, TimeSpan.FromSeconds(600));
                Assert.Equal(Bytes, reader.BytesReceived);
            }

            sim.RunFor(TimeSpan.FromSeconds(1)); // the closing handshakes
            results.Add((a.Counters.Tcp.RetransSegs - retransmits,
                a.Counters.Tcp.TCPHystartTrainDetect + a.Counters.Tcp.TCPHystartDelayDetect - detections,
                a.Counters.Tcp.TCPHystartTrainCwnd + a.Counters.Tcp.TCPHystartDelayCwnd - cwnd));
        }

        output.WriteLine(string.Join("; ", results));
        Assert.All(results, r => Assert.Equal(1, r.Detections));
        Assert.All(results, r => Assert.Equal(results[0], r));
    }
}
