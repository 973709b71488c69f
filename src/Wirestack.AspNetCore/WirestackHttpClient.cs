using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Wire;

namespace Wirestack.AspNetCore;

/// <summary>HttpClient over Wirestack: a <see cref="SocketsHttpHandler"/> whose ConnectCallback opens a
/// <see cref="NetSocket"/> on a stack and hands HttpClient a <see cref="NetStream"/> (TLS, HTTP/1.1 and HTTP/2 then
/// run over it as over any stream).</summary>
public static class WirestackHttpClient
{
    /// <param name="stack">The stack to connect from.</param>
    /// <param name="hosts">Names to addresses (the stack has no DNS); IP literals need no entry.</param>
    /// <param name="ssl">TLS options for https (target host, validation); null for the defaults.</param>
    public static SocketsHttpHandler CreateHandler(NetStack stack, IReadOnlyDictionary<string, IPAddress>? hosts = null,
        SslClientAuthenticationOptions? ssl = null)
    {
        ArgumentNullException.ThrowIfNull(stack);
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = (context, cancellationToken) => ConnectAsync(stack, hosts, context.DnsEndPoint, cancellationToken),
            UseProxy = false,
        };
        if (ssl is not null)
        {
            handler.SslOptions = ssl;
        }

        return handler;
    }

    /// <summary>Connects a Wirestack socket to <paramref name="endpoint"/> and returns a stream that owns it.</summary>
    public static async ValueTask<Stream> ConnectAsync(NetStack stack, IReadOnlyDictionary<string, IPAddress>? hosts, DnsEndPoint endpoint,
        CancellationToken cancellationToken)
    {
        IPAddress address = IPAddress.TryParse(endpoint.Host, out IPAddress? literal) ? literal
            : hosts is not null && hosts.TryGetValue(endpoint.Host, out IPAddress? mapped) ? mapped
            : throw new HttpRequestException($"Wirestack has no address for host '{endpoint.Host}'", null, HttpStatusCode.BadGateway);
        var socket = new NetSocket(stack, SocketType.Stream);
        try
        {
            await socket.ConnectAsync(IPv4Address.FromIPAddress(address), (ushort)endpoint.Port, cancellationToken).ConfigureAwait(false);
            socket.Connection!.NoDelay = true;
            return new NetStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
