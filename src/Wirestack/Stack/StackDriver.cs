// The real-time loop of one or more stacks (seed 002's "entries": link input and timer expiry run here; user calls
// run on the callers' threads; one lock per stack serialises them all). The driver owns a thread that delivers due
// packets on its wires, polls every stack under that stack's lock, and then sleeps until the earliest PollAt or until
// it is woken: by a transmit on one of its links (a packet is in flight), by Notify, or by a blocking call that is
// about to wait. Time comes from the injected TimeProvider (TimeProvider.System by default), as microseconds since
// the driver was made; to the driver a simulator's VirtualClock is just another TimeProvider.
//
// It is also every stack's IStackWaiter: a blocking call waits with Monitor.Wait on the stack's SyncRoot, which
// releases the lock while it waits (the Kyu lesson: a wait that keeps the big lock starves the input that would end
// it), and Notify pulses it. Continuations never run on the driver thread under a lock: async completions go to the
// thread pool (NetStack.CompletionContext is left null).
//
// A wire (SimulatedWire) is not thread-safe and is shared by two stacks, so its ports are attached through
// SynchronizedLink with one gate per wire; lock order is always stack lock → wire gate.
using System.Diagnostics;
using Wirestack.IP;
using Wirestack.Links;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Stack;

/// <summary>Runs stacks and wires on the system clock (or any <see cref="TimeProvider"/>) on its own thread.</summary>
public sealed class StackDriver : IStackWaiter, IDisposable
{
    private readonly TimeProvider _time;
    private readonly long _origin;
    private readonly object _wake = new();
    private readonly object _registration = new();
    private NetStack[] _stacks = [];
    private WireEntry[] _wires = [];
    private Thread? _thread;
    private ITimer? _timer;
    private bool _wakeRequested;
    private volatile bool _stopping;
    private volatile Exception? _fault;
    private long _iterations;

    public StackDriver(TimeProvider? time = null, string name = "wirestack-driver")
    {
        _time = time ?? TimeProvider.System;
        _origin = _time.GetTimestamp();
        Name = name;
        Clock = () => Now;
    }

    public string Name { get; }

    public TimeProvider Time => _time;

    /// <summary>The driver's clock: time since the driver was made.</summary>
    public Instant Now => new((long)_time.GetElapsedTime(_origin).TotalMicroseconds);

    /// <summary>The clock to give a <see cref="NetStack"/> this driver runs.</summary>
    public Func<Instant> Clock { get; }

    /// <summary>The longest the loop sleeps without looking again (a bound on how late it notices a timer armed by
    /// a user call that neither transmitted nor changed readiness). Defaults to 50 ms.</summary>
    public TimeSpan MaxIdle { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Runs <see cref="Tcp.TcpLayer.CheckInvariants"/> after every poll (tests).</summary>
    public bool CheckInvariants { get; set; }

    /// <summary>Loop iterations so far.</summary>
    public long Iterations => Interlocked.Read(ref _iterations);

    /// <summary>What stopped the loop, if it failed (an invariant, a bug); blocking calls then throw.</summary>
    public Exception? Fault => _fault;

    public IReadOnlyList<NetStack> Stacks => Volatile.Read(ref _stacks);

    /// <summary>Makes a stack on this driver's clock and adds it.</summary>
    public NetStack CreateStack(NetStackOptions options)
    {
        var stack = new NetStack(options, Clock);
        Add(stack);
        return stack;
    }

    /// <summary>Adds a stack made with <see cref="Clock"/>; the driver becomes its waiter.</summary>
    public void Add(NetStack stack)
    {
        ArgumentNullException.ThrowIfNull(stack);
        lock (_registration)
        {
            lock (stack.SyncRoot)
            {
                stack.Waiter = this;
            }

            Volatile.Write(ref _stacks, [.. _stacks, stack]);
        }

        Wake();
    }

    /// <summary>Adds a wire the driver delivers on; returns the gate its ports must be attached through.</summary>
    public object AddWire(SimulatedWire wire)
    {
        ArgumentNullException.ThrowIfNull(wire);
        lock (_registration)
        {
            foreach (WireEntry entry in _wires)
            {
                if (ReferenceEquals(entry.Wire, wire))
                {
                    return entry.Gate;
                }
            }

            var added = new WireEntry(wire, new object());
            Volatile.Write(ref _wires, [.. _wires, added]);
            return added.Gate;
        }
    }

    /// <summary>Gives <paramref name="stack"/> an interface on one port of a wire, through the wire's gate.</summary>
    public NetInterface Attach(NetStack stack, SimulatedPort port, IPv4Cidr address)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(port);
        object gate = AddWire(port.Wire);
        lock (stack.SyncRoot)
        {
            return stack.AddInterface(new SynchronizedLink(port, gate, stack.Pool, Wake), address);
        }
    }

    /// <summary>Joins two stacks with a new wire (impairments drawn from <paramref name="seed"/>).</summary>
    public SimulatedWire Connect(NetStack a, string addressA, NetStack b, string addressB, LinkImpairments? aToB = null,
        LinkImpairments? bToA = null, int seed = 1, int rxRing = 256)
    {
        aToB ??= LinkImpairments.None;
        var wire = new SimulatedWire(new Random(seed), aToB, bToA ?? aToB, rxRing, $"{a.Name}-{b.Name}");
        Attach(a, wire.A, IPv4Cidr.Parse(addressA));
        Attach(b, wire.B, IPv4Cidr.Parse(addressB));
        return wire;
    }

