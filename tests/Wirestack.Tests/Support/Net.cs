using System.Net;
using System.Net.Sockets;
using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;

namespace Wirestack.Tests.Support;

/// <summary>Small builders for simulated networks used across tests.</summary>
internal static class Net
{
    public static readonly IPEndPoint ServerHttp = new(IPAddress.Parse("10.0.0.2"), 80);

    public static (Simulator Sim, NetStack Client, NetStack Server) TwoHosts(int seed, LinkImpairments? impairments = null,
        NetStackOptions? clientOptions = null, NetStackOptions? serverOptions = null)
    {
        var sim = new Simulator(seed);
        NetStack client = sim.AddHost("client", clientOptions);
        NetStack server = sim.AddHost("server", serverOptions);
        sim.Connect(client, "10.0.0.1/24", server, "10.0.0.2/24", impairments ?? new LinkImpairments { Delay = TimeSpan.FromMilliseconds(1) });
        return (sim, client, server);
    }

    /// <summary>The benchmark's path: 1 Gbit/s, 10 ms one way, a 1 MiB drop-tail queue.</summary>
    public static LinkImpairments GigabitPath => new()
    {
        RateBitsPerSecond = 1_000_000_000,
        Delay = TimeSpan.FromMilliseconds(10),
        QueueLimitBytes = 1 << 20,
    };

    /// <summary>A connected TCP pair: <paramref name="client"/> connects to 10.0.0.2:5001 on <paramref name="server"/>;
    /// both ends get <paramref name="bufferBytes"/> of send and receive buffer (unclamped) when it is above 0.</summary>
    public static ConnectedPair Connected(NetStack client, NetStack server, int bufferBytes = 0)
    {
        var listener = new NetSocket(server, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 5001));
        listener.Listen(4);
        var socket = new NetSocket(client, SocketType.Stream);
        socket.Connect(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 5001));
        NetSocket accepted = listener.Accept();
        if (bufferBytes > 0)
        {
            socket.Connection!.SetBufferSizesUnclamped(bufferBytes, bufferBytes);
            accepted.Connection!.SetBufferSizesUnclamped(bufferBytes, bufferBytes);
        }

        return new ConnectedPair(listener, socket, accepted);
    }
}

/// <summary>A listener, the client's socket and the socket it accepted; disposing closes all three.</summary>
internal sealed record ConnectedPair(NetSocket Listener, NetSocket Client, NetSocket Server) : IDisposable
{
    public void Dispose()
    {
        Server.Dispose();
        Client.Dispose();
        Listener.Dispose();
    }
}
