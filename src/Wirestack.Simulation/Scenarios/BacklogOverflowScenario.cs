using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Wire;

namespace Wirestack.Simulation.Scenarios;

/// <summary>Seed 004 §1.4 and §3.1: a server listens with a small backlog and never accepts. Clients connecting at
/// once all complete their handshake from their side, but the server's accept queue holds only backlog + 1; the
/// final ACKs of the others are dropped (ListenOverflows, ListenDrops). Those clients think they are connected,
/// write, and get ECONNRESET once the server no longer recognises them.</summary>
public sealed class BacklogOverflowScenario : IScenario
{
    public const int Backlog = 2;
    public const int Clients = 6;

    public string Name => "backlog-overflow";

    public string Description => $"a server that never accepts (backlog {Backlog}); {Clients} clients connect at once; those beyond the accept queue think they are connected, write, and get ECONNRESET";

    public ScenarioResult Run(ScenarioOptions options)
    {
        var run = new ScenarioRun(this, options);
        NetStack clientHost = run.Host("client");
        NetStack serverHost = run.Host("server");
        var wire = run.Wire(clientHost, "10.0.0.1/24", serverHost, "10.0.0.2/24");
        var server = IPv4Address.Parse("10.0.0.2");
        run.WatchTcp(wire, p =>
            p.IsSyn ? $"receives SYN from {p.From}" :
            p.IsSynAck ? $"receives SYN,ACK from {p.From} for {p.To}" :
            p.IsRst ? $"receives RST from {p.From} (for {p.To})" : null);

        using var listener = new NetSocket(serverHost, SocketType.Stream);
        listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Any, 80));
        listener.Listen(Backlog);
        run.Note(serverHost, $"listen(backlog {Backlog}) on port 80, and never calls accept(); the accept queue holds backlog + 1 = {Backlog + 1}");

        var clients = new List<NetSocket>();
        for (int i = 0; i < Clients; i++)
        {
            var c = new NetSocket(clientHost, SocketType.Stream) { Blocking = false };
            SocketError e = c.Connect(server, 80);
            clients.Add(c);
            run.Note(clientHost, $"c{i + 1} (port {c.Connection!.Tuple.LocalPort}) connect() to {server}:80, non-blocking: {SocketErrors.ToErrno(e)}");
        }

        bool allConnected = run.RunUntil(() => clients.All(c => (c.Readiness & SocketReadiness.Writable) != 0), TimeSpan.FromSeconds(5));
        run.RunFor(TimeSpan.FromMilliseconds(20));
        run.Note(clientHost, $"every client socket polls writable: all {clients.Count(c => c.Connected)} think they are connected (ESTAB)");
        run.Check(allConnected && clients.All(c => c.Connected), "every client completes its handshake");
        run.Sockets(serverHost, "the server after the handshakes (ss -tan: a listener's Recv-Q is its accept queue, Send-Q its backlog)");
        run.Sockets(clientHost, "the clients: all ESTAB");

        // Which clients the server really has: the connections in its accept queue (or still half-open).
        HashSet<(ushort, ushort)> known;
        lock (serverHost.SyncRoot)
        {
            known = serverHost.Tcp.Connections.Select(c => (c.Tuple.RemotePort, c.Tuple.LocalPort)).ToHashSet();
        }

        var phantoms = clients.Where(c => !known.Contains((c.Connection!.Tuple.LocalPort, (ushort)80))).ToList();
        int queued = listener.Listener!.AcceptQueueLength;
        run.Note(serverHost, $"accept queue: {queued} waiting; the final ACK of {phantoms.Count} clients was dropped (accept queue full)");
        run.Check(queued == Backlog + 1, $"the accept queue holds backlog + 1 = {Backlog + 1} (holds {queued})");
        run.Check(phantoms.Count == Clients - Backlog - 1, $"{Clients - Backlog - 1} clients are unknown to the server ({phantoms.Count})");
        if (phantoms.Count > 0)
        {
            run.Trace(clientHost, $"c{clients.IndexOf(phantoms[0]) + 1}", phantoms[0].Connection!, e => e.Kind is "state" or "rexmit");
        }

        byte[] hello = "hello\n"u8.ToArray();
        for (int i = 0; i < clients.Count; i++)
        {
            int n = clients[i].Send(hello, out SocketError e);
            if (i == 0 || clients[i] == phantoms.FirstOrDefault())
            {
                run.Note(clientHost, $"c{i + 1} send(\"hello\\n\") = {n}{(e == SocketError.Success ? "" : " " + SocketErrors.ToErrno(e))}");
            }
        }

        run.Note(clientHost, "every client writes 6 bytes, and every send() succeeds: the data is only queued");
        bool allReset = run.RunUntil(() => phantoms.All(p => p.Connection!.PendingError != SocketError.Success), TimeSpan.FromSeconds(400));
        run.Check(allReset, "every client the server does not know ends with an error");
        foreach (NetSocket c in clients)
        {
            int index = clients.IndexOf(c) + 1;
            byte[] buffer = new byte[64];
            if (c.Connection!.PendingError == SocketError.Success)
            {
                continue;
            }

            c.Receive(buffer, out SocketError e);
            run.Error(clientHost, $"c{index} {ScenarioRun.Endpoints(c.Connection)} recv()", e, c.ErrorCause);
            run.Check(e == SocketError.ConnectionReset, $"c{index}'s recv() reports ECONNRESET (got {SocketErrors.ToErrno(e)})");
        }

        run.Sockets(serverHost, "the server at the end: the queued connections hold the clients' 6 bytes, unread");
        run.Fact("accept_queue", queued);
        run.Fact("phantom_clients", phantoms.Count);
        run.Fact("reset_clients", clients.Count(c => c.Connection!.PendingError == SocketError.ConnectionReset));
        run.Fact("first_reset_s", run.Sim.Now.Microseconds / 1e6);

        long overflows;
        lock (serverHost.SyncRoot)
        {
            overflows = serverHost.Counters.Tcp.ListenOverflows;
        }

        run.Check(overflows >= phantoms.Count, $"ListenOverflows counts at least each dropped handshake ({overflows})");
        run.Key(serverHost, "TcpExt", "ListenOverflows", "times the accept queue was full (handshake ACKs and data dropped)");
        run.Key(serverHost, "TcpExt", "ListenDrops", "segments the listener dropped");
        run.Key(serverHost, "TcpExt", "TCPReqQFullDoCookies", "SYNs answered with a cookie: the SYN queue (backlog) was full too");
        run.Key(serverHost, "TcpExt", "SyncookiesSent", "SYN cookies sent");
        run.Key(serverHost, "TcpExt", "SyncookiesRecv", "ACKs that carried a valid cookie");
        run.Key(serverHost, "TcpExt", "SyncookiesFailed", "ACKs whose cookie had expired: answered with RST");
        run.Key(serverHost, "Tcp", "OutRsts", "resets sent");
        run.Key(clientHost, "Tcp", "EstabResets", "established connections reset by the peer");
        run.Key(clientHost, "Tcp", "RetransSegs", "the clients' data sent again while the server dropped it");

        foreach (NetSocket c in clients)
        {
            c.Dispose();
        }

        run.Summary($"All {Clients} clients completed the handshake from their side, but the server's accept queue holds backlog + 1 = {Backlog + 1}.");
        run.Summary($"The handshake ACKs of {phantoms.Count} were dropped (ListenOverflows {overflows}); those clients sat in ESTAB, their writes 'succeeded',");
        run.Summary("and the data was dropped too, retransmitted until the server no longer recognised the connection (its SYN cookie expired) and answered RST:");
        run.Summary("ECONNRESET, \"connection reset by peer\", long after connect() said all was well. Look at the server's ListenOverflows, not the client.");
        return run.Finish();
    }
}
