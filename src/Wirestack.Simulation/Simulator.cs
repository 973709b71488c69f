// The discrete-event simulator: hosts (NetStacks) joined by simulated wires, all driven by one VirtualClock. It
// never sleeps: each step jumps straight to the next thing that can happen (a timer, a packet arrival), so a
// 127-second SYN timeout takes microseconds of real time and happens identically for the same seed.
using Wirestack.IP;
using Wirestack.Links;
using Wirestack.Stack;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Simulation;

/// <summary>A simulated network in virtual time, deterministic by seed.</summary>
public sealed class Simulator : IDisposable
{
    private readonly List<NetStack> _hosts = [];
    private readonly List<SimulatedWire> _wires = [];
    private readonly List<object> _wireGates = [];
    private readonly List<PcapWriter> _captures = [];
    private readonly SimulationContext _context;
    private int _depth;
    private BackgroundSimulation? _background;

    // Single-threaded steps: each host's PollAt as the step's next-event search found it, so that a host with
    // nothing due is not polled (on a busy two-host transfer every step has work for one host only).
    private Instant?[] _hostDue = [];

    public Simulator(int seed)
    {
        Seed = seed;
        Random = new Random(seed);
        Clock = new VirtualClock();
        _context = new SimulationContext(this);
    }

    public int Seed { get; }

    /// <summary>
    /// Whether code on other threads may use the simulated hosts while <see cref="BackgroundSimulation"/> drives
    /// the simulator (Kestrel, HttpClient: libraries that run on the thread pool). Set it before
    /// <see cref="Connect"/>: wires are then attached through <see cref="SynchronizedLink"/> (one gate per wire,
    /// received packets copied into the receiving stack's pool), and blocking calls from other threads wait on the
    /// stack's monitor instead of running the simulation themselves. Off by default: a single-threaded simulation
    /// needs none of it.
    /// </summary>
    public bool Concurrent { get; init; }

    public Random Random { get; }

    public VirtualClock Clock { get; }

    public Instant Now => Clock.Now;

    public IReadOnlyList<NetStack> Hosts => _hosts;

    public IReadOnlyList<SimulatedWire> Wires => _wires;

    /// <summary>The single-threaded synchronization context that runs async test code deterministically.</summary>
    public SynchronizationContext Context => _context;

    /// <summary>Steps taken so far (for diagnostics).</summary>
    public long Steps { get; private set; }

    public NetStack AddHost(string name, NetStackOptions? options = null)
    {
        options ??= new NetStackOptions();
        options.Name = name;
        options.Seed = Random.Next(); // every host's randomness derives from the simulation seed

        var stack = new NetStack(options, () => Clock.Now);
        stack.Waiter = new SimulatedWaiter(this, stack);
        // Async completions are posted to the simulator's context: continuations run on it, in order, deterministically.
        stack.CompletionContext = _context;
        _hosts.Add(stack);
        return stack;
    }

    /// <summary>Joins two hosts with a wire and gives each an address on it.</summary>
    public SimulatedWire Connect(NetStack a, string addressA, NetStack b, string addressB, LinkImpairments? aToB = null,
        LinkImpairments? bToA = null, int rxRing = 256)
    {
        aToB ??= LinkImpairments.None;
        bToA ??= aToB;
        var wire = new SimulatedWire(new Random(Random.Next()), aToB, bToA, rxRing, $"{a.Name}-{b.Name}");
        var gate = new object();
        _wires.Add(wire);
        _wireGates.Add(gate);
        if (Concurrent)
        {
            a.AddInterface(new SynchronizedLink(wire.A, gate, a.Pool, OnWork), IPv4Cidr.Parse(addressA));
            b.AddInterface(new SynchronizedLink(wire.B, gate, b.Pool, OnWork), IPv4Cidr.Parse(addressB));
        }
        else
        {
            a.AddInterface(wire.A, IPv4Cidr.Parse(addressA));
            b.AddInterface(wire.B, IPv4Cidr.Parse(addressB));
        }

        foreach (PcapWriter writer in _captures)
        {
            AddTap(wire, writer); // captures already running cover wires added later
        }

        return wire;
    }

    /// <summary>Records every packet delivered on every wire into <paramref name="output"/> (libpcap, raw IP,
    /// nanosecond timestamps from the virtual clock).</summary>
    public PcapWriter CaptureAll(Stream output)
    {
        var writer = new PcapWriter(output, LinkMedium.Ip);
        _captures.Add(writer);
        foreach (SimulatedWire wire in _wires)
        {
            AddTap(wire, writer);
        }

        return writer;
    }

    private static void AddTap(SimulatedWire wire, PcapWriter writer)
    {
        Action<ReadOnlySpan<byte>, Instant>? previous = wire.Tap;
        wire.Tap = previous is null
            ? (packet, time) => writer.Write(packet, time)
            : (packet, time) => { previous(packet, time); writer.Write(packet, time); };
    }

    /// <summary>The next instant anything can happen, or null when the network is idle forever.</summary>
    public Instant? NextEventAt => FindNextEvent(recordHosts: false);

