using System.Collections.Concurrent;

namespace Wirestack.Simulation;

/// <summary>
/// A single-threaded synchronization context whose queue the simulator drains between events, so async code written
/// against Wirestack sockets runs deterministically: continuations run in the order they were posted, on the
/// simulator's thread, never inline under a stack's lock.
/// </summary>
internal sealed class SimulationContext(Simulator simulator) : SynchronizationContext
{
    // Lock-free (posts may come from any thread; the simulator's thread alone takes items out): a post and a take
    // are one interlocked operation each instead of a monitor's enter and exit.
    private readonly ConcurrentQueue<(SendOrPostCallback Callback, object? State)> _queue = new();

    public bool HasWork => !_queue.IsEmpty;

    public override void Post(SendOrPostCallback d, object? state)
    {
        _queue.Enqueue((d, state));
        simulator.OnWork();
    }

    public override void Send(SendOrPostCallback d, object? state) =>
        throw new NotSupportedException("synchronous Send is not supported in the simulation context");

    public override SynchronizationContext CreateCopy() => this;

    public Task<T> Start<T>(Func<Task<T>> body)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(_ => RunBody(body, tcs), null);
        return tcs.Task;
    }

    private async void RunBody<T>(Func<Task<T>> body, TaskCompletionSource<T> tcs)
    {
        try
        {
            tcs.SetResult(await body().ConfigureAwait(true));
        }
        catch (Exception ex)
        {
            tcs.SetException(ex);
        }
    }

    public void RunPending()
    {
        if (_queue.IsEmpty)
        {
            return; // the common case on a busy simulation: nothing posted since the last step
        }

        SynchronizationContext? previous = Current;
        SetSynchronizationContext(this);
        try
        {
            for (int guard = 0; guard < 1_000_000; guard++)
            {
                if (!_queue.TryDequeue(out (SendOrPostCallback Callback, object? State) item))
                {
                    return;
                }

                item.Callback(item.State);
            }
        }
        finally
        {
            SetSynchronizationContext(previous);
        }
    }

    public Simulator Simulator => simulator;
}
