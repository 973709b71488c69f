using System.Diagnostics;
using System.Net.Sockets;
using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Wire;

namespace Wirestack.Cli.Bench;

/// <summary>Wirestack's side of every measurement: two hosts in this process on an in-memory wire
/// (<see cref="WirestackPair"/>), driven in a tight loop on one thread.</summary>
internal static class WirestackBenchmarks
{
    /// <summary>Send and receive buffers of every bulk connection (SO_SNDBUF/SO_RCVBUF as getsockopt shows them,
    /// set past rmem_max with <see cref="TcpConnection.SetBufferSizesUnclamped"/>): 4 MiB, 2 MiB of it usable
    /// window.</summary>
    public const int BulkBufferBytes = 4 << 20;

    /// <summary>The socket buffers of each of <paramref name="connections"/> bulk connections.</summary>
    public static int BulkBufferFor(int connections) => connections == 1 ? BulkBufferBytes : BulkBufferBytes / 4;

    /// <summary>The application's read and write size.</summary>
    public const int AppChunkBytes = 64 * 1024;

    private const ushort Port = 5001;

    /// <summary>Steps taken while one exchange had already lasted more than 100 ms (a stall: a retransmission
    /// timeout, or the process descheduled).</summary>
    public static long SlowSteps { get; private set; }

    /// <summary>Bulk throughput of <paramref name="connections"/> connections from a to b: every sender writes
    /// as much as its socket takes, then the stacks are stepped, then every receiver reads all it can.</summary>
    public static BulkFigure Bulk(int mtu, int connections, TimeSpan warmup, TimeSpan measure, int bufferBytes = BulkBufferBytes,
        int gsoMaxSize = WirestackPair.DefaultGsoMaxSize)
    {
        var pair = new WirestackPair(mtu, gsoMaxSize: gsoMaxSize);
        NetSocket listener = pair.Listen(Port);
        var clients = new NetSocket[connections];
        var servers = new NetSocket[connections];
        for (int i = 0; i < connections; i++)
        {
            (clients[i], servers[i]) = pair.Connect(listener, Port);
            clients[i].Connection!.SetBufferSizesUnclamped(bufferBytes, bufferBytes);
            servers[i].Connection!.SetBufferSizesUnclamped(bufferBytes, bufferBytes);
        }

        byte[] source = new byte[AppChunkBytes];
        new Random(1).NextBytes(source);
        byte[] sink = new byte[AppChunkBytes];
        long received = 0;
        long receivedAtStart = 0;
        long segmentsAtStart = 0;
        long allocatedAtStart = 0;
        int gen0AtStart = 0;
        TimeSpan cpuAtStart = default;
        long start = Stopwatch.GetTimestamp();
        long measureStart = 0;
        var gate = new WarmupGate(warmup);
        long measureTicks = Ticks(measure);
        while (true)
        {
            for (int i = 0; i < clients.Length; i++)
            {
                while (clients[i].Send(source, out SocketError _) == source.Length)
                {
                }
            }

            pair.Step();
            for (int i = 0; i < servers.Length; i++)
            {
                int n;
                while ((n = servers[i].Receive(sink, out SocketError _)) > 0)
                {
                    received += n;
                }
            }

            pair.Step();
            long now = Stopwatch.GetTimestamp() - start;
            if (measureStart == 0 && gate.IsOver(now))
            {
                measureStart = now;
                receivedAtStart = received;
                segmentsAtStart = pair.Wire.CountersAToB.Sent;
                allocatedAtStart = GC.GetAllocatedBytesForCurrentThread();
                gen0AtStart = GC.CollectionCount(0);
                cpuAtStart = CpuTime.Process();
            }
            else if (measureStart != 0 && now - measureStart >= measureTicks)
            {
                double seconds = (double)(now - measureStart) / Stopwatch.Frequency;
                long bytes = received - receivedAtStart;
                return new BulkFigure(bytes * 8 / seconds / 1e9, bytes, seconds, pair.Wire.CountersAToB.Sent - segmentsAtStart,
                    pair.A.Counters.Tcp.RetransSegs, pair.Wire.A.Counters.RxMissed + pair.Wire.B.Counters.RxMissed,
                    clients[0].Connection!.Mss, GC.GetAllocatedBytesForCurrentThread() - allocatedAtStart, GC.CollectionCount(0) - gen0AtStart,
                    (CpuTime.Process() - cpuAtStart).TotalSeconds, gate.Settled);
            }
        }
    }