    private Instant? FindNextEvent(bool recordHosts)
    {
        Instant? at = Clock.NextTimerAt;
        for (int i = 0; i < _hosts.Count; i++)
        {
            NetStack host = _hosts[i];
            if (!Concurrent)
            {
                Instant? due = host.PollAt; // one thread: the simulator is the stacks' own loop
                if (recordHosts)
                {
                    _hostDue[i] = due;
                }

                at = Instant.Earliest(at, due);
                continue;
            }

            lock (host.SyncRoot)
            {
                at = Instant.Earliest(at, host.PollAt);
            }
        }

        // Every wire's two ports belong to hosts (Connect), whose PollAt already counts each port's next arrival, or
        // its moderated interrupt: a packet arriving at a port that waits for its interrupt is not an event of its
        // own (Step brings it into the ring with the others).
        if (Concurrent)
        {
            for (int i = 0; i < _wires.Count; i++)
            {
                lock (_wireGates[i])
                {
                    at = Instant.Earliest(at, _wires[i].NextDeliveryAt);
                }
            }
        }

        if (_context.HasWork)
        {
            at = Now;
        }

        return at;
    }

    /// <summary>Whether a packet sent now can arrive now (a wire direction without delay): only then can a host
    /// polled earlier in a step have made another due in the same step.</summary>
    private bool AnyWireWithoutDelay()
    {
        foreach (SimulatedWire wire in _wires)
        {
            if (wire.AToB.Delay <= TimeSpan.Zero || wire.BToA.Delay <= TimeSpan.Zero)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Wire transmissions so far, all wires together: a change shows that a host polled earlier in a
    /// step may have sent something that is already due at another.</summary>
    private long WireTransmits()
    {
        long total = 0;
        for (int i = 0; i < _wires.Count; i++)
        {
            total += _wires[i].TransmitCalls;
        }

        return total;
    }

    public bool Step(Instant? limit = null)
    {
        if (!Concurrent && _hostDue.Length != _hosts.Count)
        {
            _hostDue = new Instant?[_hosts.Count];
        }

        Instant? next = FindNextEvent(recordHosts: !Concurrent);
        if (next is null)
        {
            return false;
        }

        Instant target = Instant.Max(next.Value, Now);
        if (limit is { } l && target > l)
        {
            Clock.AdvanceTo(l);
            return false;
        }

        if (target > Now)
        {
            Clock.AdvanceTo(target);
        }

        Steps++;
        Instant now = Now;
        for (int i = 0; i < _wires.Count; i++)
        {
            if (!Concurrent)
            {
                // A port takes what has arrived for it when its host polls (SimulatedPort.TryReceive), and its
                // PollAt sees the wire's arrival queue as it sees its ring: only a tapped wire is delivered here, so
                // that the capture lists both directions' packets in arrival order.
                if (_wires[i].Tap is not null)
                {
                    _wires[i].DeliverDue(now);
                }

                continue;
            }

            lock (_wireGates[i])
            {
                _wires[i].DeliverDue(now);
            }
        }

        if (Concurrent)
        {
            foreach (NetStack host in _hosts)
            {
                lock (host.SyncRoot)
                {
                    host.Poll(now);
                }
            }
        }
        else
        {
            // Only the hosts with something due: their PollAt from the search above, or asked again when a host
            // polled before them has transmitted (on a wire without delay that packet is due now).
            long transmits = WireTransmits();
            for (int i = 0; i < _hosts.Count; i++)
            {
                NetStack host = _hosts[i];
                bool due = _hostDue[i] is { } at && at <= now;
                if (!due && _wires.Count > 0 && WireTransmits() != transmits && AnyWireWithoutDelay())
                {
                    due = host.PollAt is { } again && again <= now;
                }

                if (due)
                {
                    host.Poll(now);
                }
            }
        }

        _context.RunPending();
        return true;
    }

    /// <summary>Runs until <paramref name="condition"/> holds. Throws (with the seed) when <paramref name="limit"/>
    /// of virtual time passes or the network goes idle first.</summary>
    public void RunUntil(Func<bool> condition, TimeSpan limit)
    {
        Instant deadline = Now + limit;
        if (!RunUntilCore(condition, deadline))
        {
            throw new SimulationTimeoutException(
                $"simulation (seed {Seed}) did not reach its condition within {limit.TotalSeconds} s of virtual time (now {Now}); replay with WIRESTACK_SEED={Seed}");
        }
    }

    /// <summary>Runs until <paramref name="condition"/> or <paramref name="deadline"/>; returns the condition.</summary>
    public bool RunUntilCore(Func<bool> condition, Instant? deadline)
    {
        if (IsForeignThread)
        {
            throw new InvalidOperationException("a BackgroundSimulation drives this simulator: only its thread may run it");
        }

        _depth++;
        try
        {
            if (_depth > 64)
            {
                throw new InvalidOperationException("blocking calls nested more than 64 deep inside the simulator");
            }

            while (!condition())
            {
                if (deadline is { } d && Now >= d)
                {
                    return condition();
                }

                if (!Step(deadline))
                {
                    if (deadline is { } d2 && Now >= d2)
                    {
                        return condition();
                    }

                    if (deadline is null)
                    {
                        return condition(); // idle forever: nothing can make the condition true
                    }

                    Clock.AdvanceTo(deadline.Value);
                }
            }

            return true;
        }
        finally
        {
            _depth--;
        }
    }

    /// <summary>Advances virtual time by <paramref name="duration"/>, doing everything that happens meanwhile.</summary>
    public void RunFor(TimeSpan duration)
    {
        Instant deadline = Now + duration;
        RunUntilCore(() => false, deadline);
        if (Now < deadline)
        {
            Clock.AdvanceTo(deadline);
        }
    }

    /// <summary>Runs an async body under the simulator's single-threaded context until it completes.</summary>
    public T Run<T>(Func<Task<T>> body, TimeSpan limit)
    {
        Task<T> task = _context.Start(body);
        RunUntil(() => task.IsCompleted, limit);
        return task.GetAwaiter().GetResult();
    }

    public void Run(Func<Task> body, TimeSpan limit)
    {
        Task task = _context.Start(async () => { await body().ConfigureAwait(true); return true; });
        RunUntil(() => task.IsCompleted, limit);
        task.GetAwaiter().GetResult();
    }

    /// <summary>Posts work to run on the simulator's context at the current instant.</summary>
    public void Post(Action action) => _context.Post(_ => action(), null);

    /// <summary>Posts <paramref name="callback"/> with <paramref name="state"/>: with a cached callback, posting
    /// allocates nothing.</summary>
    public void Post(SendOrPostCallback callback, object? state) => _context.Post(callback, state);

    /// <summary>True on a thread other than the background loop's, while one runs.</summary>
    internal bool IsForeignThread => _background is { } background && !background.IsLoopThread;

    internal void Attach(BackgroundSimulation background)
    {
        if (!Concurrent)
        {
            throw new InvalidOperationException("a BackgroundSimulation needs a Simulator made with Concurrent = true (before Connect)");
        }

        if (Interlocked.CompareExchange(ref _background, background, null) is not null)
        {
            throw new InvalidOperationException("the simulator already has a background loop");
        }
    }

    internal void Detach(BackgroundSimulation background) => Interlocked.CompareExchange(ref _background, null, background);

    /// <summary>Something happened that the background loop must look at (a post, a transmit, a notify).</summary>
    internal void OnWork() => _background?.Wake();

    public void Dispose()
    {
        foreach (PcapWriter writer in _captures)
        {
            writer.Dispose(); // idempotent; flushes what it holds
        }

        _captures.Clear();
    }

    private sealed class SimulatedWaiter(Simulator simulator, NetStack stack) : IStackWaiter
    {
        private static readonly TimeSpan MaxBlockingWait = TimeSpan.FromHours(24);

        public bool WaitUntil(Func<bool> condition, Instant? deadline)
        {
            if (simulator.IsForeignThread)
            {
                return WaitOnMonitor(condition, deadline);
            }

            // A blocking call with no deadline waits at most a virtual day: past that it would, in real life, hang
            // forever (the network went idle, or only keeps probing a window nobody opens).
            Instant limit = deadline ?? simulator.Now + MaxBlockingWait;
            if (simulator.RunUntilCore(condition, limit) || deadline is not null)
            {
                return condition();
            }

            throw new SimulationDeadlockException(
                $"a blocking call can never complete: the simulated network is idle or stuck at {simulator.Now} (waited {MaxBlockingWait.TotalHours} h " +
                $"of virtual time; seed {simulator.Seed}). Run the other side concurrently (async, or Post to the simulator) or use a timeout.");
        }

        public void Notify()
        {
            if (simulator._background is not null)
            {
                if (Monitor.IsEntered(stack.SyncRoot))
                {
                    Monitor.PulseAll(stack.SyncRoot);
                }

                simulator.OnWork();
            }
        }

        /// <summary>A blocking call on another thread while the background loop runs the simulation: wait on the
        /// stack's monitor (releasing its lock) until the loop's polls make the condition true. A deadline is in
        /// virtual time, so it passes only as the simulation advances.</summary>
        private bool WaitOnMonitor(Func<bool> condition, Instant? deadline)
        {
            simulator.OnWork();
            while (!condition())
            {
                if (deadline is { } d && simulator.Now >= d)
                {
                    return condition();
                }

                if (simulator._background is null)
                {
                    throw new SimulationDeadlockException($"the background simulation stopped while a blocking call waited (seed {simulator.Seed})");
                }

                Monitor.Wait(stack.SyncRoot, 10);
            }

            return true;
        }
    }
}

/// <summary>The simulation did not reach its goal in the virtual time allowed.</summary>
public sealed class SimulationTimeoutException(string message) : Exception(message);

/// <summary>A blocking call waits for something that nothing in the simulation will ever do.</summary>
public sealed class SimulationDeadlockException(string message) : Exception(message);
