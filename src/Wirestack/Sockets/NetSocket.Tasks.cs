// The completion API of NetSocket: ConnectAsync, AcceptAsync, SendAsync, ReceiveAsync returning ValueTask, shaped like
// System.Net.Sockets.Socket's. Each call first tries the operation at once under the stack's lock (a ValueTask that
// is already complete costs nothing); otherwise it parks the socket's reusable SocketOperation for that direction
// and returns a ValueTask over it. ReadinessChanged (raised under the lock whenever the stack changed something)
// moves parked operations on. Errors fault the ValueTask with WirestackSocketException (or IOException around it,
// for NetStream); cancellation gives OperationCanceledException.
using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Wirestack.Tcp;
using Wirestack.Udp;
using Wirestack.Wire;

namespace Wirestack.Sockets;

public sealed partial class NetSocket
{
    private SocketOperation? _readOperation;
    private SocketOperation? _writeOperation;
    private bool _operationsHooked;

    // ---- connect / accept ---------------------------------------------------------------------------------------

    /// <summary>connect() without blocking a thread: completes when the handshake finishes, faults with
    /// ConnectionRefused, TimedOut (after the SYN retries) or the ICMP error the stack recorded.</summary>
    public ValueTask ConnectAsync(IPEndPoint remote, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(remote);
        return ConnectAsync(ToV4(remote.Address), (ushort)remote.Port, cancellationToken);
    }

    public ValueTask ConnectAsync(IPv4Address address, ushort port, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        lock (_stack.SyncRoot)
        {
            ThrowIfClosed();
            ThrowIfBusy(_writeOperation);
            SocketError error = ConnectCore(address, port, wait: false);
            if (error == SocketError.Success)
            {
                return default;
            }

            if (error is not (SocketError.InProgress or SocketError.AlreadyInProgress) || _tcp is null)
            {
                return ValueTask.FromException(Error(error));
            }

            SocketOperation operation = BeginOperation(ref _writeOperation, SocketOperationKind.Connect, false, cancellationToken);
            ProgressWrite(operation);
            return new ValueTask(operation, operation.Version);
        }
    }

