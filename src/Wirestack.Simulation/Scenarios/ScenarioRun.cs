using System.Globalization;
using System.Net.Sockets;
using Wirestack.Links;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Simulation.Scenarios;

/// <summary>
/// The workbench a scenario plays on: a <see cref="Simulator"/> with its hosts (in the chosen profile) and wires,
/// a capture when asked, and the recorder of events, errors, checks and the counters that tell the story.
/// </summary>
internal sealed class ScenarioRun
{
    private readonly IScenario _scenario;
    private readonly ScenarioOptions _options;
    private readonly PcapWriter? _capture;
    private readonly List<ScenarioEvent> _events = [];
    private readonly List<ScenarioError> _errors = [];
    private readonly List<ScenarioCheck> _checks = [];
    private readonly List<(NetStack Host, string Group, string Name, string Meaning)> _keys = [];
    private readonly List<ScenarioSockets> _sockets = [];
    private readonly List<string> _summary = [];
    private readonly SortedDictionary<string, double> _facts = new(StringComparer.Ordinal);
    private readonly List<(NetStack Host, string Name, TcpConnection Connection, Func<TcpTraceEvent, bool>? Filter)> _traced = [];
    private readonly Dictionary<TcpConnection, List<TcpTraceEvent>> _frozen = new(ReferenceEqualityComparer.Instance);
    private readonly List<(SimulatedWire Wire, NetStack A, NetStack B)> _wires = [];

    public ScenarioRun(IScenario scenario, ScenarioOptions options)
    {
        _scenario = scenario;
        _options = options;
        if (!ScenarioOptions.Profiles.Contains(options.Profile))
        {
            throw new ArgumentException($"unknown profile '{options.Profile}' (expected {string.Join(" or ", ScenarioOptions.Profiles)})", nameof(options));
        }

        Sim = new Simulator(options.Seed);
        if (options.PcapStream is not null)
        {
            _capture = Sim.CaptureAll(options.PcapStream); // covers the wires added later too
        }
    }

    public Simulator Sim { get; }

    public ScenarioOptions Options => _options;

    public bool FreeBsd => _options.Profile == "freebsd";

    /// <summary>Virtual seconds now.</summary>
    public double T => Seconds(Sim.Now);

    /// <summary>A host in the run's profile; <paramref name="configure"/> adjusts its options.</summary>
    public NetStack Host(string name, Action<NetStackOptions>? configure = null)
    {
        NetStackOptions options = NetStackOptions.ForProfile(_options.Profile, name);
        configure?.Invoke(options);
        return Sim.AddHost(name, options);
    }

    /// <summary>A wire between two hosts (same impairments both ways unless <paramref name="bToA"/> is given).</summary>
    public SimulatedWire Wire(NetStack a, string addressA, NetStack b, string addressB, LinkImpairments? aToB = null,
        LinkImpairments? bToA = null, int rxRing = 256)
    {
        SimulatedWire wire = Sim.Connect(a, addressA, b, addressB, aToB ?? new LinkImpairments { Delay = TimeSpan.FromMilliseconds(5) }, bToA, rxRing);
        _wires.Add((wire, a, b));
        return wire;
    }

    // ---- recording ----------------------------------------------------------------------------------------------

    public void Note(NetStack host, string what) => Note(host.Name, what);

    public void Note(string host, string what) => _events.Add(new ScenarioEvent(T, host, what));

    public void NoteAt(Instant time, string host, string what) => _events.Add(new ScenarioEvent(Seconds(time), host, what));

    /// <summary>Records an error a socket call returned, with the stack's explanation (or <paramref name="fallback"/>
    /// when the stack gave none).</summary>
    public void Error(NetStack host, string socket, SocketError error, string? explanation, string? fallback = null) =>
        _errors.Add(new ScenarioError(T, host.Name, socket, error.ToString(), SocketErrors.ToErrno(error),
            explanation ?? fallback ?? "(the stack gave no explanation)"));

    public bool Check(bool condition, string what)
    {
        _checks.Add(new ScenarioCheck(what, condition));
        return condition;
    }