    /// <summary>Connections per second, one at a time: connect, accept, the client sends one byte, the server
    /// reads it, answers one byte and closes first (so TIME-WAIT sits on the server, as with a web server), the
    /// client reads the byte and the end of stream and closes. Client ports go round-robin through the
    /// ephemeral range (explicit bind), so a 4-tuple comes back only after 28,232 others.</summary>
    /// <remarks><paramref name="ephemeral"/> instead lets connect choose a random ephemeral port (the stack's own
    /// choice), so a 4-tuple can come back while the server still holds it in TIME-WAIT; used to show how
    /// TIME-WAIT recycling behaves (bench-wirestack rate --ephemeral).</remarks>
    public static RateFigure ConnectionRate(TimeSpan warmup, TimeSpan measure, bool ephemeral = false)
    {
        var pair = new WirestackPair(1500);
        NetSocket listener = pair.Listen(Port);
        TcpSettings settings = pair.A.Tcp.Settings;
        int port = settings.EphemeralLow;
        byte[] one = [42];
        byte[] buffer = new byte[16];
        long count = 0;
        long countAtStart = 0;
        long allocatedAtStart = 0;
        TimeSpan cpuAtStart = default;
        long start = Stopwatch.GetTimestamp();
        long measureStart = 0;
        var gate = new WarmupGate(warmup);
        long measureTicks = Ticks(measure);
        long limit = Stopwatch.Frequency * 10;
        while (true)
        {
            var client = new NetSocket(pair.A, SocketType.Stream) { Blocking = false };
            port = port >= settings.EphemeralHigh ? settings.EphemeralLow : port + 1;
            if ((!ephemeral && client.Bind(WirestackPair.AddressA, (ushort)port) != SocketError.Success) ||
                client.Connect(WirestackPair.AddressB, Port) is not (SocketError.InProgress or SocketError.Success))
            {
                client.Close(); // the 4-tuple is still in use (a last ACK on its way): take the next port
                continue;
            }

            long t0 = Stopwatch.GetTimestamp();
            NetSocket? server = null;
            while ((server ??= listener.Accept(out _)) is null || !client.Connected)
            {
                Step(pair, t0, limit, "accept");
            }

            server!.Blocking = false;
            client.Send(one, out _);
            while (server.Receive(buffer, out _) != 1)
            {
                Step(pair, t0, limit, "the request byte");
            }

            server.Send(one, out _);
            server.Close();
            while (client.Receive(buffer, out _) != 1)
            {
                Step(pair, t0, limit, "the reply byte");
            }

            while (client.Receive(buffer, out SocketError error) != 0 || error != SocketError.Success)
            {
                Step(pair, t0, limit, "the server's FIN");
            }

            client.Close();
            count++;
            long now = Stopwatch.GetTimestamp() - start;
            if (measureStart == 0 && gate.IsOver(now))
            {
                measureStart = now;
                countAtStart = count;
                allocatedAtStart = GC.GetAllocatedBytesForCurrentThread();
                cpuAtStart = CpuTime.Process();
            }
            else if (measureStart != 0 && now - measureStart >= measureTicks)
            {
                double seconds = (double)(now - measureStart) / Stopwatch.Frequency;
                return new RateFigure((count - countAtStart) / seconds, count - countAtStart, seconds,
                    pair.B.Counters.Tcp.TWRecycled, pair.A.Counters.Tcp.RetransSegs + pair.B.Counters.Tcp.RetransSegs,
                    GC.GetAllocatedBytesForCurrentThread() - allocatedAtStart, (CpuTime.Process() - cpuAtStart).TotalSeconds, gate.Settled);
            }
        }
    }

