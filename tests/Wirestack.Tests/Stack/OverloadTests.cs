using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Wirestack.Buffers;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Tests.Support;
using Wirestack.Wire;

namespace Wirestack.Tests.Stack;

/// <summary>Seed 000: a spent budget gives ENOBUFS to the call that wanted memory, and nothing else breaks.</summary>
public sealed class OverloadTests
{
    [Fact]
    [Trait("Seed", "000")]
    public void Budget_Exhausted_NonBlockingSendGetsEnobufs_OthersKeepMoving_BudgetReturns()
    {
        var clientOptions = new NetStackOptions { MemoryBudgetBytes = 256 * 1024 };
        var (sim, clientHost, serverHost) = Net.TwoHosts(31, clientOptions: clientOptions);
        using var listener = new NetSocket(serverHost, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(64);
        var clients = new List<NetSocket>();
        var servers = new List<NetSocket>();
        for (int i = 0; i < 40; i++)
        {
            var c = new NetSocket(clientHost, SocketType.Stream);
            c.Connect(Net.ServerHttp);
            c.Connection!.SetBufferSizesUnclamped(1 << 20, 1 << 20);
            c.Blocking = false;
            clients.Add(c);
            servers.Add(listener.Accept());
        }

        // Nobody reads on the server side at first, so the client's send buffers fill and the budget runs out.
        byte[] chunk = new byte[64 * 1024];
        int enobufs = 0;
        for (int round = 0; round < 2; round++)
        {
            foreach (NetSocket c in clients)
            {
                c.Send(chunk, out SocketError e);
                if (e == SocketError.NoBufferSpaceAvailable) enobufs++;
            }
        }

        Assert.True(enobufs > 0, "the budget must have run out");
        Assert.True(clientHost.Budget.FailuresFor(BudgetCause.SendBuffer) > 0);

        // Every connection still moves: each could queue at least its reserve chunk, and the server drains all.
        var readers = servers.Select(s => new SocketDrain(sim, s)).ToList();
        foreach (NetSocket c in clients) c.Shutdown(SocketShutdown.Send);
        sim.RunUntil(() => readers.All(r => r.Finished), TimeSpan.FromSeconds(120));
        Assert.All(readers, r => Assert.True(r.BytesReceived > 0));
        foreach (NetSocket s in clients.Concat(servers)) s.Dispose();
        listener.Dispose();
        sim.RunFor(TimeSpan.FromSeconds(130));
        Assert.Equal(0, clientHost.Budget.InUse);
        Assert.Equal(0, serverHost.Budget.InUse);
    }

    [Fact]
    [Trait("Seed", "000")]
    public void Budget_Exhausted_BlockingSendWaitsAndLosesNothing()
    {
        var clientOptions = new NetStackOptions { MemoryBudgetBytes = 128 * 1024 };
        var (sim, clientHost, serverHost) = Net.TwoHosts(32, clientOptions: clientOptions);
        using var listener = new NetSocket(serverHost, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(8);
        using var client = new NetSocket(clientHost, SocketType.Stream);
        client.Connect(Net.ServerHttp);
        client.Connection!.SetBufferSizesUnclamped(8 << 20, 8 << 20);
        using NetSocket server = listener.Accept();
        var reader = new SocketDrain(sim, server);
        byte[] data = new byte[3 << 20];
        new Random(3).NextBytes(data);
        int sent = client.Send(data, out SocketError sendError);
        Assert.True(data.Length == sent, $"sent {sent} error {sendError} budget {clientHost.Budget.InUse}/{clientHost.Budget.Limit} cause {client.ErrorCause} state {client.Connection.State}");
        client.Shutdown(SocketShutdown.Send);
        sim.RunUntil(() => reader.Finished, TimeSpan.FromSeconds(600));
        Assert.Equal(SHA256.HashData(data), reader.Digest);
        Assert.True(clientHost.Budget.HighWater <= 128 * 1024 + 2 * 16384);
    }

    [Fact]
    [Trait("Seed", "000")]
    public void ConstrainedSockets_CapsEveryBuffer()
    {
        var options = new NetStackOptions();
        options.Tcp.ConstrainedSocketBuffer = 8192;
        var (sim, clientHost, _) = Net.TwoHosts(33, clientOptions: options);
        using var socket = new NetSocket(clientHost, SocketType.Stream);
        socket.Connection!.SetReceiveBufferSize(100_000);
        Assert.Equal(8192, socket.Connection.ReceiveBufferSize);
        Assert.Equal(8192, socket.Connection.SendBufferSize);
    }

    [Fact]
    [Trait("Seed", "000")]
    public void HalfOpenLimit_QueuesConnectsBeyondTheCapInOrder()
    {
        var options = new NetStackOptions();
        options.Tcp.HalfOpenLimit = 10;
        var (sim, clientHost, serverHost) = Net.TwoHosts(34, clientOptions: options);
        using var listener = new NetSocket(serverHost, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(100);
        var sockets = Enumerable.Range(0, 25).Select(_ => new NetSocket(clientHost, SocketType.Stream) { Blocking = false }).ToList();
        foreach (NetSocket s in sockets)
        {
            Assert.Equal(SocketError.InProgress, s.Connect(IPv4Address.Parse("10.0.0.2"), 80));
        }

        Assert.Equal(10, clientHost.Tcp.HalfOpenCount);
        Assert.Equal(15, clientHost.Tcp.QueuedConnects);
        Assert.Equal(15, clientHost.Counters.Tcp.HalfOpenQueued);
        int maxHalfOpen = 0;
        sim.RunUntil(() =>
        {
            maxHalfOpen = Math.Max(maxHalfOpen, clientHost.Tcp.HalfOpenCount);
            return sockets.All(s => s.Connection!.State == TcpState.Established);
        }, TimeSpan.FromSeconds(5));
        Assert.True(maxHalfOpen <= 10);
        foreach (NetSocket s in sockets) s.Dispose();
    }

    [Fact]
    [Trait("Seed", "000")]
    public void HalfOpenLimit_FailFastRejectsClearly()
    {
        var options = new NetStackOptions();
        options.Tcp.HalfOpenLimit = 2;
        options.Tcp.HalfOpenFailFast = true;
        var (sim, clientHost, _) = Net.TwoHosts(35, clientOptions: options);
        var sockets = Enumerable.Range(0, 3).Select(_ => new NetSocket(clientHost, SocketType.Stream) { Blocking = false }).ToList();
        Assert.Equal(SocketError.InProgress, sockets[0].Connect(IPv4Address.Parse("10.0.0.2"), 80));
        Assert.Equal(SocketError.InProgress, sockets[1].Connect(IPv4Address.Parse("10.0.0.2"), 80));
        Assert.Equal(SocketError.WouldBlock, sockets[2].Connect(IPv4Address.Parse("10.0.0.2"), 80));
        Assert.Equal(1, clientHost.Counters.Tcp.HalfOpenRejected);
        foreach (NetSocket s in sockets) s.Dispose();
    }
}
