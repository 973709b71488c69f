using System.Net;
using System.Net.Sockets;
using Wirestack.IP;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Simulation.Scenarios;

/// <summary>Seed 003 (IPsec larvae): a connect through a route whose security association is still being negotiated.
/// A non-blocking connect returns EINPROGRESS at once, always. With LarvalDrop on (Linux's xfrm_larval_drop = 1)
/// the SYNs sent meanwhile are dropped and the SYN retransmitted after the route is ready gets through; with it off
/// the SYN waits in a queue and leaves when the route completes. A blocking connect simply blocks until done.</summary>
public sealed class LarvalScenario : IScenario
{
    public static readonly TimeSpan KeyManagerDelay = TimeSpan.FromSeconds(2.5);

    public string Name => "larval";

    public string Description => "connect through a route still being set up (an IPsec SA): EINPROGRESS at once; SYNs dropped (LarvalDrop) or queued until the route is ready";

    public ScenarioResult Run(ScenarioOptions options)
    {
        var run = new ScenarioRun(this, options);
        NetStack client = run.Host("client");
        NetStack server = run.Host("server");
        var wire = run.Wire(client, "10.0.0.1/24", server, "10.0.0.2/24");
        using var listener = new NetSocket(server, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 37320));
        listener.Listen(8);
        run.WatchTcp(wire, p => p.IsSyn ? $"receives SYN from {p.From}" : p.IsSynAck ? $"receives SYN,ACK from {p.From}" : null);
        client.Ip.Routes.TryLookup(new IPv4Address(10, 0, 0, 2), out Route? route);

        Part a = Play(run, client, route!, "a", larvalDrop: true, blocking: false);
        run.RunFor(TimeSpan.FromSeconds(10) - (run.Sim.Now - Instant.Zero));
        Part b = Play(run, client, route!, "b", larvalDrop: false, blocking: false);
        run.RunFor(TimeSpan.FromSeconds(20) - (run.Sim.Now - Instant.Zero));
        Part c = Play(run, client, route!, "c", larvalDrop: true, blocking: true);

        run.Check(a.Returned == SocketError.InProgress && a.ReturnedAfter == 0, "a. non-blocking connect returns EINPROGRESS at once");
        run.Check(Near(a.EstablishedAfter, 3.01), $"a. with LarvalDrop the SYNs at 0 and 1 s are dropped; the one at 3 s gets through: connected at 3.01 s ({ScenarioRun.S(a.EstablishedAfter)} s)");
        run.Check(a.Dropped == 2 && a.Queued == 0, $"a. two SYNs dropped while the route was larval ({a.Dropped} dropped, {a.Queued} queued)");
        run.Check(b.Returned == SocketError.InProgress && b.ReturnedAfter == 0, "b. non-blocking connect returns EINPROGRESS at once, LarvalDrop or not");
        run.Check(Near(b.EstablishedAfter, 2.51), $"b. without LarvalDrop the SYN waits and leaves when the route completes at 2.5 s: connected at 2.51 s ({ScenarioRun.S(b.EstablishedAfter)} s)");
        run.Check(b.Queued >= 1 && b.Dropped == 0, $"b. the SYN (and its retransmission) were queued, none dropped ({b.Queued} queued, {b.Dropped} dropped)");
        run.Check(c.Returned == SocketError.Success && Near(c.ReturnedAfter, 3.01), $"c. a blocking connect blocks until it is done: returns 0 after 3.01 s ({ScenarioRun.S(c.ReturnedAfter)} s)");
        foreach ((string name, Part part) in new[] { ("a", a), ("b", b), ("c", c) })
        {
            run.Fact($"{name}_connect_returned_s", part.ReturnedAfter);
            run.Fact($"{name}_established_s", part.EstablishedAfter);
            run.Fact($"{name}_syns_dropped", part.Dropped);
            run.Fact($"{name}_syns_queued", part.Queued);
        }

