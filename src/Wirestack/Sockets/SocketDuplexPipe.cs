// An IDuplexPipe over a connected Wirestack TCP socket, built as Kestrel's SocketConnection is: two pipes and two
// pump loops. The receive pump waits for data with a zero-byte receive (so an idle connection holds no pipe memory),
// then fills pipe memory from the socket and flushes; FlushAsync waits while the application leaves more than
// PauseWriterThreshold unread, and while it waits the pump takes nothing from the socket, so the receive buffer
// fills and TCP's window closes: backpressure end to end. The send pump reads what the application wrote and
// sends it with the gathered SendAsync, so the application's FlushAsync waits while the socket's send buffer is
// full. A socket error completes the pipes with the WirestackSocketException (the Kestrel precedent: the
// application sees it from ReadAsync/FlushAsync).
using System.IO.Pipelines;
using System.Net.Sockets;

namespace Wirestack.Sockets;

/// <summary>A duplex pipe over a connected <see cref="NetSocket"/>.</summary>
public sealed class SocketDuplexPipe : IDuplexPipe, IAsyncDisposable
{
    private readonly NetSocket _socket;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly int _minimumSegmentSize;
    private readonly bool _shutdownSendOnComplete;
    private readonly Func<Exception, Exception>? _translateError;
    private Task _receiving = Task.CompletedTask;
    private Task _sending = Task.CompletedTask;
    private int _started;
    private int _aborted;
    private int _disposed;

    /// <param name="socket">A connected TCP socket; the pipe owns it from now on (disposing the pipe closes it).</param>
    /// <param name="options">Buffering and scheduling; defaults when null.</param>
    /// <param name="start">Whether to start the pumps now (else call <see cref="Start"/>).</param>
    public SocketDuplexPipe(NetSocket socket, SocketDuplexPipeOptions? options = null, bool start = true)
    {
        ArgumentNullException.ThrowIfNull(socket);
        options ??= new SocketDuplexPipeOptions();
        _socket = socket;
        _minimumSegmentSize = options.MinimumSegmentSize;
        _shutdownSendOnComplete = options.ShutdownSendOnOutputComplete;
        _translateError = options.TranslateError;
        PipeScheduler application = options.ApplicationScheduler ?? DefaultApplicationScheduler(socket);
        PipeScheduler transport = options.TransportScheduler ?? PipeScheduler.Inline;
        _input = new Pipe(new PipeOptions(options.Pool, readerScheduler: application, writerScheduler: transport,
            options.PauseWriterThreshold, options.ResumeWriterThreshold, options.MinimumSegmentSize, useSynchronizationContext: false));
        _output = new Pipe(new PipeOptions(options.Pool, readerScheduler: transport, writerScheduler: application,
            options.PauseWriterThreshold, options.ResumeWriterThreshold, options.MinimumSegmentSize, useSynchronizationContext: false));
        if (start)
        {
            Start();
        }
    }

    /// <summary>What the peer sent: completes at its FIN, or with the socket error.</summary>
    public PipeReader Input => _input.Reader;

    /// <summary>What to send: completing it sends FIN once everything written is queued.</summary>
    public PipeWriter Output => _output.Writer;

    public NetSocket Socket => _socket;

    /// <summary>Completes when both pumps have stopped.</summary>
    public Task Completion => Task.WhenAll(_receiving, _sending);

    /// <summary>Starts the pumps (once).</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _receiving = ReceiveLoopAsync();
            _sending = SendLoopAsync();
        }
    }

    /// <summary>Ends the connection at once with a reset (SO_LINGER 0), failing both pumps.</summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }

        try
        {
            if (_socket.Connection is { } connection)
            {
                connection.Linger = TimeSpan.Zero;
            }

            _socket.Close();
        }
        catch (ObjectDisposedException)
        {
        }

        _output.Reader.CancelPendingRead();
    }

    /// <summary>Finishes gracefully: completes both application ends, lets the send pump queue what was written
    /// and send FIN, then closes the socket and waits for the pumps.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _output.Writer.CompleteAsync().ConfigureAwait(false);
        await _input.Reader.CompleteAsync().ConfigureAwait(false);
        await _sending.ConfigureAwait(false);
        _socket.Close();
        await _receiving.ConfigureAwait(false);
    }

    private async Task ReceiveLoopAsync()
    {
        PipeWriter writer = _input.Writer;
        Exception? error = null;
        try
        {
            while (true)
            {
                // Wait for data without holding pipe memory, then take it.
                await _socket.ReceiveAsync(Memory<byte>.Empty).ConfigureAwait(false);
                Memory<byte> memory = writer.GetMemory(_minimumSegmentSize);
                int received = await _socket.ReceiveAsync(memory).ConfigureAwait(false);
                if (received == 0)
                {
                    break; // FIN
                }

                writer.Advance(received);
                FlushResult result = await writer.FlushAsync().ConfigureAwait(false);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break; // the application stopped reading
                }
            }
        }
        catch (ObjectDisposedException) when (_disposed != 0 || _aborted != 0)
        {
        }
        catch (WirestackSocketException ex) when (ex.SocketErrorCode == SocketError.OperationAborted && (_disposed != 0 || _aborted != 0))
        {
        }
        catch (Exception ex)
        {
            error = _translateError?.Invoke(ex) ?? ex;
        }
        finally
        {
            await writer.CompleteAsync(error).ConfigureAwait(false);
        }
    }

    private async Task SendLoopAsync()
    {
        PipeReader reader = _output.Reader;
        Exception? error = null;
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    break; // aborted
                }

                if (!result.Buffer.IsEmpty)
                {
                    await _socket.SendAsync(result.Buffer).ConfigureAwait(false);
                }

                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    if (_shutdownSendOnComplete && _aborted == 0)
                    {
                        _socket.Shutdown(SocketShutdown.Send);
                    }

                    break;
                }
            }
        }
        catch (ObjectDisposedException) when (_aborted != 0)
        {
        }
        catch (WirestackSocketException ex) when (ex.SocketErrorCode == SocketError.OperationAborted && _aborted != 0)
        {
        }
        catch (Exception ex)
        {
            error = _translateError?.Invoke(ex) ?? ex;
        }
        finally
        {
            await reader.CompleteAsync(error).ConfigureAwait(false);
        }
    }

    private static PipeScheduler DefaultApplicationScheduler(NetSocket socket) =>
        socket.Stack.CompletionContext is { } context ? new SynchronizationContextPipeScheduler(context) : PipeScheduler.ThreadPool;
}
