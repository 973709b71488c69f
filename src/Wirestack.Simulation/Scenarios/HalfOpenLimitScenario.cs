using System.Net;
using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Simulation.Scenarios;

/// <summary>Seed 000's other limit: Windows XP allowed 10 half-open (SYN-SENT) connections at once
/// (TcpSettings.HalfOpenLimit). Many connects at once go out 10 at a time, the rest queued in order; and a few
/// connects to hosts that never answer hold the slots for 127 s, stalling every new connection behind them.</summary>
public sealed class HalfOpenLimitScenario : IScenario
{
    public const int Limit = 10;
    public const int Connects = 40;
    public const int Live = 5;

    public string Name => "half-open-limit";

    public string Description => $"{Connects} connects at once under a half-open cap of {Limit}: they go out {Limit} at a time; then {Limit} dead peers hold every slot for 127 s";

    public ScenarioResult Run(ScenarioOptions options)
    {
        var run = new ScenarioRun(this, options);
        NetStack client = run.Host("client", o => o.Tcp.HalfOpenLimit = Limit);
        NetStack server = run.Host("server");
        NetStack silent = run.Host("silent");
        run.Wire(client, "10.0.0.1/24", server, "10.0.0.2/24");
        run.Wire(client, "10.0.1.1/24", silent, "10.0.1.3/24");
        silent.Ip.Routes.Clear();
        using var listener = new NetSocket(server, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(128);
        run.Note(client, $"allows at most {Limit} connections in SYN-SENT at once (like Windows XP's TCPIP.SYS); connects beyond wait in order");

        // a. Many connects to a live server.
        var sockets = new List<NetSocket>();
        for (int i = 0; i < Connects; i++)
        {
            var s = new NetSocket(client, SocketType.Stream) { Blocking = false };
            SocketError e = s.Connect(new IPv4Address(10, 0, 0, 2), 80);
            run.Check(e == SocketError.InProgress, $"connect #{i + 1} returns EINPROGRESS at once, queued or not ({SocketErrors.ToErrno(e)})");
            sockets.Add(s);
        }

        run.Note(client, $"a. {Connects} non-blocking connects to the server: {client.Tcp.HalfOpenCount} SYNs go out, {client.Tcp.QueuedConnects} wait for a slot");
        run.Sockets(client, "the client right after the connects (ss -tan)", max: 12);
        run.Check(client.Tcp.HalfOpenCount == Limit && client.Tcp.QueuedConnects == Connects - Limit, $"{Limit} in SYN-SENT, {Connects - Limit} queued");
        int maxHalfOpen = 0, lastEstablished = 0;
        Instant start = run.Sim.Now;
        run.RunUntil(() =>
        {
            maxHalfOpen = Math.Max(maxHalfOpen, client.Tcp.HalfOpenCount);
            int established = sockets.Count(s => s.Connection!.State == TcpState.Established);
            if (established != lastEstablished)
            {
                run.Note(client, $"{established} connected, {client.Tcp.HalfOpenCount} in SYN-SENT, {client.Tcp.QueuedConnects} queued");
                lastEstablished = established;
            }

            return established == Connects;
        }, TimeSpan.FromSeconds(5));
        double wave = (run.Sim.Now - start).TotalSeconds;
        run.Fact("a_all_connected_s", wave);
        run.Fact("a_max_half_open", maxHalfOpen);
        run.Check(lastEstablished == Connects, $"all {Connects} connect");
        run.Check(maxHalfOpen <= Limit, $"never more than {Limit} half-open (max {maxHalfOpen})");
        run.Check(Math.Abs(wave - 0.04) < 0.0015, $"they connect in waves of {Limit}, one round trip each: all {Connects} by 40 ms ({ScenarioRun.S(wave * 1000)} ms)");
        foreach (NetSocket s in sockets)
        {
            s.Dispose();
        }

        run.RunFor(TimeSpan.FromSeconds(1));

        // b. Dead peers hold the slots.
        var dead = new List<NetSocket>();
        for (int i = 0; i < Limit; i++)
        {
            var s = new NetSocket(client, SocketType.Stream) { Blocking = false };
            s.Connect(new IPv4Address(10, 0, 1, 3), (ushort)(6881 + i));
            dead.Add(s);
        }

        var live = new List<NetSocket>();
        for (int i = 0; i < Live; i++)
        {
            var s = new NetSocket(client, SocketType.Stream) { Blocking = false };
            s.Connect(new IPv4Address(10, 0, 0, 2), 80);
            live.Add(s);
        }

        Instant startB = run.Sim.Now;
        run.Note(client, $"b. {Limit} connects to peers that never answer (like a P2P client's dead peers), then {Live} to the live server");
        run.Note(client, $"   {client.Tcp.HalfOpenCount} in SYN-SENT (all to the silent host), {client.Tcp.QueuedConnects} queued behind them");
        run.Trace(client, "dead#1", dead[0].Connection!, e => e.Kind == "state");
        run.Trace(client, "live#1", live[0].Connection!, e => e.Kind == "state");
        run.OnFailure(client, "dead#1", dead[0].Connection!);
        bool liveDone = run.RunUntil(() => live.All(s => s.Connection!.State == TcpState.Established), TimeSpan.FromSeconds(200));
        double waited = (run.Sim.Now - startB).TotalSeconds;
        run.Note(client, $"the {Live} live connects completed {ScenarioRun.S(waited)} s after they were made: they waited for the dead ones to time out");
        run.StopTrace(client, live[0].Connection!);
        run.Check(dead.All(s => s.GetPendingError() == SocketError.TimedOut), "every dead connect ends with ETIMEDOUT");

        run.Fact("b_live_connected_s", waited);
        run.Check(liveDone, "the live connects complete in the end");
        run.Check(Math.Abs(waited - 127.01) < 0.01, $"...only once the dead connects time out, 127 s later ({ScenarioRun.S(waited)} s)");
        foreach (NetSocket s in dead.Concat(live))
        {
            s.Dispose();
        }

        run.Key(client, "TcpExt", "HalfOpenQueued", "connects that waited for a half-open slot (Wirestack's own counter)");
        run.Key(client, "Tcp", "ActiveOpens", "SYNs that went out: connects started");
        run.Key(client, "Tcp", "AttemptFails", "connects that failed (the dead peers)");
        run.Key(client, "TcpExt", "TCPSynRetrans", "SYNs sent again to the dead peers");
        run.Summary($"a. {Connects} connects at once left {Limit} at a time; each wave took one round trip, so all were up by {ScenarioRun.S(wave * 1000)} ms instead of 10.");
        run.Summary($"b. {Limit} connects to dead peers filled every slot; the {Live} connects to a live server behind them waited {ScenarioRun.S(waited)} s,");
        run.Summary("   until the dead ones gave up (ETIMEDOUT at 127 s). This is why a busy P2P or Tor node on Windows XP saw outbound connects fail or crawl");
        run.Summary("   (event 4226). With HalfOpenFailFast the connects over the cap fail at once instead of waiting.");
        return run.Finish();
    }
}
