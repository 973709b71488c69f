using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Wirestack.Sockets;
using Wirestack.Stack;

namespace Wirestack.AspNetCore;

/// <summary>Kestrel's transport factory for Wirestack: binds IPv4 endpoints as listening NetSockets on the
/// configured stack (no operating-system socket is opened).</summary>
public sealed class WirestackConnectionListenerFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly WirestackTransportOptions _options;

    public WirestackConnectionListenerFactory(IOptions<WirestackTransportOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
    }

    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint { AddressFamily: AddressFamily.InterNetwork };

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        NetStack stack = _options.Stack ?? throw new InvalidOperationException("WirestackTransportOptions.Stack is not set: call UseWirestack(stack)");
        if (endpoint is not IPEndPoint { AddressFamily: AddressFamily.InterNetwork } ip)
        {
            throw new NotSupportedException($"Wirestack binds IPv4 endpoints only, not {endpoint}");
        }

        var socket = new NetSocket(stack, SocketType.Stream);
        try
        {
            socket.Bind(ip);
            socket.Listen(_options.Backlog);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Dispose();
            throw new AddressInUseException(ex.Message, ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new ValueTask<IConnectionListener>(new WirestackConnectionListener(socket, _options.PipeOptions));
    }
}
