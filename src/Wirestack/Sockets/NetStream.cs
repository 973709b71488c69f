// A Stream over a connected Wirestack TCP socket, shaped like System.Net.Sockets.NetworkStream: Read returns 0 at the
// peer's FIN; socket errors surface as IOException with the WirestackSocketException inside (STYLE.md §3.4);
// cancellation surfaces as OperationCanceledException. The async methods ride the socket's reusable operations, so
// ReadAsync/WriteAsync allocate nothing on the steady path; the synchronous ones are the blocking BSD calls.
using System.Net.Sockets;

namespace Wirestack.Sockets;

/// <summary>A <see cref="Stream"/> over a connected <see cref="NetSocket"/>.</summary>
public sealed class NetStream : Stream
{
    private readonly NetSocket _socket;
    private readonly bool _ownsSocket;
    private volatile bool _disposed;

    /// <param name="socket">A connected TCP socket.</param>
    /// <param name="ownsSocket">Whether disposing the stream closes the socket.</param>
    public NetStream(NetSocket socket, bool ownsSocket = false)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (socket.ProtocolType != ProtocolType.Tcp)
        {
            throw new ArgumentException("a NetStream needs a TCP socket", nameof(socket));
        }

        if (!socket.Connected)
        {
            throw new IOException("The operation is not allowed on non-connected sockets.");
        }

        _socket = socket;
        _ownsSocket = ownsSocket;
    }

    public NetSocket Socket => _socket;

    public override bool CanRead => !_disposed;

    public override bool CanWrite => !_disposed;

    public override bool CanSeek => false;

    public override bool CanTimeout => true;

    /// <summary>SO_RCVTIMEO of the socket, in milliseconds (<see cref="Timeout.Infinite"/>: none).</summary>
    public override int ReadTimeout
    {
        get => ToMilliseconds(_socket.ReceiveTimeout);
        set => _socket.ReceiveTimeout = FromMilliseconds(value);
    }

    public override int WriteTimeout
    {
        get => ToMilliseconds(_socket.SendTimeout);
        set => _socket.SendTimeout = FromMilliseconds(value);
    }

    /// <summary>Whether received data is waiting.</summary>
    public bool DataAvailable => (_socket.Readiness & SocketReadiness.Readable) != 0;

    public override long Length => throw new NotSupportedException("a network stream has no length");

    public override long Position
    {
        get => throw new NotSupportedException("a network stream has no position");
        set => throw new NotSupportedException("a network stream has no position");
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("a network stream cannot seek");

    public override void SetLength(long value) => throw new NotSupportedException("a network stream has no length");

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    /// <summary>Blocking read: the bytes received (at least one), or 0 at end of stream.</summary>
    public override int Read(Span<byte> buffer)
    {
        ThrowIfDisposed();
        int received = _socket.Receive(buffer, out SocketError error);
        return error == SocketError.Success ? received : throw Wrap(error, "read");
    }

    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return Read(one) == 1 ? one[0] : -1;
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(buffer.AsSpan(offset, count));
    }

    /// <summary>Blocking write of every byte (a send timeout that cuts it short is an error).</summary>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ThrowIfDisposed();
        int sent = _socket.Send(buffer, out SocketError error);
        if (error != SocketError.Success)
        {
            throw Wrap(error, "write");
        }

        if (sent < buffer.Length)
        {
            throw Wrap(SocketError.TimedOut, "write");
        }
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _socket.ReceiveCoreAsync(buffer, wrapErrors: true, cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _socket.SendAllAsync(buffer, wrapErrors: true, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    /// <summary>Nothing to do: every write is queued in the socket's send buffer before it returns.</summary>
    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested ? Task.FromCanceled(cancellationToken) : Task.CompletedTask;

    protected override void Dispose(bool disposing)
    {
        if (!_disposed)
        {
            _disposed = true;
            if (disposing && _ownsSocket)
            {
                _socket.Close();
            }
        }

        base.Dispose(disposing);
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private IOException Wrap(SocketError error, string what)
    {
        var inner = new WirestackSocketException(error, _socket.ErrorCause);
        return new IOException($"Unable to {what} data on the transport connection: {inner.Message}", inner);
    }

    private static int ToMilliseconds(TimeSpan? timeout) => timeout is { } t ? (int)Math.Max(1, t.TotalMilliseconds) : Timeout.Infinite;

    private static TimeSpan? FromMilliseconds(int milliseconds)
    {
        if (milliseconds is 0 or Timeout.Infinite)
        {
            return null;
        }

        ArgumentOutOfRangeException.ThrowIfNegative(milliseconds);
        return TimeSpan.FromMilliseconds(milliseconds);
    }
}
