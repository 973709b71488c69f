using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Wirestack.Sockets;

namespace Wirestack.AspNetCore;

/// <summary>A Kestrel connection over a Wirestack socket: the transport is a <see cref="SocketDuplexPipe"/>, whose
/// socket errors become Kestrel's ConnectionResetException / ConnectionAbortedException, as its socket transport's
/// do.</summary>
internal sealed class WirestackConnection : ConnectionContext, IConnectionIdFeature, IConnectionTransportFeature,
    IConnectionItemsFeature, IConnectionLifetimeFeature, IConnectionEndPointFeature
{
    private static long s_nextId;

    private readonly SocketDuplexPipe _pipe;
    private readonly CancellationTokenSource _closed = new();
    private readonly FeatureCollection _features = new();
    private IDictionary<object, object?>? _items;

    public WirestackConnection(NetSocket socket, SocketDuplexPipeOptions? options)
    {
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;
        ConnectionId = $"wirestack-{Interlocked.Increment(ref s_nextId):x}";
        _pipe = new SocketDuplexPipe(socket, WithErrorMapping(options), start: false);
        Transport = _pipe;
        ConnectionClosed = _closed.Token;
        _features.Set<IConnectionIdFeature>(this);
        _features.Set<IConnectionTransportFeature>(this);
        _features.Set<IConnectionItemsFeature>(this);
        _features.Set<IConnectionLifetimeFeature>(this);
        _features.Set<IConnectionEndPointFeature>(this);
        _pipe.Start();
        _ = SignalClosedAsync();
    }

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features => _features;

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new Dictionary<object, object?>();
        set => _items = value;
    }

    public override IDuplexPipe Transport { get; set; }

    public override CancellationToken ConnectionClosed { get; set; }

    public override EndPoint? LocalEndPoint { get; set; }

    public override EndPoint? RemoteEndPoint { get; set; }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        _pipe.Abort();
        CancelClosed();
    }

    public override async ValueTask DisposeAsync()
    {
        await _pipe.DisposeAsync().ConfigureAwait(false);
        CancelClosed();
        _closed.Dispose();
    }

    private async Task SignalClosedAsync()
    {
        try
        {
            await _pipe.Completion.ConfigureAwait(false);
        }
        catch
        {
            // the pipes carry the error to Kestrel; here only the end matters
        }

        CancelClosed();
    }

    private void CancelClosed()
    {
        try
        {
            ThreadPool.UnsafeQueueUserWorkItem(static cts =>
            {
                try
                {
                    cts.Cancel();
                }
                catch (ObjectDisposedException)
                {
                }
            }, _closed, preferLocal: false);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static SocketDuplexPipeOptions WithErrorMapping(SocketDuplexPipeOptions? options)
    {
        SocketDuplexPipeOptions mapped = options?.Clone() ?? new SocketDuplexPipeOptions();
        mapped.TranslateError = static error => error switch
        {
            SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.Shutdown } reset => new ConnectionResetException(reset.Message, reset),
            SocketException { SocketErrorCode: SocketError.OperationAborted or SocketError.ConnectionAborted } aborted => new ConnectionAbortedException(aborted.Message, aborted),
            _ => error,
        };
        return mapped;
    }
}