    public void Key(NetStack host, string group, string name, string meaning) => _keys.Add((host, group, name, meaning));

    public void Summary(string line) => _summary.Add(line);

    public void Fact(string name, double value) => _facts[name] = Math.Round(value, 6);

    /// <summary>A fact recorded earlier (NaN when there is none).</summary>
    public double Result(string name) => _facts.TryGetValue(name, out double value) ? value : double.NaN;

    /// <summary>Records the socket table of <paramref name="host"/> now (at most <paramref name="max"/> rows).</summary>
    public IReadOnlyList<SocketTableRow> Sockets(NetStack host, string title, Func<SocketTableRow, bool>? filter = null, int max = 12,
        bool tcp = true, bool udp = false)
    {
        List<SocketTableRow> rows = SocketTable.Capture(host, tcp, udp).Where(r => filter?.Invoke(r) ?? true).ToList();
        _sockets.Add(new ScenarioSockets(T, host.Name, title, rows.Take(max).ToList(), Math.Max(0, rows.Count - max)));
        return rows;
    }

    /// <summary>Records <paramref name="connection"/>'s own trace (state changes, retransmissions, window changes)
    /// into the timeline when the run finishes.</summary>
    public void Trace(NetStack host, string name, TcpConnection connection, Func<TcpTraceEvent, bool>? filter = null)
    {
        lock (host.SyncRoot)
        {
            connection.Trace ??= [];
        }

        _traced.Add((host, name, connection, filter));
    }

    /// <summary>Stops recording <paramref name="connection"/>'s trace: what it recorded so far goes into the timeline.</summary>
    public void StopTrace(NetStack host, TcpConnection connection)
    {
        lock (host.SyncRoot)
        {
            _frozen[connection] = [.. connection.Trace ?? []];
        }
    }

    /// <summary>Records the error <paramref name="connection"/> fails with, when the stack reports it
    /// (<see cref="TcpLayer.ConnectionFailed"/>), with the stack's explanation.</summary>
    public void OnFailure(NetStack host, string name, TcpConnection connection)
    {
        host.Tcp.ConnectionFailed += (c, error, cause, time) =>
        {
            if (c == connection)
            {
                _errors.Add(new ScenarioError(Seconds(time), host.Name, $"{name} {Endpoints(c)}", error.ToString(), SocketErrors.ToErrno(error),
                    cause ?? "(the stack gave no explanation)"));
            }
        };
    }

    /// <summary>Adds a timeline event for each TCP segment on <paramref name="wire"/> that
    /// <paramref name="describe"/> has words for (null: not worth a line), stamped with its arrival time and
    /// the host it arrives at.</summary>
    public void WatchTcp(SimulatedWire wire, Func<TcpPacket, string?> describe)
    {
        (SimulatedWire _, NetStack a, NetStack b) = _wires.First(w => w.Wire == wire);
        Action<ReadOnlySpan<byte>, Instant>? previous = wire.Tap;
        wire.Tap = (bytes, time) =>
        {
            previous?.Invoke(bytes, time);
            if (SegmentBuilder.TryParseTcp(bytes, out IPv4Header ip, out TcpHeader tcp, out int length))
            {
                var packet = new TcpPacket(ip.Source, ip.Destination, tcp, length);
                if (describe(packet) is { } what)
                {
                    string host = Owns(a, ip.Destination) ? a.Name : Owns(b, ip.Destination) ? b.Name : wire.Name;
                    _events.Add(new ScenarioEvent(Seconds(time), host, what));
                }
            }
        };
    }

    private static bool Owns(NetStack host, IPv4Address address) => host.Interfaces.Any(i => i.Address.Address == address);

    // ---- helpers ----------------------------------------------------------------------------------------------------

    /// <summary>Runs until <paramref name="condition"/> or <paramref name="limit"/> of virtual time; false when the
    /// limit came first (the story then says so instead of throwing).</summary>
    public bool RunUntil(Func<bool> condition, TimeSpan limit) => Sim.RunUntilCore(condition, Sim.Now + limit);

    public void RunFor(TimeSpan duration) => Sim.RunFor(duration);

