using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Wirestack.Links;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Time;

namespace Wirestack.Simulation.Scenarios;

/// <summary>Seed 004 §2.1: the NIC's receive ring. A bulk TCP sender's window grows until one flight arrives as a
/// burst larger than the receiver's ring (64 slots) and its poll budget; the ring drops the rest and counts them as
/// rx_missed_errors (what <c>ethtool -S</c> shows). TCP sees the losses, recovers, and every byte arrives.</summary>
public sealed class RingOverflowScenario : IScenario
{
    public const int RingSlots = 64;
    public const int TransferBytes = 4 * 1024 * 1024;

    public string Name => "ring-overflow";

    public string Description => $"a TCP burst larger than the receiver's {RingSlots}-slot rx ring: frames dropped as rx_missed_errors, TCP recovers, every byte arrives";

    public ScenarioResult Run(ScenarioOptions options)
    {
        var run = new ScenarioRun(this, options);
        NetStack sender = run.Host("sender");
        NetStack receiver = run.Host("receiver");
        SimulatedWire wire = run.Wire(sender, "10.0.0.1/24", receiver, "10.0.0.2/24", rxRing: RingSlots);
        SimulatedPort port = wire.B;
        run.Note(receiver, $"its device has a receive ring of {RingSlots} slots, and each poll takes at most {receiver.Options.Ip.RxBudget} packets (NAPI budget)");

        // Count how many packets arrive at the receiver in the same instant: a burst.
        var arrivals = new Dictionary<long, int>();
        Action<ReadOnlySpan<byte>, Instant>? previous = wire.Tap;
        wire.Tap = (bytes, time) =>
        {
            previous?.Invoke(bytes, time);
            if (bytes.Length >= 20 && bytes[16] == 10 && bytes[19] == 2) // to 10.0.0.2
            {
                arrivals[time.Microseconds] = arrivals.GetValueOrDefault(time.Microseconds) + 1;
            }
        };

        using var listener = new NetSocket(receiver, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 5001));
        listener.Listen(8);
        using var client = new NetSocket(sender, SocketType.Stream) { Blocking = false };
        client.Connect(IPv4Address(10, 0, 0, 2), 5001);
        run.RunUntil(() => listener.Listener!.AcceptQueueLength > 0, TimeSpan.FromSeconds(1));
        using NetSocket server = listener.Accept();
        using var drain = new SocketDrain(run.Sim, server);
        run.Trace(sender, "sender", client.Connection!, e => e.Kind is "recovery" or "timeout");
        run.Note(sender, $"sends {TransferBytes / (1024 * 1024)} MiB as fast as the windows allow (no rate limit: a whole flight leaves at once)");

        byte[] data = new byte[TransferBytes];
        new Random(options.Seed).NextBytes(data);
        int offset = 0;
        long lastMissed = 0;
        var start = run.Sim.Now;
        while (!drain.Finished && run.Sim.Now - start < TimeSpan.FromSeconds(120))
        {
            if (offset < data.Length)
            {
                int n = client.Send(data.AsSpan(offset), out SocketError e);
                if (e == SocketError.Success)
                {
                    offset += n;
                }

                if (offset == data.Length)
                {
                    client.Shutdown(SocketShutdown.Send);
                }
            }

            run.Sim.Step();
            long missed = port.Counters.RxMissed;
            if (missed > lastMissed)
            {
                long t = run.Sim.Now.Microseconds;
                int burst = arrivals.GetValueOrDefault(t);
                run.Note(receiver, $"a burst of {burst} segments arrives at once; the ring holds {RingSlots}: {missed - lastMissed} dropped (rx_missed_errors {missed})");
                lastMissed = missed;
            }
        }

        double seconds = (run.Sim.Now - start).TotalSeconds;
        bool intact = drain.Finished && drain.BytesReceived == data.Length && drain.Digest.AsSpan().SequenceEqual(SHA256.HashData(data));
        run.Note(receiver, $"end of stream after {ScenarioRun.S(seconds)} s: {drain.BytesReceived} bytes, SHA-256 {(intact ? "matches" : "DIFFERS")}");
        long missedTotal = port.Counters.RxMissed;
        long retrans = sender.Counters.Tcp.RetransSegs;
        run.Fact("rx_missed_errors", missedTotal);
        run.Fact("largest_burst", arrivals.Values.DefaultIfEmpty(0).Max());
        run.Fact("retrans_segs", retrans);
        run.Fact("bytes", drain.BytesReceived);
        run.Check(missedTotal > 0, $"the ring overflowed (rx_missed_errors {missedTotal})");
        run.Check(retrans > 0, $"TCP retransmitted what the ring dropped (RetransSegs {retrans})");
        run.Check(intact, "every byte arrived intact (SHA-256)");

        run.Key(receiver, "Link", "rx_missed_errors", "frames the full receive ring dropped (ethtool -S)");
        run.Key(receiver, "Link", "rx_fifo_errors", "the same overruns as ip -s link counts them");
        run.Key(receiver, "Link", "rx_packets", "frames the ring took in");
        run.Key(sender, "Tcp", "RetransSegs", "segments sent again");
        run.Key(sender, "TcpExt", "TCPSACKRecovery", "recoveries led by SACK (the receiver reported the holes)");
        run.Key(sender, "TcpExt", "TCPFastRetrans", "segments resent by fast retransmit");
        run.Key(sender, "TcpExt", "TCPTimeouts", "retransmission timer expiries");
        run.Key(receiver, "TcpExt", "TCPOFOQueue", "segments the receiver held out of order, waiting for the holes");
        run.Summary($"The sender's congestion window grew until one flight ({arrivals.Values.DefaultIfEmpty(0).Max()} segments) arrived at once, more than the {RingSlots}-slot ring;");
        run.Summary($"the NIC dropped {missedTotal} frames before the stack ever saw them: only rx_missed_errors (ethtool -S) knows.");
        run.Summary($"To TCP they were ordinary losses: SACK told the sender which, it resent {retrans} segments, and all {TransferBytes} bytes arrived intact.");
        run.Summary("The remedies of seed 004 §2.1: a bigger ring (ethtool --set-ring) or a larger poll budget (dev_weight).");
        return run.Finish();
    }

    private static Wire.IPv4Address IPv4Address(byte a, byte b, byte c, byte d) => new(a, b, c, d);
}
