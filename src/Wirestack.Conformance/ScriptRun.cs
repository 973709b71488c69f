using System.Globalization;
using Wirestack.IP;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Conformance;

/// <summary>
/// One execution of a script against a fresh stack on a <see cref="CaptureLink"/>, in virtual time (spec §2, §5, §6).
/// <para>
/// Blocking calls: the interpreter is the stack's <see cref="IStackWaiter"/>. A call written <c>T...E</c> that has to
/// wait lands in <see cref="WaitUntil"/>, which keeps playing the script (injecting packets, checking the stack's
/// output, running non-blocking calls) until the call's condition holds, then returns to the call, which finishes
/// at that virtual instant. Time advances in the stack's own timer steps, so the instant a call returns or a packet
/// leaves is exact. A call written without <c>...</c> must not block; if it would, the script fails.
/// </para>
/// </summary>
internal sealed partial class ScriptRun : IStackWaiter
{
    private const long TwoSeconds = 2_000_000;

    private readonly Script _script;
    private readonly ConformanceOptions _options;
    private readonly string _displayFile;
    private readonly TextWriter? _trace;

    private HostHarness _host = null!;
    private readonly ShellCommands.ShellTools _tools;
    private Harness _harness = Harness.Packetdrill;
    private long _startUs;

    // settings from the script's --options (the caller's values win)
    private long _toleranceUs = 4000;
    private double _tolerancePercent = 12.5;
    private long _tsTickUs;
    private bool _strictSegments;
    private IPv4Address _localIp = IPv4Address.Parse("192.168.0.1");
    private IPv4Address _remoteIp = IPv4Address.Parse("192.0.2.1");
    private ushort _bindPort = 8080;
    private ushort _connectPort = 8080;
    private int _mtu = 1500;
    private int _inboundGsoSize; // --mss: inbound segments longer than this are large segments of this MSS

    // event bookkeeping (spec §2)
    private int _next;
    private long _base;                  // actual time the previous event finished: the base of relative times
    private bool _previousWasInbound;
    private long _lastInboundScheduled;

    // blocking calls
    private PendingCall? _waiting;       // the blocking call whose wait is playing the script
    private SyscallEvent? _currentCall;  // the call executing now (nested inside a wait for non-blocking ones)
    private bool _wouldBlock;
    private string? _stalled;

    public ScriptRun(Script script, ConformanceOptions options, string displayFile)
    {
        _script = script;
        _options = options;
        _displayFile = displayFile;
        _trace = options.Trace;
        // The script's nstat, over the stack's counters (zeros before the stack is built), its history kept from one
        // command to the next as nstat keeps it in a file; sockstat over the script's open fds.
        _tools = new ShellCommands.ShellTools(
            new Nstat(() => _host is null ? new Dictionary<string, long>() : Nstat.Names(_host.Stack.SnapshotCounters())),
            () => _fds.Select(kv => (kv.Key, kv.Value)));
    }

    public NetStack Stack => _host.Stack;


    private long NowUs => _host.Clock.Now.Microseconds - _startUs;

    private static string Seconds(long us) => (us / 1e6).ToString("0.000000", CultureInfo.InvariantCulture);

    private string Where(ScriptEvent ev) => $"{_displayFile}:{ev.Line}";

    private ScriptFailException Fail(ScriptEvent ev, string message) => new($"{Where(ev)}: {message}");

    private void Trace(string text) => _trace?.WriteLine($"{Seconds(NowUs)} {text}");

    // ---- set-up ------------------------------------------------------------------------------------------------------

    /// <summary>Applies the --options (spec §8), init commands and the profile, and builds the stack.</summary>
    public void Prepare(Harness harness)
    {
        _harness = harness;
        string profile = _options.Profile ?? harness.Profile;
        foreach (ScriptOption option in _script.Options)
        {
            ApplyOption(option);
        }

        // command-line values win over the script's: the caller's first, then the corpus harness's (spec §1)
        if ((_options.ToleranceMicroseconds ?? _harness.ToleranceMicroseconds) is { } tol)
        {
            _toleranceUs = tol;
        }

        NetStackOptions stackOptions = NetStackOptions.ForProfile(profile, "dut", _options.Seed);
        foreach (ShellCommand command in InitScripts().Concat(_script.InitCommands))
        {
            ShellCommands.Apply(command.Text, stackOptions.Tcp, _tools); // before the stack exists nstat reads zeros
        }

        _options.ConfigureStack?.Invoke(stackOptions);
        _host = new HostHarness(stackOptions, $"{_localIp}/16", _options.Seed);
        _host.Link.Mtu = _mtu;
        // The remote end (192.0.2.1) is reached over the tun-like capture link, as packetdrill's tun device does.
        _host.Stack.AddRoute(new IPv4Cidr(_remoteIp, 32), null, _host.Interface.Index);
        _host.Stack.Waiter = this;
        // Script time 0 is one second into the stack's clock: packetdrill runs on the time of day, never at instant
        // zero (the stack itself treats Instant 0 as an ordinary time).
        _host.Advance(TimeSpan.FromSeconds(1));
        _startUs = _host.Clock.Now.Microseconds;
    }

