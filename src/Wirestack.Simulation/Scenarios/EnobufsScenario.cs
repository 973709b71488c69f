using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Wirestack.Buffers;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Wire;

namespace Wirestack.Simulation.Scenarios;

/// <summary>Seed 000 (Tor's WSAENOBUFS): a relay carries hundreds of connections on a small memory budget. Most
/// users stop reading for a while, so what the relay forwards to them piles up in its send buffers until the
/// budget is spent: its non-blocking sends get ENOBUFS. Nothing else breaks: the users who do read keep receiving,
/// the relay retries, every byte arrives, and once all is closed (TIME-WAIT included) the budget is back to 0.</summary>
public sealed class EnobufsScenario : IScenario
{
    public const int Users = 200;
    public const int FastUsers = 20;
    public const int BytesPerUser = 16 * 1024;
    public const int RelayBudget = 512 * 1024;
    public const int ChunkSize = 4096;
    public static readonly TimeSpan SlowUsersWait = TimeSpan.FromSeconds(2);

    public string Name => "enobufs";

    public string Description => $"a relay with {Users} connections on a {RelayBudget / 1024} KiB budget: ENOBUFS on its non-blocking sends, the other connections keep moving, everything recovers";

    public ScenarioResult Run(ScenarioOptions options)
    {
        var run = new ScenarioRun(this, options);
        NetStack users = run.Host("users");
        NetStack relay = run.Host("relay", o =>
        {
            o.MemoryBudgetBytes = RelayBudget;
            o.Tcp.SocketChunkSize = ChunkSize;
        });
        NetStack origin = run.Host("origin");
        // big rx rings: this story is about the budget, not about bursts overflowing a NIC ring (see ring-overflow)
        run.Wire(users, "10.0.0.1/24", relay, "10.0.0.2/24", rxRing: 4096);
        run.Wire(relay, "10.0.1.2/24", origin, "10.0.1.3/24", rxRing: 4096);
        run.Note(relay, $"a relay (like a Tor node) with a memory budget of {RelayBudget / 1024} KiB for all its buffers; socket buffers grow in {ChunkSize / 1024} KiB chunks, " +
            "and each connection may always hold one (its reserve)");

        var state = new Relay(run, relay);
        using var relayListener = new NetSocket(relay, SocketType.Stream) { Blocking = false };
        relayListener.Bind(new IPEndPoint(IPAddress.Any, 9001));
        relayListener.Listen(1024);
        using var originListener = new NetSocket(origin, SocketType.Stream) { Blocking = false };
        originListener.Bind(new IPEndPoint(IPAddress.Any, 80));
        originListener.Listen(1024);
        relayListener.ReadinessChanged += _ => run.Sim.Post(() => state.AcceptUsers(relayListener));
        originListener.ReadinessChanged += _ => run.Sim.Post(() => state.AcceptAtOrigin(originListener));

        // The users: FastUsers read as data comes; the rest connect, then do not read for a while.
        var clients = new List<(NetSocket Socket, SocketDrain Drain, bool Fast)>();
        for (int i = 0; i < Users; i++)
        {
            var socket = new NetSocket(users, SocketType.Stream) { Blocking = false };
            socket.Connection!.SetReceiveBufferSize(2048); // a small window: what the relay forwards waits in the relay
            socket.Connect(new IPv4Address(10, 0, 0, 2), 9001);
            bool fast = i % (Users / FastUsers) == 0;
            clients.Add((socket, new SocketDrain(run.Sim, socket, paused: !fast), fast));
        }

        run.Note(users, $"{Users} users connect to the relay; each is relayed to the origin, which sends it {BytesPerUser / 1024} KiB");
        run.Note(users, $"{FastUsers} users read as the data comes; the other {Users - FastUsers} read nothing for {ScenarioRun.S(SlowUsersWait)} s");
        var expected = new Dictionary<int, byte[]>();

        // Watch the pressure: when the budget first runs out, and how the fast users fare meanwhile.
        bool fastDoneNoted = false;
        run.RunUntil(() =>
        {
            if (!fastDoneNoted && clients.Where(c => c.Fast).All(c => c.Drain.Finished))
            {
                fastDoneNoted = true;
                run.Note(users, $"all {FastUsers} reading users have their {BytesPerUser / 1024} KiB, while the relay's budget is spent " +
                    $"({state.EnobufsCount} ENOBUFS so far)");
            }

            return false;
        }, SlowUsersWait);
        run.Sockets(relay, $"the relay at {ScenarioRun.S(SlowUsersWait)} s (ss -tn): user-side Send-Q piled up, waiting for users who do not read",
            r => r.Local.EndsWith(":9001", StringComparison.Ordinal) && r.State == "ESTAB", max: 6);
        long inUseAtPeak = relay.Budget.InUse;
        run.Note(relay, $"budget {relay.Budget.InUse} of {RelayBudget} bytes in use (send buffers {relay.Budget.InUseFor(BudgetCause.SendBuffer)}, " +
            $"receive buffers {relay.Budget.InUseFor(BudgetCause.ReceiveBuffer)}; {relay.Budget.ReserveInUse} of it per-connection reserves); {state.EnobufsCount} sends got ENOBUFS");
        int fastFinished = clients.Count(c => c.Fast && c.Drain.Finished);
        int slowProgressed = clients.Count(c => !c.Fast && c.Drain.BytesReceived > 0);

        foreach (var c in clients.Where(c => !c.Fast))
        {
            c.Drain.Paused = false;
        }

        run.Note(users, $"the other {Users - FastUsers} users start reading");
        bool done = run.RunUntil(() => clients.All(c => c.Drain.Finished), TimeSpan.FromSeconds(120));
        run.Note(users, $"every user has reached the end of its stream ({(done ? "all" : "NOT all")})");
        int intact = 0;
        for (int i = 0; i < clients.Count; i++)
        {
            byte[] data = OriginData(clients[i].Socket.Connection!.Tuple.LocalPort);
            if (clients[i].Drain.Error == SocketError.Success && clients[i].Drain.BytesReceived == data.Length &&
                clients[i].Drain.Digest.AsSpan().SequenceEqual(SHA256.HashData(data)))
            {
                intact++;
            }
        }

        run.Note(users, $"{intact} of {Users} streams arrived intact (SHA-256 of {BytesPerUser} bytes each)");
        foreach (var c in clients)
        {
            c.Socket.Close();
            c.Drain.Dispose();
        }

        run.RunUntil(() => state.AllClosed, TimeSpan.FromSeconds(10));
        run.Note(relay, $"all connections closed; budget in use: relay {relay.Budget.InUse}, users {users.Budget.InUse}, origin {origin.Budget.InUse} bytes " +
            $"(TIME-WAIT connections: {CountTimeWait(users) + CountTimeWait(relay) + CountTimeWait(origin)})");
        run.RunFor(TimeSpan.FromSeconds(61));
        int remaining = users.Tcp.ConnectionCount + relay.Tcp.ConnectionCount + origin.Tcp.ConnectionCount;
        run.Note(relay, $"after TIME-WAIT: {remaining} connections left; budget in use: relay {relay.Budget.InUse}, users {users.Budget.InUse}, origin {origin.Budget.InUse} bytes");

        run.Fact("enobufs", state.EnobufsCount);
        run.Fact("enobufs_connections", state.EnobufsConnections.Count);
        run.Fact("relay_budget_peak", relay.Budget.HighWater);
        run.Fact("relay_budget_at_pressure", inUseAtPeak);
        run.Fact("fast_users_finished_during_pressure", fastFinished);
        run.Fact("intact_streams", intact);
        run.Fact("relay_budget_end", relay.Budget.InUse);
        run.Check(state.EnobufsCount > 0, $"the relay's non-blocking sends got ENOBUFS ({state.EnobufsCount})");
        run.Check(fastFinished == FastUsers, $"the users who read kept moving: {fastFinished} of {FastUsers} got everything while the budget was spent");
        run.Check(intact == Users, $"every stream arrived intact ({intact} of {Users})");
        run.Check(relay.Budget.InUse == 0 && users.Budget.InUse == 0 && origin.Budget.InUse == 0, "every budget is back to 0 after close and TIME-WAIT");
        run.Check(remaining == 0, "no connection is left");

        run.Key(relay, "Stack", "ENOBUFS.SendBuffer", "send-buffer charges refused: the ENOBUFS the relay's sends saw");
        run.Key(relay, "Stack", "ENOBUFS.ReceiveBuffer", "receive-buffer charges refused (data dropped, the sender resends)");
        run.Key(relay, "Stack", "BudgetHighWater", "the most of the budget ever in use (reserves count beyond the limit)");
        run.Key(relay, "Stack", "BudgetInUse", "in use at the end");
        run.Key(relay, "TcpExt", "TCPRcvQDrop", "segments dropped for want of receive memory");
        run.Key(relay, "Tcp", "RetransSegs", "segments the relay sent again");
        run.Key(origin, "Tcp", "RetransSegs", "segments the origin sent again");
        run.Key(relay, "Tcp", "PassiveOpens", "user connections the relay accepted");
        run.Key(relay, "Tcp", "ActiveOpens", "connections it opened to the origin");

        ScenarioError? first = state.FirstError;
        run.Summary($"With {Users - FastUsers} users not reading, the relay's send buffers filled its {RelayBudget / 1024} KiB budget: {state.EnobufsCount} non-blocking sends on " +
            $"{state.EnobufsConnections.Count} connections returned ENOBUFS{(first is null ? "" : $" (the first at {ScenarioRun.S(first.T)} s)")}.");
        run.Summary($"Nothing else broke: each connection kept its reserve chunk, so the {FastUsers} reading users got all their data meanwhile ({fastFinished} finished),");
        run.Summary("the relay simply retried later, and when the others read, every one of the streams arrived intact.");
        run.Summary($"After close and TIME-WAIT every budget is back to 0 (relay {relay.Budget.InUse} bytes): no leak, no reboot (seed 000's outage, avoided).");
        return run.Finish();
    }