    private static void Step(WirestackPair pair, long since, long limitTicks, string what)
    {
        pair.Step();
        long waited = pair.LastClockSample - since; // the step's own clock sample: one clock read per step
        if (waited > Stopwatch.Frequency / 10)
        {
            SlowSteps++;
        }

        if (waited > limitTicks)
        {
            throw new InvalidOperationException($"Wirestack bench: {what} did not arrive within 10 s");
        }
    }

    /// <summary>Round-trip time of a one-byte request and a one-byte answer on one connection (TCP_NODELAY on
    /// both ends), timed one by one after a warm-up (<see cref="WarmupGate"/>).</summary>
    public static LatencyFigure PingPong(int count, TimeSpan warmup)
    {
        var pair = new WirestackPair(1500);
        NetSocket listener = pair.Listen(Port);
        (NetSocket client, NetSocket server) = pair.Connect(listener, Port);
        client.Connection!.NoDelay = true;
        server.Connection!.NoDelay = true;
        byte[] one = [7];
        byte[] buffer = new byte[16];
        long[] samples = new long[count];
        long limit = Stopwatch.Frequency * 10;
        var gate = new WarmupGate(warmup);
        long start = Stopwatch.GetTimestamp();
        bool warm = false;
        long allocatedAtStart = 0;
        for (int i = 0; i < count;)
        {
            long t0 = Stopwatch.GetTimestamp();
            client.Send(one, out _);
            while (server.Receive(buffer, out _) != 1)
            {
                Step(pair, t0, limit, "a ping");
            }

            server.Send(one, out _);
            while (client.Receive(buffer, out _) != 1)
            {
                Step(pair, t0, limit, "a pong");
            }

            long t1 = Stopwatch.GetTimestamp();
            if (warm)
            {
                samples[i++] = t1 - t0;
            }
            else
            {
                warm = gate.IsOver(t1 - start);
                allocatedAtStart = GC.GetAllocatedBytesForCurrentThread();
            }
        }

        return LatencyFigure.From(samples, GC.GetAllocatedBytesForCurrentThread() - allocatedAtStart, gate.Settled);
    }