        run.Key(client, "Ip", "OutLarvalDrops", "packets dropped because their route was still being set up");
        run.Key(client, "Ip", "OutLarvalQueued", "packets held until their route was ready");
        run.Key(client, "TcpExt", "TCPSynRetrans", "SYNs sent again (covering the drops)");
        run.Key(client, "Tcp", "ActiveOpens", "connects");
        run.Summary("connect() never waits for a route when the socket is non-blocking: it returned EINPROGRESS at once in a and b (seed 003's rtorrent");
        run.Summary("hung because Linux's blocking of larval routes made a non-blocking connect block).");
        run.Summary($"a. LarvalDrop on: SYNs at 0 and 1 s dropped (OutLarvalDrops), the retransmission at 3 s found the route ready: connected at {ScenarioRun.S(a.EstablishedAfter)} s.");
        run.Summary($"b. LarvalDrop off: the SYN waited (OutLarvalQueued) and left the moment the key manager finished: connected at {ScenarioRun.S(b.EstablishedAfter)} s.");
        run.Summary($"c. A blocking connect is allowed to wait: it returned after {ScenarioRun.S(c.ReturnedAfter)} s.");
        return run.Finish();
    }

    private static bool Near(double value, double expected) => Math.Abs(value - expected) < 0.0015;

    private sealed record Part(SocketError Returned, double ReturnedAfter, double EstablishedAfter, long Dropped, long Queued);

    private static Part Play(ScenarioRun run, NetStack client, Route route, string name, bool larvalDrop, bool blocking)
    {
        Instant start = run.Sim.Now;
        long droppedBefore = client.Counters.Ip.OutLarvalDrops;
        long queuedBefore = client.Counters.Ip.OutLarvalQueued;
        lock (client.SyncRoot)
        {
            client.Options.Ip.LarvalDrop = larvalDrop;
            client.Ip.PendingRoutes.Begin(route);
        }

        run.Note(client, $"{name}. the route to 10.0.0.0/24 needs an IPsec SA: larval until the key manager finishes ({ScenarioRun.S(KeyManagerDelay)} s); " +
            $"LarvalDrop {(larvalDrop ? "on (xfrm_larval_drop = 1)" : "off (xfrm_larval_drop = 0)")}");
        run.After(KeyManagerDelay, () =>
        {
            lock (client.SyncRoot)
            {
                int held = client.Ip.PendingRoutes.HeldCount(route);
                client.Ip.PendingRoutes.Complete(route, run.Sim.Now);
                run.Note("keymgr", $"{name}. SA established: the route is ready{(held > 0 ? $"; {held} held packet(s) leave now" : "")}");
            }
        });

        var socket = new NetSocket(client, SocketType.Stream) { Blocking = blocking };
        run.Trace(client, $"{name}.socket", socket.Connection!, e => e.Kind is "state" or "rexmit");
        SocketError returned = socket.Connect(new IPv4Address(10, 0, 0, 2), 37320);
        double returnedAfter = (run.Sim.Now - start).TotalSeconds;
        run.Note(client, $"{name}. {(blocking ? "blocking" : "non-blocking")} connect() returns {(returned == SocketError.Success ? "0" : SocketErrors.ToErrno(returned))} " +
            (returnedAfter == 0 ? "at once" : $"after {ScenarioRun.S(returnedAfter)} s"));
        run.RunUntil(() => socket.Connection!.State == TcpState.Established, TimeSpan.FromSeconds(30));
        double established = (run.Sim.Now - start).TotalSeconds;
        if (!blocking)
        {
            run.Note(client, $"{name}. the socket polls writable: connected {ScenarioRun.S(established)} s after connect()");
        }

        run.StopTrace(client, socket.Connection!);
        socket.Dispose();
        return new Part(returned, Math.Round(returnedAfter, 6), Math.Round(established, 6),
            client.Counters.Ip.OutLarvalDrops - droppedBefore, client.Counters.Ip.OutLarvalQueued - queuedBefore);
    }
}