    private static int CountTimeWait(NetStack host) => host.Tcp.Connections.Count(c => c.State == Tcp.TcpState.TimeWait);

    /// <summary>What the origin sends on a connection: derived from the user's index and port, so the user can check it.</summary>
    internal static byte[] OriginData(int userPort)
    {
        byte[] data = new byte[BytesPerUser];
        new Random(userPort * 7919).NextBytes(data);
        return data;
    }

    /// <summary>The relay's event loop: one pump per user, forwarding origin → user with non-blocking calls.</summary>
    private sealed class Relay(ScenarioRun run, NetStack relay)
    {
        private readonly List<Pump> _pumps = [];

        public long EnobufsCount { get; set; }

        public HashSet<int> EnobufsConnections { get; } = [];

        public ScenarioError? FirstError { get; set; }

        public bool AllClosed => _pumps.All(p => p.Closed);

        public string Describe(int userPort) => string.Join(" | ", _pumps.Select(p => p.ToString()).Where(t => t.Contains($"port={userPort} ", StringComparison.Ordinal)));

        public void AcceptUsers(NetSocket listener)
        {
            while (listener.Accept(out SocketError _) is { } user)
            {
                var upstream = new NetSocket(relay, SocketType.Stream) { Blocking = false };
                upstream.Connection!.SetReceiveBufferSize(8192);
                upstream.Connect(new IPv4Address(10, 0, 1, 3), 80);
                var pump = new Pump(this, run, relay, _pumps.Count, user, upstream);
                _pumps.Add(pump);
            }
        }