    /// <summary>Memory held per idle established connection: <paramref name="connections"/> connections between
    /// the two stacks of this process, opened in batches; managed heap (GC.GetTotalMemory(true)) and process RSS
    /// (VmRSS) before and after, divided by the 2 × N endpoints (each connection has both of its ends here).
    /// Client ports are bound explicitly (10000 up) and spread over several listener ports, because one 4-tuple
    /// space (one client address, one server port) holds at most 28,232 ephemeral ports.</summary>
    public static MemoryFigure IdleMemory(int connections, Action<string>? progress)
    {
        const int FirstClientPort = 10_000;
        const int ClientPorts = 50_000;
        const int Batch = 2_000;
        Settle();
        long managedBefore = GC.GetTotalMemory(true);
        long rssBefore = ProcessMemory.ResidentBytes();
        var pair = new WirestackPair(1500, memoryBudgetBytes: 8L << 30, rxRingSlots: 4 * Batch + 64);
        int listenerCount = (connections + ClientPorts - 1) / ClientPorts;
        var listeners = new NetSocket[listenerCount];
        for (int i = 0; i < listenerCount; i++)
        {
            listeners[i] = pair.Listen((ushort)(Port + i));
        }

        var clients = new NetSocket[connections];
        var servers = new NetSocket[connections];
        int accepted = 0;
        long start = Stopwatch.GetTimestamp();
        for (int first = 0; first < connections; first += Batch)
        {
            int end = Math.Min(connections, first + Batch);
            for (int i = first; i < end; i++)
            {
                var client = new NetSocket(pair.A, SocketType.Stream) { Blocking = false, ReuseAddress = true };
                SocketError error = client.Bind(WirestackPair.AddressA, (ushort)(FirstClientPort + i % ClientPorts));
                if (error == SocketError.Success)
                {
                    error = client.Connect(WirestackPair.AddressB, (ushort)(Port + i / ClientPorts));
                }

                if (error is not (SocketError.InProgress or SocketError.Success))
                {
                    throw new InvalidOperationException($"Wirestack bench: connection {i} could not start: {error}");
                }

                clients[i] = client;
            }

            pair.StepUntil(() =>
            {
                foreach (NetSocket listener in listeners)
                {
                    while (accepted < end && listener.Accept(out _) is { } server)
                    {
                        servers[accepted++] = server;
                    }
                }

                return accepted == end;
            }, TimeSpan.FromSeconds(30), $"accepting connections {first}..{end}");
            if (progress is not null && (end % 100_000 == 0 || end == connections) && end >= 100_000)
            {
                progress($"{end:N0} idle Wirestack connections open ({Stopwatch.GetElapsedTime(start).TotalSeconds:0.0} s)");
            }
        }

        for (int i = 0; i < 100 && pair.Step(); i++)
        {
        }

        long established = pair.A.Counters.Tcp.CurrEstab + pair.B.Counters.Tcp.CurrEstab;
        Settle(); // as before the start: a full compacting collection, so both readings are of live data
        long managedAfter = GC.GetTotalMemory(true);
        long rssAfter = ProcessMemory.ResidentBytes();
        GC.KeepAlive(clients);
        GC.KeepAlive(servers);
        GC.KeepAlive(pair);
        double endpoints = 2.0 * connections;
        return new MemoryFigure(connections, established, (managedAfter - managedBefore) / endpoints, (rssAfter - rssBefore) / endpoints,
            0, Stopwatch.GetElapsedTime(start).TotalSeconds);
    }