    /// <summary>accept() without blocking a thread.</summary>
    public ValueTask<NetSocket> AcceptAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<NetSocket>(cancellationToken);
        }

        lock (_stack.SyncRoot)
        {
            ThrowIfClosed();
            ThrowIfBusy(_readOperation);
            NetSocket? accepted = AcceptNow(out SocketError error);
            if (accepted is not null)
            {
                return new ValueTask<NetSocket>(accepted);
            }

            if (error != SocketError.WouldBlock)
            {
                return ValueTask.FromException<NetSocket>(Error(error));
            }

            SocketOperation operation = BeginOperation(ref _readOperation, SocketOperationKind.Accept, false, cancellationToken);
            return new ValueTask<NetSocket>(operation, operation.Version);
        }
    }

    // ---- data -------------------------------------------------------------------------------------------------------

    /// <summary>send() of every byte: completes when all of <paramref name="buffer"/> is queued in the send buffer
    /// (waiting for space as the peer acknowledges), with its length.</summary>
    public ValueTask<int> SendAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        SendCoreAsync(new ReadOnlySequence<byte>(buffer), false, cancellationToken);

    /// <summary>Gathered send of every segment of <paramref name="buffers"/> (a pipe's read result, say).</summary>
    public ValueTask<int> SendAsync(ReadOnlySequence<byte> buffers, CancellationToken cancellationToken = default) =>
        SendCoreAsync(buffers, false, cancellationToken);

    /// <summary>recv(): completes with the bytes copied (at least one), or 0 at end of stream. A zero-length buffer
    /// completes when data (or the end, or an error) is there, without taking any.</summary>
    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ReceiveCoreAsync(buffer, false, cancellationToken);

    internal ValueTask<int> ReceiveCoreAsync(Memory<byte> buffer, bool wrapErrors, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        lock (_stack.SyncRoot)
        {
            ThrowIfClosed();
            ThrowIfBusy(_readOperation);
            int received = ReceiveNow(buffer.Span, out SocketError error);
            if (error == SocketError.Success)
            {
                return new ValueTask<int>(received);
            }

            if (error != SocketError.WouldBlock)
            {
                return ValueTask.FromException<int>(CreateException(error, wrapErrors));
            }

            SocketOperation operation = BeginOperation(ref _readOperation, SocketOperationKind.Receive, wrapErrors, cancellationToken);
            operation.ReceiveBuffer = buffer;
            return new ValueTask<int>(operation, operation.Version);
        }
    }

    internal ValueTask<int> SendCoreAsync(ReadOnlySequence<byte> buffers, bool wrapErrors, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        lock (_stack.SyncRoot)
        {
            SocketOperation? operation = StartSend(buffers, wrapErrors, cancellationToken, out int sent, out Exception? failure);
            return operation is not null ? new ValueTask<int>(operation, operation.Version)
                : failure is not null ? ValueTask.FromException<int>(failure)
                : new ValueTask<int>(sent);
        }
    }

    /// <summary>The same send, as a non-generic ValueTask (Stream.WriteAsync), with no allocation either.</summary>
    internal ValueTask SendAllAsync(ReadOnlyMemory<byte> buffer, bool wrapErrors, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        lock (_stack.SyncRoot)
        {
            SocketOperation? operation = StartSend(new ReadOnlySequence<byte>(buffer), wrapErrors, cancellationToken, out _, out Exception? failure);
            return operation is not null ? new ValueTask(operation, operation.Version)
                : failure is not null ? ValueTask.FromException(failure)
                : default;
        }
    }

    /// <summary>Queues what fits now; parks the write operation for the rest. Under the lock.</summary>
    private SocketOperation? StartSend(ReadOnlySequence<byte> buffers, bool wrapErrors, CancellationToken cancellationToken,
        out int sent, out Exception? failure)
    {
        ThrowIfClosed();
        ThrowIfBusy(_writeOperation);
        failure = null;
        sent = 0;
        SocketError error = SendSome(ref buffers, ref sent);
        if (error == SocketError.Success)
        {
            return null;
        }

        if (error != SocketError.WouldBlock)
        {
            failure = CreateException(error, wrapErrors);
            return null;
        }

        SocketOperation operation = BeginOperation(ref _writeOperation, SocketOperationKind.Send, wrapErrors, cancellationToken);
        operation.SendRemaining = buffers;
        operation.Transferred = sent;
        return operation;
    }

    // ---- progress (under the lock) ------------------------------------------------------------------------------

    private SocketOperation BeginOperation(ref SocketOperation? slot, SocketOperationKind kind, bool wrapErrors, CancellationToken cancellationToken)
    {
        if (!_operationsHooked)
        {
            _operationsHooked = true;
            ReadinessChanged += OnOperationReadiness;
        }

        SocketOperation operation = slot ??= new SocketOperation(_stack);
        operation.Begin(kind, wrapErrors, cancellationToken);
        return operation;
    }

    private static void ThrowIfBusy(SocketOperation? operation)
    {
        if (operation is { IsBusy: true })
        {
            throw new InvalidOperationException("another operation in the same direction is already pending on this socket");
        }
    }

    private void OnOperationReadiness(NetSocket socket)
    {
        if (_readOperation is { Kind: not SocketOperationKind.None } read)
        {
            ProgressRead(read);
        }

        if (_writeOperation is { Kind: not SocketOperationKind.None } write)
        {
            ProgressWrite(write);
        }
    }

    private void ProgressRead(SocketOperation operation)
    {
        if (_closed)
        {
            operation.Fail(CreateException(SocketError.OperationAborted, operation.WrapErrors, "the socket was closed while the operation was pending"));
            return;
        }

        SocketError error;
        if (operation.Kind == SocketOperationKind.Accept)
        {
            NetSocket? accepted = AcceptNow(out error);
            if (accepted is not null)
            {
                operation.Complete(0, accepted);
                return;
            }
        }
        else
        {
            int received = ReceiveNow(operation.ReceiveBuffer.Span, out error);
            if (error == SocketError.Success)
            {
                operation.Complete(received);
                return;
            }
        }

        if (error != SocketError.WouldBlock)
        {
            operation.Fail(CreateException(error, operation.WrapErrors));
        }
    }

    private void ProgressWrite(SocketOperation operation)
    {
        if (_closed)
        {
            operation.Fail(CreateException(SocketError.OperationAborted, operation.WrapErrors, "the socket was closed while the operation was pending"));
            return;
        }

        if (operation.Kind == SocketOperationKind.Connect)
        {
            ProgressConnect(operation);
            return;
        }

        ReadOnlySequence<byte> remaining = operation.SendRemaining;
        int sent = operation.Transferred;
        SocketError error = SendSome(ref remaining, ref sent);
        operation.SendRemaining = remaining;
        operation.Transferred = sent;
        if (error == SocketError.Success)
        {
            operation.Complete(sent);
        }
        else if (error != SocketError.WouldBlock)
        {
            operation.Fail(CreateException(error, operation.WrapErrors));
        }
    }

    /// <summary>The outcome of a connect, as the blocking connect reports it once the handshake is over.</summary>
    private void ProgressConnect(SocketOperation operation)
    {
        TcpConnection? connection = _tcp;
        if (connection is null)
        {
            operation.Fail(Error(SocketError.NotConnected));
            return;
        }

        if (connection.State is TcpState.SynSent or TcpState.SynReceived)
        {
            return;
        }

        if (connection.PendingError != SocketError.Success)
        {
            _lastConnectError = connection.PendingError;
            operation.Fail(Error(connection.PendingError));
        }
        else if (connection.IsConnected || connection.State == TcpState.CloseWait)
        {
            operation.Complete(0);
        }
        else
        {
            operation.Fail(Error(SocketError.ConnectionRefused));
        }
    }

    // ---- the non-blocking cores (under the lock; mirror Receive, Send and Accept without their waits) -------------

    private int ReceiveNow(Span<byte> buffer, out SocketError error)
    {
        if (_udp is not null)
        {
            return ReceiveDatagramNow(_udp, buffer, out error);
        }

        if (_tcp is null)
        {
            error = SocketError.NotConnected;
            return 0;
        }

        TcpConnection connection = _tcp;
        if (NeverConnected(connection))
        {
            error = SocketError.NotConnected;
            return 0;
        }

        if (!connection.CanRead)
        {
            error = SocketError.WouldBlock;
            return 0;
        }

        return connection.Receive(buffer, Now, out error);
    }

    /// <summary>A stream socket that never connected (closed, nothing received, no error, no peer): recv() says
    /// ENOTCONN, not end of stream.</summary>
    private static bool NeverConnected(TcpConnection connection) =>
        connection.State == TcpState.Closed && connection.PendingError == SocketError.Success && !connection.FinReceived &&
        connection.ReceiveQueued == 0 && connection.Tuple.RemotePort == 0;

    private static int ReceiveDatagramNow(UdpEndpoint udp, Span<byte> buffer, out SocketError error)
    {
        if (udp.PendingError != SocketError.Success)
        {
            error = udp.PendingError;
            udp.PendingError = SocketError.Success;
            return 0;
        }

        if (udp.QueuedDatagrams == 0)
        {
            error = SocketError.WouldBlock;
            return 0;
        }

        udp.TryDequeue(buffer, out _, out int copied, out _, out _);
        error = SocketError.Success;
        return copied;
    }

    /// <summary>Queues as much of <paramref name="remaining"/> as fits, advancing it and <paramref name="sent"/>.
    /// Success means all of it is queued.</summary>
    private SocketError SendSome(ref ReadOnlySequence<byte> remaining, ref int sent)
    {
        while (!remaining.IsEmpty)
        {
            ReadOnlyMemory<byte> segment = remaining.First;
            if (segment.IsEmpty)
            {
                SequencePosition next = remaining.Start;
                remaining.TryGet(ref next, out _, advance: true);
                remaining = remaining.Slice(next);
                continue;
            }

            int n = SendNow(segment.Span, out SocketError error);
            sent += n;
            remaining = remaining.Slice(n);
            if (error != SocketError.Success)
            {
                return error;
            }

            if (n < segment.Length && !remaining.IsEmpty)
            {
                return SocketError.WouldBlock; // the buffer took part of it: wait for room
            }
        }

        return SocketError.Success;
    }

    private int SendNow(ReadOnlySpan<byte> data, out SocketError error)
    {
        if (TrySendWithoutTcp(data, out int sent, out error) || _tcp is null)
        {
            return sent;
        }

        return _tcp.Send(data, Now, out error);
    }

    private NetSocket? AcceptNow(out SocketError error)
    {
        if (_listener is null)
        {
            error = SocketError.InvalidArgument;
            return null;
        }

        TcpConnection? connection = _stack.Tcp.Accept(_listener);
        if (connection is null)
        {
            error = SocketError.WouldBlock;
            return null;
        }

        error = SocketError.Success;
        return new NetSocket(_stack, connection);
    }

    private Exception CreateException(SocketError error, bool wrapErrors, string? cause = null)
    {
        WirestackSocketException exception = Error(error, cause);
        return wrapErrors ? new IOException($"Unable to transfer data on the transport connection: {exception.Message}", exception) : exception;
    }
}
