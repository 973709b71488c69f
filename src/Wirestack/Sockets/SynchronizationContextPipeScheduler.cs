using System.IO.Pipelines;

namespace Wirestack.Sockets;

/// <summary>A <see cref="PipeScheduler"/> that posts to a <see cref="SynchronizationContext"/> (the simulator's, in
/// simulation), so pipe continuations run in the same deterministic queue as socket completions (Kestrel's IOQueue
/// is such a scheduler). The per-callback <see cref="SendOrPostCallback"/> is cached: pipes schedule a handful of
/// static callbacks, so scheduling allocates nothing after the first time.</summary>
internal sealed class SynchronizationContextPipeScheduler(SynchronizationContext context) : PipeScheduler
{
    private readonly Dictionary<Action<object?>, SendOrPostCallback> _callbacks = new(ReferenceEqualityComparer.Instance);
    private readonly Lock _gate = new();

    public SynchronizationContext Context => context;

    public override void Schedule(Action<object?> action, object? state)
    {
        SendOrPostCallback? callback;
        lock (_gate)
        {
            if (!_callbacks.TryGetValue(action, out callback))
            {
                callback = Wrap(action);
                _callbacks.Add(action, callback);
            }
        }

        context.Post(callback, state);
    }

    // A method of its own: a lambda in Schedule capturing its parameter made C# allocate the closure on every call,
    // cache hit or not (24 B per scheduled continuation).
    private static SendOrPostCallback Wrap(Action<object?> action) => state =>
    {
        // As for socket completions: no context installed while the continuation runs (see SocketOperation).
        SynchronizationContext? previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            action(state);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    };
}