    /// <summary>A full garbage collection with compaction (large-object heap included), so that the next measurement starts clean.</summary>
    public static void Settle()
    {
        // The large-object heap too (the connection tables and socket arrays grow there, leaving their old arrays
        // behind as free space that would otherwise stay in the process's resident memory).
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    /// <summary>Transfers before a timed <see cref="SimulatedGigabit"/>, untimed, over the <paramref name="path"/>
    /// the timed ones will use: <see cref="SimulatedWarmupRuns"/> of 0.1 GB each (or of <paramref name="bytes"/> when
    /// smaller), so that the JIT has tiered the whole path up (one 0.1 GB run left the loss-recovery code at tier 0:
    /// it runs only in the first phase of a transfer) and the hosts' buffer caches hold what a transfer needs.
    /// Returns the bytes each warm-up transferred.</summary>
    public static long SimulatedWarmUp(long bytes, SimulatedPath path)
    {
        long warmup = Math.Min(bytes, 100_000_000);
        for (int i = 0; i < SimulatedWarmupRuns; i++)
        {
            SimulatedGigabit(warmup, path);
        }

        // What the warm-ups left (their sockets, the JIT's garbage) is collected here, not during the timed
        // transfer, as a benchmark harness collects between iterations.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return warmup;
    }

    /// <summary>How many untimed transfers <see cref="SimulatedWarmUp"/> runs.</summary>
    public const int SimulatedWarmupRuns = 3;

    /// <summary><paramref name="bytes"/> over the simulated 1 Gbit/s link with 10 ms one-way delay (20 ms RTT) of
    /// <paramref name="path"/>, in virtual time: how long it takes on the wall clock against how long it would take
    /// in real time. Timed from the listen and connect to the last byte read; both ends are event-driven
    /// (non-blocking calls run from readiness callbacks on the simulator's context), as a server would be. The
    /// sockets are closed afterwards (untimed), so the path's hosts are ready for the next transfer.</summary>
    public static SimulatedFigure SimulatedGigabit(long bytes, SimulatedPath path)
    {
        Simulator sim = path.Sim;
        NetStack a = path.A;
        long retransmitsBefore = a.Counters.Tcp.RetransSegs;
        long stepsBefore = sim.Steps;
        ushort port = path.NextPort();
        long wallStart = Stopwatch.GetTimestamp();
        TimeSpan cpuStart = CpuTime.Process();
        var listener = new NetSocket(path.B, SocketType.Stream);
        listener.Bind(IPv4Address.Any, port);
        listener.Listen(16);
        var client = new NetSocket(a, SocketType.Stream);
        SocketError error = client.Connect(WirestackPair.AddressB, port);
        if (error != SocketError.Success)
        {
            throw new InvalidOperationException($"Wirestack bench: simulated connect failed: {error}");
        }

        NetSocket server = listener.Accept();
        // BDP = 1 Gbit/s × 20 ms = 2.5 MB: 8 MiB buffers give a 4 MiB window.
        client.Connection!.SetBufferSizesUnclamped(8 << 20, 8 << 20);
        server.Connection!.SetBufferSizesUnclamped(8 << 20, 8 << 20);
        var start = sim.Now;
        var drain = new EventDriven(sim, server, 0);
        var pump = new EventDriven(sim, client, bytes);
        sim.RunUntil(() => drain.Finished, TimeSpan.FromHours(1));
        double simulated = (sim.Now - start).TotalSeconds;
        double wall = Stopwatch.GetElapsedTime(wallStart).TotalSeconds;
        double cpu = (CpuTime.Process() - cpuStart).TotalSeconds;
        if (drain.Transferred != bytes || pump.Transferred != bytes)
        {
            throw new InvalidOperationException($"Wirestack bench: simulated transfer received {drain.Transferred} of {bytes} bytes ({drain.Error})");
        }

        var figure = new SimulatedFigure(bytes, simulated, wall, a.Counters.Tcp.RetransSegs - retransmitsBefore, sim.Steps - stepsBefore, cpu);
        drain.Detach();
        pump.Detach();
        server.Close();
        client.Close();
        listener.Close();
        sim.RunFor(TimeSpan.FromSeconds(1)); // the closing handshakes (TIME-WAIT runs on in the background)
        return figure;
    }

    /// <summary>One transfer on a path of its own (made and discarded with it).</summary>
    public static SimulatedFigure SimulatedGigabit(long bytes, SimulatedNics nics = default)
    {
        using var path = new SimulatedPath(nics);
        return SimulatedGigabit(bytes, path);
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    /// <summary>One end of the simulated transfer as an event loop runs it: every readiness change posts (once) a
    /// non-blocking run to the simulator's context; a writer (<c>toSend</c> &gt; 0) writes until the socket would
    /// block and shuts down its side when all is written; a reader reads until the end of stream. The callbacks
    /// are cached, so posting allocates nothing.</summary>
    private sealed class EventDriven
    {
        private static readonly SendOrPostCallback s_run = state => ((EventDriven)state!).Run();
        private readonly Simulator _sim;
        private readonly NetSocket _socket;
        private readonly long _toSend;
        private readonly byte[] _buffer = new byte[AppChunkBytes];
        private bool _posted;

        public EventDriven(Simulator sim, NetSocket socket, long toSend)
        {
            _sim = sim;
            _socket = socket;
            _toSend = toSend;
            socket.Blocking = false;
            socket.ReadinessChanged += OnReadiness;
            Schedule();
        }

        public long Transferred { get; private set; }

        public bool Finished { get; private set; }

        public SocketError Error { get; private set; }

        private void OnReadiness(NetSocket socket) => Schedule();

        /// <summary>Stops listening to the socket (the transfer is over).</summary>
        public void Detach()
        {
            _socket.ReadinessChanged -= OnReadiness;
            Finished = true;
        }

        private void Schedule()
        {
            if (!_posted && !Finished)
            {
                _posted = true;
                _sim.Context.Post(s_run, this);
            }
        }

        private void Run()
        {
            _posted = false;
            while (!Finished)
            {
                SocketError error;
                int n = _toSend > 0
                    ? _socket.Send(_buffer.AsSpan(0, (int)Math.Min(_buffer.Length, _toSend - Transferred)), out error)
                    : _socket.Receive(_buffer, out error);
                if (error == SocketError.WouldBlock || (n == 0 && error == SocketError.Success && _toSend > 0))
                {
                    return;
                }

                if (error != SocketError.Success || n == 0)
                {
                    Error = error;
                    Finished = true;
                    return;
                }

                Transferred += n;
                if (_toSend > 0 && Transferred == _toSend)
                {
                    _socket.Shutdown(SocketShutdown.Send);
                    Finished = true;
                }
            }
        }
    }
}

/// <summary>
/// Two simulated hosts, a (10.0.0.1) and b (10.0.0.2), joined by a 1 Gbit/s line with 10 ms one-way delay and a
/// 1 MiB drop-tail queue each way, with <see cref="SimulatedNics"/> on both ends: the network the simulated transfers
/// run on. The bench keeps one up across a row's warm-ups and timed transfers, as hosts stay up between
/// connections; each transfer uses a port of its own.
/// </summary>
public sealed class SimulatedPath : IDisposable
{
    private ushort _nextPort = 5001;

    public SimulatedPath(SimulatedNics nics = default)
    {
        var impairments = new LinkImpairments
        {
            RateBitsPerSecond = 1_000_000_000,
            Delay = TimeSpan.FromMilliseconds(10),
            QueueLimitBytes = 1 << 20,
        };
        Sim = new Simulator(1);
        A = Sim.AddHost("a");
        B = Sim.AddHost("b");
        Wire = Sim.Connect(A, "10.0.0.1/24", B, "10.0.0.2/24", impairments, impairments, rxRing: 4096);
        Wire.GsoMaxSize = nics.GsoMaxSize;
        Wire.RxCoalesce = nics.RxCoalesce;
        Wire.GenericReceiveOffload = nics.Gro;
        Wire.HardwareSegmentation = nics.Tso;
        // The sender's buffer is handed to the receiver, as the kernel's loopback hands over its skb: the transfer
        // (every packet's timing, drop and loss) is the same as with the default copy, which models a NIC's DMA.
        Wire.CopyPackets = false;
    }

    public Simulator Sim { get; }

    public NetStack A { get; }

    public NetStack B { get; }

    public SimulatedWire Wire { get; }

    /// <summary>A port no earlier transfer on this path listened on.</summary>
    public ushort NextPort() => _nextPort++;

    public void Dispose() => Sim.Dispose();
}

/// <summary>The offloads of the simulated transfer's NICs (<see cref="WirestackBenchmarks.SimulatedGigabit"/>).</summary>
/// <param name="GsoMaxSize">Segmentation offload (<see cref="SimulatedWire.GsoMaxSize"/>): 0, one packet per MSS;
/// 65535, TSO/GRO, large segments serialised and queued by their bytes.</param>
/// <param name="RxCoalesce">Receive interrupt moderation (<see cref="SimulatedWire.RxCoalesce"/>, rx-usecs).</param>
/// <param name="Gro">Generic receive offload in the receiving stack (<see cref="SimulatedWire.GenericReceiveOffload"/>).</param>
/// <param name="Tso">With <paramref name="GsoMaxSize"/>: the NIC cuts each large segment into MSS frames on the line
/// (<see cref="SimulatedWire.HardwareSegmentation"/>) instead of carrying it whole.</param>
public readonly record struct SimulatedNics(int GsoMaxSize = 0, TimeSpan RxCoalesce = default, bool Gro = false, bool Tso = false);
