using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Wirestack.Sockets;

namespace Wirestack.AspNetCore;

/// <summary>One bound endpoint: accepts Wirestack connections for Kestrel.</summary>
public sealed class WirestackConnectionListener : IConnectionListener
{
    private readonly NetSocket _listener;
    private readonly SocketDuplexPipeOptions? _pipeOptions;
    private volatile bool _unbound;

    internal WirestackConnectionListener(NetSocket listener, SocketDuplexPipeOptions? pipeOptions)
    {
        _listener = listener;
        _pipeOptions = pipeOptions;
        EndPoint = listener.LocalEndPoint!;
    }

    public EndPoint EndPoint { get; }

    /// <summary>The next connection, or null once the listener is unbound.</summary>
    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (!_unbound)
        {
            try
            {
                NetSocket socket = await _listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
                return new WirestackConnection(socket, _pipeOptions);
            }
            catch (ObjectDisposedException) when (_unbound)
            {
                break;
            }
            catch (SocketException ex) when (_unbound || ex.SocketErrorCode == SocketError.OperationAborted)
            {
                break;
            }
            catch (SocketException)
            {
                // A connection that failed between SYN and accept: try the next one, as Kestrel's socket transport does.
            }
        }

        return null;
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _unbound = true;
        _listener.Close();
        return default;
    }

    public ValueTask DisposeAsync() => UnbindAsync();
}