        public void AcceptAtOrigin(NetSocket listener)
        {
            while (listener.Accept(out SocketError _) is { } connection)
            {
                // the origin knows which user this is for by the relay's order of connects: it is told by a header
                connection.Connection!.SetSendBufferSize(BytesPerUser * 2);
                _originPending.Add(connection);
                connection.Blocking = false;
                connection.ReadinessChanged += _ => run.Sim.Post(() => ServeOrigin(connection));
                ServeOrigin(connection);
            }
        }

        private readonly List<NetSocket> _originPending = [];

        /// <summary>The origin reads the 4-byte request (the user's port), answers with the data and closes.</summary>
        private void ServeOrigin(NetSocket connection)
        {
            if (!_originPending.Contains(connection))
            {
                return;
            }

            byte[] request = new byte[4];
            int n = connection.Receive(request, out SocketError error);
            if (error != SocketError.Success || n < 4)
            {
                return; // the request comes in one segment
            }

            _originPending.Remove(connection);
            connection.Send(OriginData(BitConverter.ToInt32(request, 0)), out _);
            connection.Close(); // FIN after the data; the stack finishes the connection
        }

        private sealed class Pump
        {
            private readonly Relay _relay;
            private readonly ScenarioRun _run;
            private readonly NetStack _host;
            private readonly int _index;
            private readonly NetSocket _user;
            private readonly NetSocket _upstream;
            private readonly byte[] _buffer = new byte[ChunkSize];
            private int _pendingOffset;
            private int _pendingLength;
            private bool _requestSent;
            private bool _upstreamEnded;
            private bool _userEnded;
            private bool _posted;
            private bool _retryArmed;

