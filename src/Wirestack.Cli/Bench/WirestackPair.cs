using System.Diagnostics;
using System.Net.Sockets;
using Wirestack.Links;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Cli.Bench;

/// <summary>
/// Two Wirestack hosts in this process, a (10.0.0.1) and b (10.0.0.2), on one in-memory <see cref="SimulatedWire"/>
/// with no delay and no rate limit (so the cost is pure CPU), driven directly by the caller in a tight loop on one
/// thread: no simulator, no virtual delay.
/// </summary>
/// <remarks>
/// Time: the stacks' clock is real elapsed time (a monotonic <see cref="Stopwatch"/>), sampled once per
/// <see cref="Step"/> and held for the socket calls made between steps, except that one step advances it by at most
/// <see cref="MaxStepAdvanceMicroseconds"/>. A fixed synthetic tick per step was the alternative; it would tie the timers to the
/// number of loop iterations instead of to time (a 40 ms delayed ACK would fire after 40,000 steps of 1 µs, however
/// long they took, and RTT samples would measure iterations). With real time the RTT estimator, RTO, delayed ACK,
/// keep-alive and TIME-WAIT timers behave as on a host, and every figure is per wall-clock second. The cap is there
/// because the whole world (both hosts and the wire) lives in this one thread: when the process is descheduled or
/// paused for a garbage collection, packets in flight stop too, so that pause must not count as time in which the
/// peer failed to answer (on a loaded machine it made 200 ms retransmission timeouts fire spuriously).
/// </remarks>
internal sealed class WirestackPair
{
    public static readonly IPv4Address AddressA = new(10, 0, 0, 1);
    public static readonly IPv4Address AddressB = new(10, 0, 0, 2);

    /// <summary>The bench wire's segmentation offload: 64 KiB, as the kernel's loopback (gso_max_size 65536).</summary>
    public const int DefaultGsoMaxSize = 65535;

    /// <summary>The most one <see cref="Step"/> moves the stacks' clock: 1 ms.</summary>
    public const long MaxStepAdvanceMicroseconds = 1000;

    private long _lastSample = Stopwatch.GetTimestamp();
    private Instant _now = new(1_000_000);

    /// <param name="mtu">The wire's MTU, each direction (<see cref="LinkImpairments.Mtu"/>).</param>
    /// <param name="memoryBudgetBytes">Each stack's byte budget.</param>
    /// <param name="rxRingSlots">Receive ring slots of each port: large, so that a full window of segments
    /// delivered at once is not dropped as rx_missed.</param>
    /// <param name="gsoMaxSize">The wire's segmentation offload (<see cref="SimulatedWire.GsoMaxSize"/>): TCP may
    /// send up to this many bytes as one large segment, as over the kernel's loopback (GSO/TSO); 0 turns it off.</param>
    public WirestackPair(int mtu, long memoryBudgetBytes = 1L << 30, int rxRingSlots = 65536, int gsoMaxSize = DefaultGsoMaxSize)
    {
        var impairments = new LinkImpairments { Mtu = mtu };
        // No copy on the wire: the sender's buffer is handed to the receiver, as the kernel's loopback hands over its
        // skb (the default wire copies each packet into its own pool, as a NIC's DMA would: one more pass per byte).
        Wire = new SimulatedWire(new Random(7), impairments, impairments, rxRingSlots, "bench", memoryLimitBytes: 1L << 30) { CopyPackets = false, GsoMaxSize = gsoMaxSize };
        A = new NetStack(new NetStackOptions { Name = "a", Seed = 11, MemoryBudgetBytes = memoryBudgetBytes }, () => _now);
        B = new NetStack(new NetStackOptions { Name = "b", Seed = 12, MemoryBudgetBytes = memoryBudgetBytes }, () => _now);
        A.AddInterface(Wire.A, new IPv4Cidr(AddressA, 24));
        B.AddInterface(Wire.B, new IPv4Cidr(AddressB, 24));
    }

    public SimulatedWire Wire { get; }

    public NetStack A { get; }

    public NetStack B { get; }

    /// <summary>The time the stacks see now (the last <see cref="Step"/>'s sample).</summary>
    public Instant Now => _now;

    public int Mtu => Wire.AToB.Mtu;

    /// <summary>The <see cref="Stopwatch"/> timestamp <see cref="Step"/> last read (callers timing a loop of steps
    /// use it instead of reading the clock again).</summary>
    public long LastClockSample { get; private set; }

    /// <summary>Samples the clock, then lets each stack take its due packets (up to its rx budget) and fire its due
    /// timers. Returns true when either did anything.</summary>
    public bool Step()
    {
        long sample = Stopwatch.GetTimestamp();
        LastClockSample = sample;
        long elapsedUs = (sample - _lastSample) * 1_000_000 / Stopwatch.Frequency;
        if (elapsedUs > 0)
        {
            _lastSample = sample;
            _now = new Instant(_now.Microseconds + Math.Min(elapsedUs, MaxStepAdvanceMicroseconds));
        }

        bool worked;
        lock (A.SyncRoot)
        {
            worked = A.Poll(_now);
        }

        lock (B.SyncRoot)
        {
            worked |= B.Poll(_now);
        }

        return worked;
    }

    /// <summary>Steps until <paramref name="condition"/> holds; throws after <paramref name="limit"/> of real time.</summary>
    public void StepUntil(Func<bool> condition, TimeSpan limit, string what)
    {
        long start = Stopwatch.GetTimestamp();
        while (!condition())
        {
            Step();
            if (Stopwatch.GetElapsedTime(start) > limit)
            {
                throw new InvalidOperationException($"Wirestack bench: {what} did not happen within {limit.TotalSeconds:0.#} s");
            }
        }
    }

    /// <summary>A listening socket on b.</summary>
    public NetSocket Listen(ushort port, int backlog = 4096)
    {
        var listener = new NetSocket(B, SocketType.Stream) { Blocking = false };
        SocketError error = listener.Bind(IPv4Address.Any, port);
        if (error != SocketError.Success)
        {
            throw new InvalidOperationException($"Wirestack bench: bind to port {port} on b failed: {error}");
        }

        listener.Listen(backlog);
        return listener;
    }

    /// <summary>One connection from a to b's listener, stepped until accepted: (client on a, server on b), both
    /// non-blocking.</summary>
    public (NetSocket Client, NetSocket Server) Connect(NetSocket listener, ushort port)
    {
        var client = new NetSocket(A, SocketType.Stream) { Blocking = false };
        SocketError error = client.Connect(AddressB, port);
        if (error is not (SocketError.InProgress or SocketError.Success))
        {
            throw new InvalidOperationException($"Wirestack bench: connect failed: {error}");
        }

        NetSocket? server = null;
        StepUntil(() => (server ??= listener.Accept(out _)) is not null && client.Connected, TimeSpan.FromSeconds(10), "a connection");
        server!.Blocking = false;
        return (client, server!);
    }
}