    /// <summary>The harness's --init_scripts (gVisor's <c>packetdrill_setup.sh</c>), run before the script's own.</summary>
    private IEnumerable<ShellCommand> InitScripts()
    {
        foreach (string command in _harness.Setup)
        {
            yield return new ShellCommand(command, 0);
        }

        if (_harness.InitScript is { } setup && File.Exists(setup))
        {
            yield return new ShellCommand(File.ReadAllText(setup), 0);
        }
    }

    private void ApplyOption(ScriptOption option)
    {
        string? v = option.Value;
        long Number() => long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n)
            ? n
            : throw new ScriptSkipException($"option --{option.Name}={v}");

        switch (option.Name)
        {
            case "ip_version" when v == "ipv4":
                return;
            case "tolerance_usecs":
                _toleranceUs = Number();
                return;
            case "tolerance_percent":
                _tolerancePercent = double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double percent) && percent >= 0
                    ? percent
                    : throw new ScriptSkipException($"option --{option.Name}={v}");
                return;
            case "tcp_ts_tick_usecs":
                _tsTickUs = Number();
                return;
            case "strict_segments":
                _strictSegments = true;
                return;
            case "mss":
                // Inbound GSO size: a larger inbound segment is injected whole, marked as a large segment of this
                // MSS (spec §5; packetdrill's tun sets gso_size in the virtio header).
                _inboundGsoSize = checked((int)Number());
                return;
            case "mtu":
                _mtu = checked((int)Number());
                return;
            case "local_ip" when IPv4Address.TryParse(v, out IPv4Address local):
                _localIp = local;
                return;
            case "remote_ip" when IPv4Address.TryParse(v, out IPv4Address remote):
                _remoteIp = remote;
                return;
            case "gateway_ip" or "netmask_ip":
                return; // the capture link needs no gateway: the remote address is on-link
            case "bind_port":
                _bindPort = checked((ushort)Number());
                return;
            case "connect_port":
                _connectPort = checked((ushort)Number());
                return;
            case "define" or "verbose" or "dry_run":
                return;
        }

        throw new ScriptSkipException($"option --{option.Name}{(v is null ? "" : "=" + v)}");
    }

    // ---- the event loop ----------------------------------------------------------------------------------------------

    public void Execute()
    {
        List<ScriptEvent> events = _script.Events;
        while (_next < events.Count)
        {
            ScriptEvent ev = events[_next++];
            if (!RunEvent(ev))
            {
                throw new InvalidOperationException($"{Where(ev)}: event interrupted outside a blocking call");
            }
        }

        DrainSent();

        foreach (ShellCommand command in _script.CleanupCommands)
        {
            ShellCommands.Apply(command.Text, Stack.Tcp.Settings);
        }
    }

    /// <summary>Runs one event. False: a blocked call's condition came true while the event waited for its time;
    /// the event has not happened and runs again later.</summary>
    private bool RunEvent(ScriptEvent ev) => ev switch
    {
        PacketEvent { Direction: Direction.Inbound } p => RunInbound(p),
        PacketEvent p => RunOutbound(p),
        SyscallEvent s => RunSyscall(s),
        ShellEvent s => RunShell(s),
        CodeEvent c => RunCode(c),
        _ => throw new InvalidOperationException(ev.GetType().Name),
    };

    private long BaseFor(bool inbound) => inbound && _previousWasInbound ? _lastInboundScheduled : _base;

    /// <summary>The scheduled time of an absolute or relative time value.</summary>
    private long Resolve(long value, bool relative, bool inbound) => relative ? BaseFor(inbound) + value : value;

    private long Scheduled(ScriptEvent ev, bool inbound) => Resolve(ev.Time.Start, ev.Time.Kind == TimeKind.Relative, inbound);

    private void Finished(long baseTime, bool inbound, long scheduled = 0)
    {
        _base = baseTime;
        _previousWasInbound = inbound;
        if (inbound)
        {
            _lastInboundScheduled = scheduled;
        }
    }

    /// <summary>Spec §2: max(tolerance_usecs, tolerance_percent of the time since the previous event).</summary>
    private long Tolerance(long expected, long previous) =>
        Math.Max(_toleranceUs, (long)(_tolerancePercent / 100.0 * Math.Max(0, expected - previous)));

    private bool RunShell(ShellEvent ev)
    {
        if (!AdvanceTo(Scheduled(ev, false)))
        {
            return false;
        }

        Trace($"shell `{ev.Command}`");
        ShellCommands.Apply(ev.Command, Stack.Tcp.Settings, _tools);
        Finished(NowUs, false);
        return true;
    }

    // ---- time ----------------------------------------------------------------------------------------------------------

    /// <summary>True when the call that is waiting can return.</summary>
    private bool Interrupted() => _waiting is { } w && w.Condition();

    /// <summary>Runs virtual time forward to <paramref name="targetUs"/> (script time), firing every stack timer at its
    /// exact instant. Stops early (returns false) at the instant a waiting call's condition comes true.</summary>
    private bool AdvanceTo(long targetUs)
    {
        if (targetUs > _options.VirtualTimeLimit.Ticks / 10)
        {
            throw new ScriptFailException($"{_displayFile}: virtual time limit {_options.VirtualTimeLimit} reached at {Seconds(NowUs)} s");
        }

        var target = new Instant(_startUs + targetUs);
        int guard = 0;
        while (true)
        {
            if (Interrupted())
            {
                return false;
            }

            Instant? next;
            lock (Stack.SyncRoot)
            {
                next = Stack.PollAt;
            }

            if (next is null || next.Value > target)
            {
                break;
            }

            if (next.Value > _host.Clock.Now)
            {
                _host.Clock.AdvanceTo(next.Value);
                guard = 0;
            }
            else if (++guard > 100_000)
            {
                throw new InvalidOperationException($"the stack keeps asking to be polled at {next.Value} without making progress");
            }

            _host.Poll();
        }

        if (target > _host.Clock.Now)
        {
            _host.Clock.AdvanceTo(target);
            _host.Poll();
        }

        return !Interrupted();
    }

    private bool StackIdle()
    {
        lock (Stack.SyncRoot)
        {
            return Stack.PollAt is null;
        }
    }

    /// <summary>Runs virtual time to the next stack timer (or <paramref name="limitUs"/>, whichever is first).
    /// Returns false when interrupted; <paramref name="idle"/> tells whether the stack had no timer at all.</summary>
    private bool StepTime(long limitUs, out bool idle)
    {
        Instant? next;
        lock (Stack.SyncRoot)
        {
            next = Stack.PollAt;
        }

        idle = next is null;
        long target = next is { } n ? Math.Min(limitUs, Math.Max(n.Microseconds - _startUs, NowUs)) : limitUs;
        return AdvanceTo(target);
    }

    // ---- IStackWaiter: blocking calls -----------------------------------------------------------------------------

    private sealed class PendingCall(SyscallEvent call, long expectedEndUs)
    {
        public SyscallEvent Call { get; } = call;

        public long ExpectedEndUs { get; } = expectedEndUs;

        public Func<bool> Condition { get; set; } = () => true;
    }

    private long _pendingExpectedEnd;

    bool IStackWaiter.WaitUntil(Func<bool> condition, Instant? deadline) => WaitUntil(condition, deadline);

    void IStackWaiter.Notify()
    {
    }

    /// <summary>A socket call has to wait. For a call the script marks as blocking, play the script until it can go
    /// on; for any other call, note that it would have blocked and let it fail at once.</summary>
    private bool WaitUntil(Func<bool> condition, Instant? deadline)
    {
        if (condition())
        {
            return true;
        }

        SyscallEvent? call = _currentCall;
        if (call is null || !call.Time.IsBlocking || (_waiting is not null && _waiting.Call != call))
        {
            _wouldBlock = true;
            return false;
        }

        PendingCall? outer = _waiting;
        var pending = new PendingCall(call, _pendingExpectedEnd) { Condition = condition };
        _waiting = pending;
        try
        {
            return PlayWhileBlocked(pending, deadline);
        }
        finally
        {
            _waiting = outer;
        }
    }

    private bool PlayWhileBlocked(PendingCall pending, Instant? deadline)
    {
        List<ScriptEvent> events = _script.Events;
        long? deadlineUs = deadline is { } d ? d.Microseconds - _startUs : null;
        while (true)
        {
            if (pending.Condition())
            {
                return true;
            }

            if (deadlineUs is { } du && NowUs >= du)
            {
                return false; // the socket's own timeout
            }

            long tolerance = Tolerance(pending.ExpectedEndUs, _base);
            if (deadlineUs is { } timeout && _next < events.Count && events[_next].Time.Kind != TimeKind.Any &&
                Scheduled(events[_next], events[_next] is PacketEvent { Direction: Direction.Inbound }) > timeout)
            {
                // the call's own timeout (poll, SO_RCVTIMEO) comes before the next event
                if (StepTime(timeout, out _) && NowUs >= timeout)
                {
                    return pending.Condition();
                }

                continue;
            }

            if (_next < events.Count && !(events[_next] is SyscallEvent { Time.IsBlocking: true }))
            {
                ScriptEvent ev = events[_next++];
                if (!RunEvent(ev))
                {
                    _next--; // not yet: it runs after the call returns
                }

                continue;
            }

            // Nothing more to play now: either the script ended, or the next event is another blocking call, which
            // may start only when this one has returned (packetdrill waits up to a second for that).
            long giveUp = _next < events.Count
                ? Math.Max(Scheduled(events[_next], false) + 1_000_000, NowUs)
                : pending.ExpectedEndUs + tolerance + TwoSeconds;
            if (deadlineUs is { } limit)
            {
                giveUp = Math.Min(giveUp, limit);
            }

            if (NowUs >= giveUp)
            {
                _stalled = _next < events.Count
                    ? $"still blocked at {Seconds(NowUs)} s when the next blocking call ({Where(events[_next])}) was due"
                    : $"still blocked at {Seconds(NowUs)} s, after the last event of the script";
                return false;
            }

            if (!StepTime(giveUp, out _))
            {
                continue; // the condition came true
            }
        }
    }
}
