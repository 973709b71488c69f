// One reusable completion source per direction of a NetSocket: the read side serves ReceiveAsync and AcceptAsync,
// the write side SendAsync and ConnectAsync. It is System.Net.Sockets' AwaitableSocketAsyncEventArgs idea over
// ManualResetValueTaskSourceCore: a ValueTask wraps (this, version), so an operation that has to wait allocates
// nothing, and one that can finish at once never touches it.
//
// Threading (DESIGN.md rule 1, STYLE.md §3.5): an operation is started, progressed and completed under the stack's
// lock (progress comes from NetSocket.ReadinessChanged). Its continuation never runs there:
//  - real time (NetStack.CompletionContext null): the core has RunContinuationsAsynchronously = true, so completing
//    under the lock queues the continuation to the thread pool (or posts it to the awaiter's captured context);
//  - simulation (CompletionContext set): completing under the lock only records the outcome and posts a signal to
//    the context; the signal runs later on that context, outside any lock, and the continuation runs right there.
//    An awaiter already on that context does not need a second hop, so its UseSchedulingContext flag is dropped:
//    that keeps the order of continuations the order of completions, and costs no allocation.
using System.Buffers;
using System.Threading.Tasks.Sources;
using Wirestack.Stack;

namespace Wirestack.Sockets;

/// <summary>What a pending <see cref="SocketOperation"/> is waiting to do.</summary>
internal enum SocketOperationKind : byte
{
    None,
    Receive,
    Send,
    Accept,
    Connect,
}

/// <summary>A reusable <see cref="IValueTaskSource"/> for one direction of a socket.</summary>
internal sealed class SocketOperation : IValueTaskSource<int>, IValueTaskSource<NetSocket>, IValueTaskSource
{
    private static readonly SendOrPostCallback s_signal = static state =>
    {
        // The continuation runs inline, with no SynchronizationContext installed: a Task that it completes may then
        // run its own ConfigureAwait(false) awaiters inline too (the runtime never inlines those on a thread whose
        // context is not the default one; it queues them to the thread pool, which would leave the simulation).
        SynchronizationContext? previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            ((SocketOperation)state!).Signal();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    };
    private static readonly Action<object?, CancellationToken> s_canceled = static (state, token) => ((SocketOperation)state!).OnCanceled(token);

    private readonly NetStack _stack;
    private ManualResetValueTaskSourceCore<int> _core;
    private SynchronizationContext? _context;
    private CancellationToken _token;
    private CancellationTokenRegistration _registration;
    private Exception? _error;
    private NetSocket? _accepted;
    private int _result;
    private bool _busy;

    public SocketOperation(NetStack stack)
    {
        _stack = stack;
    }

    /// <summary>What the operation waits for; <see cref="SocketOperationKind.None"/> when idle or completed.
    /// Read and written under the stack lock.</summary>
    public SocketOperationKind Kind { get; private set; }

    /// <summary>True from <see cref="Begin"/> until the awaiter has taken the result.</summary>
    public bool IsBusy => Volatile.Read(ref _busy);

    /// <summary>Whether errors surface as <see cref="IOException"/> wrapping the socket exception (the Stream
    /// contract) instead of the socket exception itself.</summary>
    public bool WrapErrors { get; private set; }

    /// <summary>The receive destination (Receive).</summary>
    public Memory<byte> ReceiveBuffer { get; set; }

    /// <summary>The bytes still to queue (Send).</summary>
    public ReadOnlySequence<byte> SendRemaining { get; set; }

    /// <summary>Bytes moved so far (Send).</summary>
    public int Transferred { get; set; }

    public short Version => _core.Version;

    /// <summary>Starts waiting (under the lock). The caller then returns <c>new ValueTask(this, Version)</c>.</summary>
    public void Begin(SocketOperationKind kind, bool wrapErrors, CancellationToken cancellationToken)
    {
        if (IsBusy)
        {
            throw new InvalidOperationException($"a {(kind is SocketOperationKind.Receive or SocketOperationKind.Accept ? "receive or accept" : "send or connect")} operation is already pending on this socket");
        }

        Volatile.Write(ref _busy, true);
        _context = _stack.CompletionContext;
        _core.RunContinuationsAsynchronously = _context is null;
        Kind = kind;
        WrapErrors = wrapErrors;
        _error = null;
        _result = 0;
        if (cancellationToken.CanBeCanceled)
        {
            _token = cancellationToken;
            // May run the callback at once (the token is already canceled): it takes the lock, which we hold
            // (re-entrant), and completes the operation as canceled.
            _registration = cancellationToken.UnsafeRegister(s_canceled, this);
        }
    }

    /// <summary>Completes with a result (under the lock).</summary>
    public void Complete(int result, NetSocket? accepted = null)
    {
        _result = result;
        _accepted = accepted;
        Finish();
    }

    /// <summary>Completes with an error (under the lock).</summary>
    public void Fail(Exception error)
    {
        _error = error;
        Finish();
    }

    private void Finish()
    {
        Kind = SocketOperationKind.None;
        ReceiveBuffer = default;
        SendRemaining = default;
        if (_token.CanBeCanceled)
        {
            // Unregister, never Dispose: Dispose waits for a running callback, which may be waiting for our lock.
            _registration.Unregister();
            _registration = default;
            _token = default;
        }

        if (_context is { } context)
        {
            context.Post(s_signal, this);
        }
        else
        {
            Signal();
        }
    }

    private void Signal()
    {
        if (_error is { } error)
        {
            _error = null;
            _core.SetException(error);
        }
        else
        {
            _core.SetResult(_result);
        }
    }

    private void OnCanceled(CancellationToken token)
    {
        lock (_stack.SyncRoot)
        {
            if (Kind != SocketOperationKind.None && _token == token)
            {
                Fail(new OperationCanceledException(token));
            }
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        if (_context is { } context && (flags & ValueTaskSourceOnCompletedFlags.UseSchedulingContext) != 0 &&
            ReferenceEquals(SynchronizationContext.Current, context))
        {
            flags &= ~ValueTaskSourceOnCompletedFlags.UseSchedulingContext;
        }

        _core.OnCompleted(continuation, state, token, flags);
    }

    int IValueTaskSource<int>.GetResult(short token)
    {
        ValidateToken(token);
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            Release();
        }
    }

    NetSocket IValueTaskSource<NetSocket>.GetResult(short token)
    {
        ValidateToken(token);
        NetSocket? accepted = _accepted;
        try
        {
            _core.GetResult(token);
            return accepted!;
        }
        finally
        {
            Release();
        }
    }

    void IValueTaskSource.GetResult(short token)
    {
        ValidateToken(token);
        try
        {
            _core.GetResult(token);
        }
        finally
        {
            Release();
        }
    }

    private void ValidateToken(short token)
    {
        if (token != _core.Version || _core.GetStatus(token) == ValueTaskSourceStatus.Pending)
        {
            throw new InvalidOperationException("the ValueTask of a socket operation was awaited twice, after it was reused, or before it completed");
        }
    }

    private void Release()
    {
        _accepted = null;
        _core.Reset();
        Volatile.Write(ref _busy, false);
    }
}
