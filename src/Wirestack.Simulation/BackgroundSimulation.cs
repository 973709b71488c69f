namespace Wirestack.Simulation;

/// <summary>
/// Drives a <see cref="Simulator"/> (made with <see cref="Simulator.Concurrent"/>) from its own thread, so that code
/// which is not single-threaded — Kestrel, HttpClient, anything on the thread pool — can use simulated hosts while a
/// test simply awaits it.
/// </summary>
/// <remarks>
/// <para>The loop steps the simulator whenever it has an event and otherwise sleeps until it is woken: by a post to
/// the simulator's context, a transmit on a wire, or a notify from a stack. Virtual time still jumps straight to the
/// next event, so a lost segment's 200 ms retransmission timeout takes microseconds; the time the application
/// spends computing (a TLS handshake, a request handler) costs no virtual time. Socket completions still run on the
/// simulator's context, i.e. on this loop's thread, and they move virtual time no further while they run.</para>
/// <para>What stays deterministic: each wire's impairments are drawn from its seeded random source in the order
/// packets are sent, and the protocol behaves the same for the same packet order. What does not: when thread-pool
/// code sends relative to the loop's steps, so two runs may put packets on the wire in a different order. Tests
/// that need byte-identical runs keep all user code on the simulator's context (<see cref="Simulator.Run"/>).</para>
/// <para>The loop never sleeps longer than 10 ms without looking again, a bound on how late it notices a timer that
/// another thread armed without transmitting or notifying.</para>
/// </remarks>
public sealed class BackgroundSimulation : IDisposable
{
    private readonly Simulator _simulator;
    private readonly object _wake = new();
    private readonly Thread _thread;
    private bool _wakeRequested;
    private volatile bool _stopping;
    private volatile Exception? _fault;

    public BackgroundSimulation(Simulator simulator)
    {
        ArgumentNullException.ThrowIfNull(simulator);
        _simulator = simulator;
        _thread = new Thread(Run) { IsBackground = true, Name = $"simulator-{simulator.Seed}" };
        simulator.Attach(this);
        _thread.Start();
    }

    public Simulator Simulator => _simulator;

    /// <summary>What stopped the loop, if something in the simulation threw.</summary>
    public Exception? Fault => _fault;

    internal bool IsLoopThread => Thread.CurrentThread == _thread;

    internal void Wake()
    {
        if (IsLoopThread)
        {
            return;
        }

        lock (_wake)
        {
            _wakeRequested = true;
            Monitor.Pulse(_wake);
        }
    }

    /// <summary>Throws if the loop has failed (call it from a test after awaiting).</summary>
    public void ThrowIfFaulted()
    {
        if (_fault is { } fault)
        {
            throw new InvalidOperationException($"the background simulation (seed {_simulator.Seed}) failed: {fault.Message}", fault);
        }
    }

    public void Dispose()
    {
        _stopping = true;
        lock (_wake)
        {
            Monitor.Pulse(_wake);
        }

        _thread.Join();
        _simulator.Detach(this);
    }

    private void Run()
    {
        try
        {
            while (!_stopping)
            {
                if (_simulator.Step())
                {
                    continue;
                }

                lock (_wake)
                {
                    if (!_wakeRequested && !_stopping)
                    {
                        Monitor.Wait(_wake, 10);
                    }

                    _wakeRequested = false;
                }
            }
        }
        catch (Exception ex)
        {
            _fault = ex;
        }
    }
}