            public Pump(Relay relay, ScenarioRun run, NetStack host, int index, NetSocket user, NetSocket upstream)
            {
                _relay = relay;
                _run = run;
                _host = host;
                _index = index;
                _user = user;
                _upstream = upstream;
                user.Blocking = false;
                user.Connection!.SetSendBufferSize(128 * 1024); // a relay wants throughput: room to queue for slow users
                user.ReadinessChanged += _ => Schedule();
                upstream.ReadinessChanged += _ => Schedule();
                Schedule();
            }

            public bool Closed { get; private set; }

            public override string ToString() => $"port={_user.RemoteEndPoint?.Port} req={_requestSent} pend={_pendingLength} upEnd={_upstreamEnded} userEnd={_userEnded} posted={_posted} retry={_retryArmed} up={_upstream.Connection} user={_user.Connection}";

            private void Schedule()
            {
                if (_posted || Closed)
                {
                    return;
                }

                _posted = true;
                _run.Sim.Post(Run);
            }

            private void Run()
            {
                _posted = false;
                if (Closed)
                {
                    return;
                }

                if (!_requestSent && _upstream.Connected)
                {
                    // tell the origin which user this is (its port), so the user can check what it gets
                    byte[] request = new byte[4];
                    BitConverter.TryWriteBytes(request, _user.RemoteEndPoint!.Port);
                    _upstream.Send(request, out _);
                    _requestSent = true;
                }

                while (true)
                {
                    if (_pendingLength == 0 && !_upstreamEnded && _requestSent)
                    {
                        int n = _upstream.Receive(_buffer, out SocketError readError);
                        if (readError == SocketError.Success && n == 0)
                        {
                            _upstreamEnded = true;
                            _upstream.Close();
                        }
                        else if (readError == SocketError.Success)
                        {
                            _pendingOffset = 0;
                            _pendingLength = n;
                        }
                    }

                    if (_pendingLength == 0)
                    {
                        break;
                    }

                    int sent = _user.Send(_buffer.AsSpan(_pendingOffset, _pendingLength), out SocketError error);
                    if (error == SocketError.NoBufferSpaceAvailable)
                    {
                        OnEnobufs();
                        return;
                    }

                    if (error != SocketError.Success || sent == 0)
                    {
                        break; // EAGAIN: wait for writability
                    }

                    _pendingOffset += sent;
                    _pendingLength -= sent;
                }

                if (_upstreamEnded && _pendingLength == 0 && !_userEnded)
                {
                    _userEnded = true;
                    _user.Shutdown(SocketShutdown.Send);
                }

                if (_userEnded)
                {
                    // wait for the user's FIN, then close
                    int n = _user.Receive(new byte[16], out SocketError e);
                    if ((e == SocketError.Success && n == 0) || (e != SocketError.Success && e != SocketError.WouldBlock))
                    {
                        _user.Close();
                        Closed = true;
                    }
                }
            }

            private void OnEnobufs()
            {
                _relay.EnobufsCount++;
                _relay.EnobufsConnections.Add(_index);
                if (_relay.FirstError is null)
                {
                    MemoryBudget b = _host.Budget;
                    string why = $"the relay's memory budget is spent: {b.InUse} bytes in use of {b.Limit} " +
                        $"(send buffers {b.InUseFor(BudgetCause.SendBuffer)}, receive buffers {b.InUseFor(BudgetCause.ReceiveBuffer)}, " +
                        $"{b.ReserveInUse} of it per-connection reserves); socket buffers may use {b.Limit - b.TransitReserve}, " +
                        $"the rest is kept for packets in transit; {b.FailuresFor(BudgetCause.SendBuffer)} send-buffer charge(s) refused so far";
                    _run.Error(_host, $"relay→user{_index} {ScenarioRun.Endpoints(_user.Connection!)} send()", SocketError.NoBufferSpaceAvailable,
                        _user.ErrorCause, why);
                    _relay.FirstError = new ScenarioError(_run.T, _host.Name, "", "", "", why);
                    _run.Note(_host, $"first ENOBUFS, on the send to user {_index}: it keeps the data and tries again in 50 ms");
                }

                if (!_retryArmed)
                {
                    _retryArmed = true;
                    _run.After(TimeSpan.FromMilliseconds(50), () =>
                    {
                        _retryArmed = false;
                        Schedule();
                    });
                }
            }
        }
    }
}
