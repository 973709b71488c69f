using System.Net;
using System.Net.Sockets;
using Wirestack.Links;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Wire;

namespace Wirestack.Simulation.Scenarios;

/// <summary>RFC 1122 §4.2.3.6 keep-alive (seed 004 §4.3): an idle connection whose peer vanishes (the wire is cut)
/// shows nothing until the client's keep-alive probes go unanswered: after KeepCount of them, ETIMEDOUT.</summary>
public sealed class KeepaliveScenario : IScenario
{
    public static readonly TimeSpan Idle = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
    public const int Count = 3;
    public static readonly TimeSpan CutAt = TimeSpan.FromSeconds(15);

    public string Name => "keepalive";

    public string Description => $"an idle connection whose peer vanishes (wire cut): keep-alive probes (idle {ScenarioRun.S(Idle)} s, every {ScenarioRun.S(Interval)} s, {Count} of them) detect it: ETIMEDOUT";

    public ScenarioResult Run(ScenarioOptions options)
    {
        var run = new ScenarioRun(this, options);
        NetStack client = run.Host("client");
        NetStack server = run.Host("server");
        SimulatedWire wire = run.Wire(client, "10.0.0.1/24", server, "10.0.0.2/24");
        var probes = new List<double>();
        run.WatchTcp(wire, p =>
        {
            if (p.Source == new IPv4Address(10, 0, 0, 1) && p.PayloadLength == 0 && p.Tcp.Flags == TcpFlags.Ack && IsProbe(client, p))
            {
                probes.Add(ScenarioRun.Seconds(run.Sim.Now));
                return $"receives keep-alive probe #{probes.Count} (seq SND.UNA-1, no data) and answers it with an ACK";
            }

            return null;
        });

        using var listener = new NetSocket(server, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 22));
        listener.Listen(8);
        using var socket = new NetSocket(client, SocketType.Stream);
        TcpConnection connection = socket.Connection!;
        connection.KeepAlive = true;
        connection.KeepIdle = Idle;
        connection.KeepInterval = Interval;
        connection.KeepCount = Count;
        socket.Connect(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 22));
        using NetSocket peer = listener.Accept();
        run.Trace(client, "client", connection, e => e.Kind == "state");
        run.Note(client, $"connected with SO_KEEPALIVE: TCP_KEEPIDLE {ScenarioRun.S(Idle)} s, TCP_KEEPINTVL {ScenarioRun.S(Interval)} s, TCP_KEEPCNT {Count}; then nothing is sent");
        run.RunFor(CutAt - (run.Sim.Now - Time.Instant.Zero));
        run.Sockets(client, $"the client at {ScenarioRun.S(CutAt)} s (ss -tno: the keepalive timer)");
        wire.AToB = new LinkImpairments { Delay = TimeSpan.FromMilliseconds(5), Loss = 1.0 };
        wire.BToA = new LinkImpairments { Delay = TimeSpan.FromMilliseconds(5), Loss = 1.0 };
        run.Note("wire", "the cable is cut: every packet is lost from now on, both ways (the server vanishes without a FIN or RST)");
        var cut = run.Sim.Now;
        long seen = client.Counters.Tcp.TCPKeepAlive;
        bool ended = run.RunUntil(() =>
        {
            if (client.Counters.Tcp.TCPKeepAlive > seen)
            {
                seen = client.Counters.Tcp.TCPKeepAlive;
                run.Note(client, $"sends keep-alive probe #{seen}: no answer comes back");
            }

            return connection.State == TcpState.Closed;
        }, TimeSpan.FromSeconds(300));
        double detectedAfter = (run.Sim.Now - cut).TotalSeconds;
        byte[] buffer = new byte[16];
        socket.Receive(buffer, out SocketError error);
        run.Error(client, $"client {ScenarioRun.Endpoints(connection)} recv()", error, socket.ErrorCause);
        long sentProbes;
        lock (client.SyncRoot)
        {
            sentProbes = client.Counters.Tcp.TCPKeepAlive;
        }

        run.Fact("probes_sent", sentProbes);
        run.Fact("probes_answered", probes.Count);
        run.Fact("detected_s", ScenarioRun.Seconds(run.Sim.Now));
        run.Fact("detected_after_cut_s", detectedAfter);
        // the first probe at 10 s is answered; after the cut the probes go out at 20, 22, 24 s and the end comes at 26 s
        double expected = 2 * Idle.TotalSeconds + Count * Interval.TotalSeconds;
        run.Check(ended && error == SocketError.TimedOut, $"the client learns with ETIMEDOUT ({SocketErrors.ToErrno(error)})");
        run.Check(probes.Count == 1, $"before the cut, the first probe (at {ScenarioRun.S(Idle)} s idle) is answered ({probes.Count} answered)");
        run.Check(sentProbes == 1 + Count, $"{Count} more probes go unanswered after the cut ({sentProbes} sent in all)");
        run.Check(Math.Abs(ScenarioRun.Seconds(run.Sim.Now) - expected) < 0.05,
            $"the connection ends at about {ScenarioRun.S(expected)} s: idle {ScenarioRun.S(Idle)} s after the last answer, then {Count} × {ScenarioRun.S(Interval)} s ({ScenarioRun.S(ScenarioRun.Seconds(run.Sim.Now))} s)");
        run.Check(socket.ErrorCause?.Contains("keep-alive", StringComparison.Ordinal) == true, "the explanation names the keep-alive probes");
        run.Key(client, "TcpExt", "TCPKeepAlive", "keep-alive probes sent");
        run.Key(client, "TcpExt", "TCPAbortOnTimeout", "connections ended by a timeout");
        run.Key(server, "Tcp", "InSegs", "segments that reached the server (none after the cut)");
        run.Summary($"An idle connection says nothing, so the cut went unnoticed until keep-alive: {ScenarioRun.S(Idle)} s after the last sign of life the client probed,");
        run.Summary($"then every {ScenarioRun.S(Interval)} s; after {Count} unanswered probes it gave up: ETIMEDOUT {ScenarioRun.S(detectedAfter)} s after the cut.");
        run.Summary("With Linux's defaults (7200 s, 75 s, 9) the same would take over two hours: tune TCP_KEEPIDLE/INTVL/CNT, or use TCP_USER_TIMEOUT.");
        return run.Finish();
    }

    private static bool IsProbe(NetStack client, TcpPacket p)
    {
        foreach (TcpConnection c in client.Tcp.Connections)
        {
            if (c.Tuple.LocalPort == p.Tcp.SourcePort)
            {
                return p.Tcp.SequenceNumber == c.SndUna - 1;
            }
        }

        return false;
    }
}
