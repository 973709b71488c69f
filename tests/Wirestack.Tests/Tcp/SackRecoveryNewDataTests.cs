using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Tests.Support;
using Xunit.Abstractions;

namespace Wirestack.Tests.Tcp;

/// <summary>
/// RFC 6675 §5 step (C), NextSeg rule 2: during SACK recovery new data goes out while pipe is below cwnd, although
/// SND.UNA stays at the first hole and the data sent before the loss lies further than cwnd beyond it. Otherwise no
/// new data goes until the holes are repaired, recovery ends with nothing in flight, RFC 6582 §3.2 step 3 leaves
/// cwnd at 2 SMSS, and a second slow start overflows the queue again. The path of the simulated bench
/// (WirestackBenchmarks.SimulatedGigabit): 1 Gbit/s, 10 ms one-way delay, 1 MiB drop-tail queue, where the first
/// slow start (ended by HyStart) still overflows the queue.
/// </summary>
public sealed partial class SackRecoveryNewDataTests(ITestOutputHelper output)
{
    private const int Bytes = 24 << 20;

    [GeneratedRegex(@"^exit at \d+ \(cwnd (\d+), ssthresh (\d+), flight (\d+)\)$")]
    private static partial Regex ExitPattern();

    [Theory]
    [InlineData(0)]
    [InlineData(65535)]
    public void Sack_recovery_sends_new_data_and_ends_with_about_ssthresh_in_flight(int gsoMaxSize)
    {
        LinkImpairments impairments = Net.GigabitPath;
        using var sim = new Simulator(1);
        NetStack a = sim.AddHost("a");
        NetStack b = sim.AddHost("b");
        SimulatedWire wire = sim.Connect(a, "10.0.0.1/24", b, "10.0.0.2/24", impairments, impairments, rxRing: 4096);
        wire.GsoMaxSize = gsoMaxSize;
        using ConnectedPair pair = Net.Connected(a, b, 8 << 20);
        NetSocket client = pair.Client, server = pair.Server;
        TcpConnection sender = client.Connection!;
        sender.Trace = [];
        using var reader = new SocketDrain(sim, server);
        Assert.Equal(Bytes, client.Send(new byte[Bytes]));
        client.Close();
        sim.RunUntil(() => reader.Finished, TimeSpan.FromSeconds(600));
        Assert.Equal(Bytes, reader.BytesReceived);

        var exits = new List<(long Cwnd, long Ssthresh, long Flight)>();
        foreach (TcpTraceEvent e in sender.Trace)
        {
            if (e.Kind == "recovery")
            {
                output.WriteLine($"{e.Time} {e.Detail}");
            }

            if (e.Kind == "recovery" && ExitPattern().Match(e.Detail) is { Success: true } m)
            {
                exits.Add((Parse(m.Groups[1]), Parse(m.Groups[2]), Parse(m.Groups[3])));
            }
        }

        output.WriteLine($"{(sim.Now - TimeSpan.Zero)}: RetransSegs {a.Counters.Tcp.RetransSegs}, TCPSACKRecovery {a.Counters.Tcp.TCPSACKRecovery}");
        Assert.Equal(0, a.Counters.Tcp.TCPTimeouts);
        // The first recovery (the loss episode that ends the first slow start) is from a window of about 2,000
        // segments: at its full ACK at least a third of ssthresh of new data is in flight (the application writes a
        // third of the 8 MiB buffer at a time, so the send queue may run short), and cwnd did not collapse to 2 SMSS.
        Assert.NotEmpty(exits);
        (long cwnd, long ssthresh, long flight) = exits[0];
        Assert.True(ssthresh > 1_000_000, $"ssthresh {ssthresh}");
        Assert.True(flight >= ssthresh / 3, $"flight {flight} at the end of recovery, ssthresh {ssthresh}");
        Assert.True(cwnd > flight, $"cwnd {cwnd}, flight {flight}");
    }

    private static long Parse(Group g) => long.Parse(g.Value, CultureInfo.InvariantCulture);
}