    /// <summary>Starts the loop thread (once).</summary>
    public void Start()
    {
        lock (_registration)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            if (_thread is not null)
            {
                return;
            }

            if (_time != TimeProvider.System)
            {
                _timer = _time.CreateTimer(static s => ((StackDriver)s!).Wake(), this, System.Threading.Timeout.InfiniteTimeSpan,
                    System.Threading.Timeout.InfiniteTimeSpan);
            }

            _thread = new Thread(Run) { IsBackground = true, Name = Name };
            _thread.Start();
        }
    }

    /// <summary>Makes the loop look again now (something changed that it must act on).</summary>
    public void Wake()
    {
        if (Thread.CurrentThread == _thread)
        {
            return; // the loop recomputes its deadline after every iteration anyway
        }

        lock (_wake)
        {
            _wakeRequested = true;
            Monitor.Pulse(_wake);
        }
    }

    /// <summary>Waits (real time) until <paramref name="condition"/>, evaluated under <paramref name="stack"/>'s
    /// lock, holds or <paramref name="timeout"/> passes; returns the condition. For tests and tools.</summary>
    public bool WaitFor(NetStack stack, Func<bool> condition, TimeSpan timeout)
    {
        lock (stack.SyncRoot)
        {
            return WaitUntil(condition, Now + timeout);
        }
    }

    /// <inheritdoc/>
    public bool WaitUntil(Func<bool> condition, Instant? deadline)
    {
        object root = HeldRoot() ?? throw new InvalidOperationException("WaitUntil must be called with the stack's lock held");
        if (Thread.CurrentThread == _thread)
        {
            throw new InvalidOperationException($"a blocking call on the driver thread of '{Name}' would deadlock: it is the thread that must deliver what the call waits for");
        }

        Wake();
        while (!condition())
        {
            ThrowIfStopped();
            TimeSpan wait = MaxIdle;
            if (deadline is { } d)
            {
                TimeSpan remaining = d - Now;
                if (remaining <= TimeSpan.Zero)
                {
                    return condition();
                }

                wait = remaining < wait ? remaining : wait;
            }

            Monitor.Wait(root, CeilingMilliseconds(wait));
        }

        return true;
    }

    /// <inheritdoc/>
    public void Notify()
    {
        foreach (NetStack stack in Volatile.Read(ref _stacks))
        {
            if (Monitor.IsEntered(stack.SyncRoot))
            {
                Monitor.PulseAll(stack.SyncRoot);
            }
        }

        Wake();
    }

    public void Dispose()
    {
        Thread? thread;
        lock (_registration)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
            thread = _thread;
        }

        lock (_wake)
        {
            Monitor.PulseAll(_wake);
        }

        thread?.Join();
        _timer?.Dispose();
        PulseAllStacks();
    }

    private void Run()
    {
        try
        {
            while (!_stopping)
            {
                Instant? next = PollOnce();
                Interlocked.Increment(ref _iterations);
                Sleep(next);
            }
        }
        catch (Exception ex)
        {
            _fault = ex;
            _stopping = true;
            PulseAllStacks();
        }
    }

    /// <summary>One iteration: deliver, poll every stack, and return the earliest next deadline.</summary>
    private Instant? PollOnce()
    {
        Instant now = Now;
        WireEntry[] wires = Volatile.Read(ref _wires);
        foreach (WireEntry entry in wires)
        {
            lock (entry.Gate)
            {
                entry.Wire.DeliverDue(now);
            }
        }

        Instant? next = null;
        foreach (NetStack stack in Volatile.Read(ref _stacks))
        {
            lock (stack.SyncRoot)
            {
                stack.Poll(now);
                if (CheckInvariants)
                {
                    stack.Tcp.CheckInvariants();
                }

                next = Instant.Earliest(next, stack.PollAt);
            }
        }

        foreach (WireEntry entry in wires)
        {
            lock (entry.Gate)
            {
                next = Instant.Earliest(next, entry.Wire.NextDeliveryAt);
            }
        }

        return next;
    }

    private void Sleep(Instant? next)
    {
        lock (_wake)
        {
            if (!_wakeRequested && !_stopping)
            {
                TimeSpan delay = next is { } at ? at - Now : MaxIdle;
                if (delay > MaxIdle)
                {
                    delay = MaxIdle;
                }

                if (delay > TimeSpan.Zero)
                {
                    if (_timer is null)
                    {
                        Monitor.Wait(_wake, CeilingMilliseconds(delay));
                    }
                    else
                    {
                        _timer.Change(delay, System.Threading.Timeout.InfiniteTimeSpan);
                        while (!_wakeRequested && !_stopping)
                        {
                            Monitor.Wait(_wake);
                        }
                    }
                }
            }

            _wakeRequested = false;
        }
    }

    private object? HeldRoot()
    {
        foreach (NetStack stack in Volatile.Read(ref _stacks))
        {
            if (Monitor.IsEntered(stack.SyncRoot))
            {
                return stack.SyncRoot;
            }
        }

        return null;
    }

    private void ThrowIfStopped()
    {
        if (_fault is { } fault)
        {
            throw new InvalidOperationException($"stack driver '{Name}' failed: {fault.Message}", fault);
        }

        if (_stopping)
        {
            throw new ObjectDisposedException(Name, "the stack driver stopped while a blocking call was waiting");
        }
    }

    private void PulseAllStacks()
    {
        foreach (NetStack stack in Volatile.Read(ref _stacks))
        {
            lock (stack.SyncRoot)
            {
                Monitor.PulseAll(stack.SyncRoot);
            }
        }
    }

    private static int CeilingMilliseconds(TimeSpan span)
    {
        Debug.Assert(span > TimeSpan.Zero);
        return (int)Math.Min(int.MaxValue, Math.Ceiling(span.TotalMilliseconds));
    }

    private sealed record WireEntry(SimulatedWire Wire, object Gate);
}