    /// <summary>Posts <paramref name="action"/> to run on the simulator after <paramref name="delay"/> of virtual time.</summary>
    public void After(TimeSpan delay, Action action)
    {
        ITimer? timer = null;
        timer = Sim.Clock.CreateTimer(_ => Sim.Post(() =>
        {
            timer?.Dispose();
            action();
        }), null, delay, Timeout.InfiniteTimeSpan);
    }

    public static string Endpoints(TcpConnection connection) =>
        $"{connection.Tuple.LocalAddress}:{connection.Tuple.LocalPort} > {connection.Tuple.RemoteAddress}:{connection.Tuple.RemotePort}";

    public static double Seconds(Instant time) => Math.Round(time.Microseconds / 1e6, 6);

    public static string S(double seconds) => seconds.ToString("0.###", CultureInfo.InvariantCulture);

    public static string S(TimeSpan span) => S(span.TotalSeconds);

    public static string Flags(in TcpHeader h)
    {
        var parts = new List<string>(4);
        if (h.Has(TcpFlags.Syn)) parts.Add("SYN");
        if (h.Has(TcpFlags.Fin)) parts.Add("FIN");
        if (h.Has(TcpFlags.Rst)) parts.Add("RST");
        if (h.Has(TcpFlags.Psh)) parts.Add("PSH");
        if (h.Has(TcpFlags.Ack)) parts.Add("ACK");
        return string.Join(",", parts);
    }

    // ---- the result -------------------------------------------------------------------------------------------------

    public ScenarioResult Finish()
    {
        foreach ((NetStack host, string name, TcpConnection connection, Func<TcpTraceEvent, bool>? filter) in _traced)
        {
            List<TcpTraceEvent>? trace;
            if (!_frozen.TryGetValue(connection, out trace))
            {
                lock (host.SyncRoot)
                {
                    trace = [.. connection.Trace ?? []];
                }
            }

            foreach (TcpTraceEvent e in trace.Where(e => filter?.Invoke(e) ?? true))
            {
                _events.Add(new ScenarioEvent(Seconds(e.Time), host.Name, $"{name}: {e.Kind} {e.Detail.Replace("->", "→", StringComparison.Ordinal)}"));
            }
        }

        var counters = new SortedDictionary<string, SortedDictionary<string, SortedDictionary<string, long>>>(StringComparer.Ordinal);
        foreach (NetStack host in Sim.Hosts)
        {
            lock (host.SyncRoot)
            {
                counters[host.Name] = host.SnapshotCounters();
            }
        }

        var keys = new List<ScenarioCounter>();
        long packets = _capture?.RecordCount ?? 0;
        _capture?.Flush();
        var result = new ScenarioResult
        {
            Scenario = _scenario.Name,
            Description = _scenario.Description,
            Seed = _options.Seed,
            Profile = _options.Profile,
            SimulatedSeconds = T,
            Events = _events.OrderBy(e => e.T).ToList(), // stable: same-instant events keep their order
            Errors = _errors,
            Counters = counters,
            KeyCounters = keys,
            Sockets = _sockets,
            Summary = _summary,
            Facts = _facts,
            Checks = _checks,
            PcapPackets = packets,
        };
        foreach ((NetStack host, string group, string name, string meaning) in _keys)
        {
            keys.Add(new ScenarioCounter(host.Name, group, name, result.Counter(host.Name, group, name), meaning));
        }

        return result;
    }
}

/// <summary>A TCP segment seen on a wire.</summary>
internal readonly record struct TcpPacket(IPv4Address Source, IPv4Address Destination, TcpHeader Tcp, int PayloadLength)
{
    public string From => $"{Source}:{Tcp.SourcePort}";

    public string To => $"{Destination}:{Tcp.DestinationPort}";

    public bool IsSyn => Tcp.Has(TcpFlags.Syn) && !Tcp.Has(TcpFlags.Ack);

    public bool IsSynAck => Tcp.Has(TcpFlags.Syn) && Tcp.Has(TcpFlags.Ack);

    public bool IsRst => Tcp.Has(TcpFlags.Rst);

    public string Flags => ScenarioRun.Flags(Tcp);
}
