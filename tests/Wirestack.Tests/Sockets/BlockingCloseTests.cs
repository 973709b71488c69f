using System.Net.Sockets;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tests.Support;

namespace Wirestack.Tests.Sockets;

/// <summary>Close from elsewhere while a blocking call waits: the call ends with OperationAborted (as a blocking call
/// on a .NET Socket does when the socket is disposed) instead of waiting out its timeout or forever. The close comes
/// from a virtual-clock timer that fires while the blocking call runs virtual time forward.</summary>
public sealed class BlockingCloseTests
{
    private static readonly TimeSpan s_closeAfter = TimeSpan.FromSeconds(2);

    [Fact]
    public void Receive_ClosedWhileBlocked_ReturnsOperationAbortedWhenClosed()
    {
        var (sim, client, server) = Net.TwoHosts(611);
        using NetSocket listener = Listen(server);
        using var socket = new NetSocket(client, SocketType.Stream);
        socket.Connect(Net.ServerHttp);
        using NetSocket peer = listener.Accept();
        using ITimer closer = CloseLater(sim, socket);
        var start = sim.Now;

        int n = socket.Receive(new byte[16], out SocketError error);

        Assert.Equal(0, n);
        Assert.Equal(SocketError.OperationAborted, error);
        Assert.Equal(s_closeAfter, sim.Now - start);
    }

    [Fact]
    public void Send_ClosedWhileBlockedOnAFullBuffer_ReportsWhatWasQueued()
    {
        var (sim, client, server) = Net.TwoHosts(612);
        using NetSocket listener = Listen(server);
        using var socket = new NetSocket(client, SocketType.Stream);
        socket.Connect(Net.ServerHttp);
        using NetSocket peer = listener.Accept(); // never reads: the send buffer fills and Send blocks
        using ITimer closer = CloseLater(sim, socket);
        byte[] data = new byte[8 << 20];

        int sent = socket.Send(data, out SocketError error);

        Assert.InRange(sent, 1, data.Length - 1);
        Assert.Equal(SocketError.Success, error); // a partial send reports its count (BSD)
        Assert.Throws<ObjectDisposedException>(() => socket.Send(data));
    }

    [Fact]
    public void Accept_ListenerClosedWhileBlocked_ReturnsOperationAborted()
    {
        var (sim, _, server) = Net.TwoHosts(613);
        using NetSocket listener = Listen(server);
        using ITimer closer = CloseLater(sim, listener);

        NetSocket? accepted = listener.Accept(out SocketError error);

        Assert.Null(accepted);
        Assert.Equal(SocketError.OperationAborted, error);
    }

    private static ITimer CloseLater(Simulator sim, NetSocket socket) =>
        sim.Clock.CreateTimer(_ => socket.Close(), null, s_closeAfter, Timeout.InfiniteTimeSpan);

    private static NetSocket Listen(NetStack stack)
    {
        var listener = new NetSocket(stack, SocketType.Stream);
        listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Any, 80));
        listener.Listen(16);
        return listener;
    }
}
